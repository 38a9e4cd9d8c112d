"""The pages the emulated Google shows a browser: the consent screen and the error page.

The consent screen names the account, the app (the client's name) and, for each scope
the app asks for, what it lets the app do (:mod:`sync.emulator.scopes`), with a box per
scope as Google's granular consent screen has
(https://developers.google.com/identity/protocols/oauth2/resources/granular-permissions);
scopes granted before are listed as access the app already has. Allow and Deny submit a
plain HTML form, so a test can follow it as a browser would. The error page shows
"Error 400: redirect_uri_mismatch" and the like, as Google's does
(https://developers.google.com/identity/protocols/oauth2/web-server#authorization-errors).
Every value is HTML-escaped.
"""

from __future__ import annotations

from html import escape

from sync.emulator.errors import OAuthError
from sync.emulator.oauth import ConsentRequest
from sync.emulator.scopes import describe

__all__ = ["CONSENT_PATH", "consent_page", "error_page"]

CONSENT_PATH = "/o/oauth2/v2/auth/consent"
_STYLE = (
    "body{font-family:sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;color:#202124}"
    "li{margin:.5rem 0}button{font-size:1rem;padding:.5rem 1.5rem;margin-right:1rem}"
)


def consent_page(request: ConsentRequest) -> str:
    """The consent screen for ``request``."""
    app, account = escape(request.client.name), escape(request.account)
    asked = "".join(_scope_box(scope) for scope in request.new_scopes)
    held = sorted(request.granted_before & set(request.requested))
    if request.include_granted:
        held = sorted(request.granted_before)
    kept = "".join(f"<li>{escape(describe(scope))}</li>" for scope in held)
    kept_part = f"<h2>{app} already has access to</h2><ul>{kept}</ul>" if kept else ""
    asked_part = f"<h2>{app} wants to</h2><ul>{asked}</ul>" if asked else ""
    body = (
        f"<h1>{app} wants access to your Google Account</h1>"
        f"<p>Signed in as <strong>{account}</strong></p>"
        f'<form method="post" action="{CONSENT_PATH}">'
        f'<input type="hidden" name="consent" value="{escape(request.id)}">'
        f"{asked_part}{kept_part}"
        f"<p>Make sure you trust {app}. You can remove its access in your Google Account.</p>"
        '<button type="submit" name="decision" value="deny">Deny</button>'
        '<button type="submit" name="decision" value="allow">Allow</button>'
        "</form>"
    )
    return _page(f"Sign in – Google Accounts: {request.client.name}", body)


def error_page(error: OAuthError) -> str:
    """Google's "Access blocked" page for a refused authorization request."""
    body = (
        "<h1>Access blocked: Authorization Error</h1>"
        f"<p>{escape(error.description)}</p>"
        f"<p><strong>Error {error.status}: {escape(error.error)}</strong></p>"
    )
    return _page("Error – Google Accounts", body)


def _scope_box(scope: str) -> str:
    value = escape(scope)
    return (
        f'<li><label><input type="checkbox" name="scope" value="{value}" checked> '
        f"{escape(describe(scope))}</label></li>"
    )


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )
