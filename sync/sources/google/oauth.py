"""Signing a clinic in to Google: the installed-app flow and service-account keys (SPEC §9).

- OAuth for a clinic's own account follows Google's installed-app guide
  (https://developers.google.com/identity/protocols/oauth2/native-app): the browser is sent
  to Google's consent page and comes back to a loopback redirect on ``127.0.0.1`` (RFC 8252
  §7.3) on a free port; offline access, so a refresh token comes back. Scopes are exactly
  :data:`sync.sources.google.client.SCOPES` (least privilege: events, and the calendar list read
  only). The result is an authorised-user document (client id and secret, refresh token,
  token URI, scopes) for :mod:`sync.sources.google.grants` to store encrypted. The
  browser's web-server flow is :mod:`sync.sources.google.web_oauth`; both read the OAuth
  client from a client secrets file (:func:`read_client_secrets`), a desktop app's
  (``installed``) or a web application's (``web``).
- Service accounts with domain-wide delegation
  (https://developers.google.com/identity/protocols/oauth2/service-account#delegatingauthority):
  the key file is validated by building credentials from it, acting as ``subject``.

Nothing here stores anything; a refused or broken sign-in is a :class:`SignInFailed`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from google.auth.exceptions import GoogleAuthError
from google.oauth2 import service_account

from sync.sources.google.client import SCOPES
from sync.sources.google.errors import CredentialsError, GoogleSetupError

__all__ = [
    "LOOPBACK_HOST",
    "SignInFailed",
    "oauth_client_section",
    "read_client_secrets",
    "read_service_account_key",
    "service_account_credentials",
    "sign_in_installed_app",
]

LOOPBACK_HOST = "127.0.0.1"
_PROMPT = "Open this address in a browser to let clinic-sync read and flag calendars:\n{url}"


class SignInFailed(GoogleSetupError):
    """The OAuth sign-in did not produce a grant (refused, timed out, bad client secrets)."""


_KIND_NAMES = {"installed": "a desktop app", "web": "a web application"}


def read_client_secrets(path: Path, kinds: tuple[str, ...] = ("installed",)) -> dict[str, Any]:
    """An OAuth client of one of ``kinds``, as downloaded from Google Cloud Console."""
    document = _json_file(path, "client secrets")
    if not any(isinstance(document.get(kind), Mapping) for kind in kinds):
        wanted = " or ".join(_KIND_NAMES.get(kind, kind) for kind in kinds)
        sections = " or ".join(f"'{kind}'" for kind in kinds)
        raise CredentialsError(
            f"{path}: not the client secrets of {wanted} (no {sections} section)"
        )
    oauth_client_section(document, source=str(path))
    return document


def oauth_client_section(
    document: Mapping[str, Any], *, source: str = "the client secrets"
) -> Mapping[str, Any]:
    """The ``web`` (else ``installed``) client of a client secrets document, with its id and
    secret checked."""
    section = document.get("web") or document.get("installed")
    if not isinstance(section, Mapping):
        raise CredentialsError(f"{source}: no 'web' or 'installed' OAuth client")
    missing = [k for k in ("client_id", "client_secret") if not section.get(k)]
    if missing:
        raise CredentialsError(f"{source}: the OAuth client lacks {', '.join(missing)}")
    return section


def sign_in_installed_app(
    client_secrets: Path,
    *,
    port: int = 0,
    open_browser: bool = True,
    timeout_seconds: int = 300,
    state: str | None = None,
) -> str:
    """Run the installed-app flow; the authorised-user JSON (with the refresh token)."""
    # Only a sign-in runs the flow: every worker and command importing this module for
    # service accounts would otherwise load requests-oauthlib and requests for nothing.
    from google_auth_oauthlib.flow import InstalledAppFlow  # type: ignore[import-untyped]  # noqa: PLC0415
    from oauthlib.oauth2.rfc6749.errors import OAuth2Error  # type: ignore[import-untyped]  # noqa: PLC0415

    flow = InstalledAppFlow.from_client_config(read_client_secrets(client_secrets), list(SCOPES))
    extra = {"state": state} if state else {}
    try:
        credentials = flow.run_local_server(
            host=LOOPBACK_HOST,
            port=port,
            open_browser=open_browser,
            authorization_prompt_message=_PROMPT,
            timeout_seconds=timeout_seconds,
            prompt="consent",
            **extra,
        )
    except (OAuth2Error, GoogleAuthError, OSError, AttributeError, ValueError) as err:
        raise SignInFailed(f"Google sign-in failed: {err}") from err
    if not credentials.refresh_token:
        raise SignInFailed("Google sent no refresh token; remove clinic-sync's access and retry")
    return str(credentials.to_json())


def read_service_account_key(path: Path) -> dict[str, Any]:
    """A service-account key file, checked by building credentials from it."""
    info = _json_file(path, "service-account key")
    if info.get("type") != "service_account":
        raise CredentialsError(f"{path}: not a service-account key (type {info.get('type')!r})")
    service_account_credentials(info, subject=None, source=str(path))
    return info


def service_account_credentials(
    info: Mapping[str, Any], *, subject: str | None, source: str = "the stored key"
) -> service_account.Credentials:
    """Credentials of a service account, acting as ``subject`` when it is given."""
    try:
        account = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            dict(info), scopes=list(SCOPES)
        )
    except (ValueError, KeyError, GoogleAuthError) as err:
        raise CredentialsError(f"{source}: not a usable service-account key ({err})") from err
    if subject:
        return account.with_subject(subject)  # type: ignore[no-any-return]
    return account  # type: ignore[no-any-return]


def _json_file(path: Path, what: str) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise CredentialsError(f"{path}: cannot be read ({err.strerror or err})") from err
    except ValueError as err:
        raise CredentialsError(f"{path}: not a JSON {what} file ({err})") from err
    if not isinstance(document, dict):
        raise CredentialsError(f"{path}: not a JSON {what} file")
    return document
