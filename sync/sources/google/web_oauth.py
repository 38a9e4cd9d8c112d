"""Connecting a clinic's Google account from the browser: OAuth 2.0 for web server apps (SPEC §9).

Follows https://developers.google.com/identity/protocols/oauth2/web-server:

- :meth:`WebSignIn.start` makes the authorization URL: ``response_type=code``, exactly
  :data:`~sync.sources.google.client.SCOPES` (least privilege), ``access_type=offline``
  and ``prompt=consent`` so a refresh token comes back even on a second connection,
  ``include_granted_scopes=true`` (incremental authorization), a random ``state`` and a
  PKCE verifier whose S256 challenge goes with the request (RFC 7636; "Create a code
  verifier and challenge", https://developers.google.com/identity/protocols/oauth2/native-app).
  The caller keeps the returned :class:`PendingSignIn` in the user's session: the state
  binds the callback to that session (RFC 6749 §10.12), the verifier proves the code is
  this sign-in's.
- :meth:`WebSignIn.finish` checks the callback (``error``, ``state``, ``code``), exchanges
  the code at the token endpoint and checks what was granted: with granular consent an
  account may untick a scope, and a grant without both scopes, or without a refresh
  token, is refused (and revoked) rather than stored. The result is the authorised-user
  JSON :func:`sync.sources.google.grants.save_oauth_grant` stores encrypted, the same
  document ``clinic-sync connect google`` stores.
- :meth:`WebSignIn.revoke` ends a stored grant at Google's revocation endpoint
  ("Revoking a token"); a grant Google no longer knows counts as ended.

The protocol's pieces come from oauthlib's ``WebApplicationClient`` (PKCE, the token
request body, the token response and its typed errors); requests go through
google-auth's httplib2 transport, as token refreshes do
(:func:`~sync.sources.google.grants.refresh_request`), on a connection closed after each.
Endpoints are Google's unless :class:`OAuthEndpoints` points at the emulator.

Errors an admin page shows: :class:`~sync.sources.google.oauth.SignInFailed` (the
account refused, the sign-in expired, was replayed or came from another session, a
permission left unticked), :class:`~sync.sources.google.errors.CredentialsError` (the
OAuth client's id, secret or redirect URI is wrong in the Cloud Console or the secrets
file) and :class:`~sync.sources.google.errors.ProviderUnavailable` (try again later);
each carries ``reason`` (``access_denied``, ``state_mismatch``, ``invalid_grant``, …).
"""

from __future__ import annotations

import contextlib
import json
import secrets
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httplib2
from google.auth.exceptions import TransportError
from google.oauth2 import credentials as user_credentials
from google_auth_httplib2 import Request  # type: ignore[import-untyped]
from oauthlib.oauth2 import WebApplicationClient  # type: ignore[import-untyped]
from oauthlib.oauth2.rfc6749.errors import OAuth2Error  # type: ignore[import-untyped]

from sync.sources.google.client import SCOPES
from sync.sources.google.errors import CredentialsError, GoogleSetupError, ProviderUnavailable
from sync.sources.google.oauth import SignInFailed, oauth_client_section, read_client_secrets

__all__ = [
    "CALLBACK_PATH",
    "GOOGLE_ENDPOINTS",
    "OAuthEndpoints",
    "PendingSignIn",
    "SignInStart",
    "WebSignIn",
]

# What each scope is for, in the words an admin page shows when one was not granted.
_PURPOSES = {
    SCOPES[0]: "view and edit events (to read bookings and write flags)",
    SCOPES[1]: "see the list of calendars (to choose which to watch)",
    SCOPES[2]: "see when calendars are busy (to offer free slots to rebook on)",
}
CALLBACK_PATH = "/oauth/google/callback"  # where the web app receives Google's answer
_FORM = {"Content-Type": "application/x-www-form-urlencoded"}
_VERIFIER_LENGTH = 64  # RFC 7636 §4.1 allows 43 to 128 characters


@dataclass(frozen=True)
class OAuthEndpoints:
    """Where the authorization, token and revocation endpoints are."""

    auth_uri: str
    token_uri: str
    revoke_uri: str

    @classmethod
    def at(cls, base_url: str) -> OAuthEndpoints:
        """The endpoints under one base URL, laid out as the emulator serves them."""
        base = base_url.rstrip("/")
        return cls(f"{base}/o/oauth2/v2/auth", f"{base}/token", f"{base}/revoke")


GOOGLE_ENDPOINTS = OAuthEndpoints(
    auth_uri="https://accounts.google.com/o/oauth2/v2/auth",
    token_uri="https://oauth2.googleapis.com/token",  # noqa: S106 (a URL)
    revoke_uri="https://oauth2.googleapis.com/revoke",
)


@dataclass(frozen=True)
class PendingSignIn:
    """What the user's session keeps between :meth:`WebSignIn.start` and the callback."""

    state: str
    code_verifier: str
    redirect_uri: str

    def as_json(self) -> dict[str, str]:
        """A JSON-able form for a session."""
        return {
            "state": self.state,
            "code_verifier": self.code_verifier,
            "redirect_uri": self.redirect_uri,
        }

    @classmethod
    def from_json(cls, data: Any) -> PendingSignIn:
        """Back from :meth:`as_json`; a session without one is a sign-in that never started."""
        keys = ("state", "code_verifier", "redirect_uri")
        if not isinstance(data, Mapping) or not all(isinstance(data.get(k), str) for k in keys):
            raise SignInFailed(
                "no Google sign-in was started in this browser session: start again",
                reason="state_mismatch",
            )
        return cls(data["state"], data["code_verifier"], data["redirect_uri"])


@dataclass(frozen=True)
class SignInStart:
    """Where to send the browser, and what to keep in its session until it comes back."""

    url: str
    pending: PendingSignIn


class WebSignIn:
    """The web-server flow for one OAuth client and one callback URL."""

    def __init__(
        self,
        client_config: Mapping[str, Any],
        redirect_uri: str,
        *,
        endpoints: OAuthEndpoints = GOOGLE_ENDPOINTS,
        timeout: float = 30.0,
    ) -> None:
        """``client_config`` is a client secrets document (a ``web`` or ``installed`` client)."""
        section = oauth_client_section(client_config)
        self.client_id = str(section["client_id"])
        self._secret = str(section["client_secret"])
        self.redirect_uri = redirect_uri
        self.endpoints = endpoints
        self._timeout = timeout

    @classmethod
    def from_client_secrets(
        cls,
        path: Path,
        redirect_uri: str,
        *,
        endpoints: OAuthEndpoints = GOOGLE_ENDPOINTS,
        timeout: float = 30.0,
    ) -> WebSignIn:
        """The flow of the client in ``path`` (``CLINIC_SYNC_GOOGLE_CLIENT_SECRETS``)."""
        document = read_client_secrets(path, kinds=("web", "installed"))
        return cls(document, redirect_uri, endpoints=endpoints, timeout=timeout)

    def start(self, *, login_hint: str | None = None) -> SignInStart:
        """The consent page's URL, with a fresh state and PKCE verifier."""
        client = WebApplicationClient(self.client_id)
        verifier = client.create_code_verifier(_VERIFIER_LENGTH)
        query = {
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "response_type": "code",
            "scope": " ".join(SCOPES),
            "access_type": "offline",
            "prompt": "consent",
            "include_granted_scopes": "true",
            "state": secrets.token_urlsafe(32),
            "code_challenge": client.create_code_challenge(verifier, "S256"),
            "code_challenge_method": "S256",
            **({"login_hint": login_hint} if login_hint else {}),
        }
        pending = PendingSignIn(query["state"], verifier, self.redirect_uri)
        return SignInStart(f"{self.endpoints.auth_uri}?{urllib.parse.urlencode(query)}", pending)

    def finish(
        self,
        pending: PendingSignIn,
        *,
        state: str | None,
        code: str | None = None,
        error: str | None = None,
    ) -> str:
        """The authorised-user JSON of the callback's grant, or a clear refusal."""
        _check_callback(pending, state, code, error)
        token = self._exchange(pending, str(code))
        granted = _scopes(token.get("scope"))
        missing = [scope for scope in SCOPES if scope not in granted]
        if missing or not token.get("refresh_token"):
            self._revoke_quietly(str(token.get("refresh_token") or token["access_token"]))
            raise _incomplete(missing)
        return self._document(token, granted)

    def revoke(self, authorized_user: str) -> bool:
        """End a stored grant at Google: True if Google ended it, False if it was gone."""
        try:
            info = json.loads(authorized_user)
        except ValueError as err:
            raise CredentialsError(f"the stored Google grant is not JSON ({err})") from err
        token = (info.get("refresh_token") or info.get("token")) if isinstance(info, dict) else None
        if not token:
            raise CredentialsError("the stored Google grant holds no token to revoke")
        status, body = self._post(self.endpoints.revoke_uri, {"token": str(token)})
        if status == 200:
            return True
        if status == 400 and body.get("error") == "invalid_token":
            return False  # revoked or expired already: the grant is over either way
        raise GoogleSetupError(
            f"Google refused to revoke the grant: HTTP {status} {body.get('error', '')}".strip(),
            status=status,
            reason=str(body.get("error") or "") or None,
        )

    # Internals ----------------------------------------------------------------------------

    def _exchange(self, pending: PendingSignIn, code: str) -> dict[str, Any]:
        client = WebApplicationClient(self.client_id)
        body = client.prepare_request_body(
            code=code,
            redirect_uri=pending.redirect_uri,
            code_verifier=pending.code_verifier,
            client_secret=self._secret,
            include_client_id=True,
        )
        status, text = self._send(self.endpoints.token_uri, body)
        if status >= 500:
            raise ProviderUnavailable(f"Google's token endpoint failed: HTTP {status}")
        try:
            return dict(client.parse_request_body_response(text))
        except OAuth2Error as err:
            raise _refusal(err, pending.redirect_uri) from err
        except (ValueError, KeyError) as err:
            raise SignInFailed(f"Google's token endpoint answered oddly: {err}") from err

    def _document(self, token: Mapping[str, Any], granted: frozenset[str]) -> str:
        expires_at = token.get("expires_at")
        expiry = None
        if isinstance(expires_at, int | float):
            # google-auth keeps expiry as a naive UTC datetime.
            expiry = datetime.fromtimestamp(expires_at, UTC).replace(tzinfo=None)
        credentials = user_credentials.Credentials(  # type: ignore[no-untyped-call]
            token=token["access_token"],
            refresh_token=token["refresh_token"],
            token_uri=self.endpoints.token_uri,
            client_id=self.client_id,
            client_secret=self._secret,
            scopes=sorted(granted),
            expiry=expiry,
        )
        return str(credentials.to_json())  # type: ignore[no-untyped-call]

    def _revoke_quietly(self, token: str) -> None:
        """Give back a grant we will not store; failing to is no reason to hide the refusal."""
        with contextlib.suppress(ProviderUnavailable):
            self._post(self.endpoints.revoke_uri, {"token": token})

    def _post(self, url: str, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        status, text = self._send(url, urllib.parse.urlencode(form))
        if status >= 500:
            raise ProviderUnavailable(f"Google's OAuth endpoint failed: HTTP {status}")
        try:
            body = json.loads(text) if text.strip() else {}
        except ValueError:
            body = {}
        return status, body if isinstance(body, dict) else {}

    def _send(self, url: str, body: str) -> tuple[int, str]:
        http = httplib2.Http(timeout=int(self._timeout))
        try:
            response = Request(http)(url=url, method="POST", headers=_FORM, body=body)
        except (TransportError, OSError) as err:  # httplib2 lets refused connections through
            raise ProviderUnavailable(f"cannot reach Google's OAuth endpoint: {err}") from err
        finally:
            http.close()
        data = response.data
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
        return int(response.status), text


def _scopes(value: object) -> frozenset[str]:
    """The granted scopes: oauthlib turns the answer's space-separated ``scope`` into a list."""
    if isinstance(value, str):
        return frozenset(value.split())
    return frozenset(str(s) for s in value) if isinstance(value, list | tuple) else frozenset()


def _check_callback(
    pending: PendingSignIn, state: str | None, code: str | None, error: str | None
) -> None:
    if not state or not secrets.compare_digest(state, pending.state):
        raise SignInFailed(
            "this Google sign-in was not started from this browser session (its state does "
            "not match): start again from Connect Google",
            reason="state_mismatch",
        )
    if error == "access_denied":
        raise SignInFailed(
            "access to the Google account was not allowed, so nothing was connected: "
            "connect again and choose Allow",
            reason="access_denied",
        )
    if error:
        raise SignInFailed(f"Google did not complete the sign-in ({error})", reason=error)
    if not code:
        raise SignInFailed("Google sent the browser back without a code: start again")


def _refusal(err: OAuth2Error, redirect_uri: str) -> GoogleSetupError:
    error, detail = str(err.error), str(err.description or "")
    if error == "invalid_grant":
        return SignInFailed(
            f"the Google sign-in expired or was already used ({detail or error}): start again",
            reason=error,
        )
    if error in ("invalid_client", "unauthorized_client"):
        return CredentialsError(
            "Google does not accept the OAuth client id or secret in "
            f"CLINIC_SYNC_GOOGLE_CLIENT_SECRETS ({error}: {detail})",
            reason=error,
        )
    if error == "redirect_uri_mismatch":
        return CredentialsError(
            f"{redirect_uri} is not an authorised redirect URI of the OAuth client: "
            "add it to the client in the Google Cloud Console",
            reason=error,
        )
    return SignInFailed(f"Google refused the sign-in ({error}: {detail})", reason=error)


def _incomplete(missing: list[str]) -> SignInFailed:
    if not missing:
        return SignInFailed(
            "Google sent no refresh token, so clinic-sync could not keep access: connect again",
            reason="no_refresh_token",
        )
    needed = "; ".join(_PURPOSES.get(scope, scope) for scope in missing)
    return SignInFailed(
        f"clinic-sync needs every permission it asks for, and these were not granted: {needed}."
        " Connect again and tick every box",
        reason="scopes_missing",
    )
