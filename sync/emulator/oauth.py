"""Google's OAuth 2.0 authorization server, emulated: clients, consent, codes, tokens, revocation.

Follows "Using OAuth 2.0 for Web Server Applications"
(https://developers.google.com/identity/protocols/oauth2/web-server):

- the authorization endpoint checks ``client_id``, a ``redirect_uri`` registered for that
  client, ``response_type=code``, ``scope``, ``access_type`` (``online``/``offline``),
  ``prompt`` (``none``, ``consent``, ``select_account``) and ``include_granted_scopes``, and
  passes ``state`` back untouched. A bad client or redirect URI is never redirected to: the
  user sees Google's error page (RFC 6749 §4.1.2.1), as do the other malformed requests
  ("Google's OAuth 2.0 endpoint for authorization might display user-facing errors",
  section "Authorization errors"). Deny redirects with ``error=access_denied``.
- PKCE (RFC 7636, https://developers.google.com/identity/protocols/oauth2/native-app,
  "Create a code verifier and challenge"): ``code_challenge`` with
  ``code_challenge_method`` ``S256`` or ``plain`` (the default); the exchange must then
  present the matching ``code_verifier``.
- the consent is granular: each scope the app asks for is a box the account may leave
  unticked (https://developers.google.com/identity/protocols/oauth2/resources/granular-permissions),
  so an app must check the ``scope`` it is given back.
- incremental authorization ("Incremental authorization"): with
  ``include_granted_scopes=true`` the new tokens carry every scope the account granted
  the client before, as well as the new ones.
- codes are single-use and live 10 minutes (RFC 6749 §4.1.2); a replayed code also
  revokes the tokens it was exchanged for. Access tokens live 3599 seconds; a refresh
  token comes with ``access_type=offline`` on the first exchange, or on any exchange
  after ``prompt=consent`` ("Refreshing an access token (offline access)").
- the token endpoint answers ``{"error": …, "error_description": …}`` with Google's
  statuses (RFC 6749 §5.2): 400 ``invalid_request``, ``invalid_grant``,
  ``redirect_uri_mismatch``, ``unsupported_grant_type``; 401 ``invalid_client``;
  ``unauthorized_client`` for a refresh token of another client. Clients authenticate
  with form fields or HTTP Basic (RFC 6749 §2.3.1).
- revocation ("Revoking a token"): either token of a grant may be revoked; "if the token
  is an access token and it has a corresponding refresh token, the refresh token will
  also be revoked". The account's consent to the client goes with it, as when the user
  removes the app's access from their Google Account (:meth:`revoke_all` does that for
  every client).
- Calendar calls (:meth:`check_call`) need a live access token when :attr:`required`:
  401 ``required`` without one, 401 ``authError`` for an unknown, expired or revoked one
  (https://developers.google.com/calendar/api/guides/errors#401_invalid_credentials),
  403 ``insufficientPermissions`` outside the granted scopes (:mod:`sync.emulator.scopes`).

Errors are :class:`~sync.emulator.errors.OAuthError` (a JSON answer) and its
:class:`~sync.emulator.errors.AuthorizationError` (the authorization endpoint's error page).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sync.emulator.errors import ApiError, AuthorizationError, OAuthError
from sync.emulator.oauth_clients import OAuthClient, authenticate
from sync.emulator.scopes import accepted_scopes, known_scope

__all__ = [
    "ACCESS_TOKEN_SECONDS",
    "CODE_SECONDS",
    "AuthorizationServer",
    "ConsentRequest",
    "request_prompts",
]

ACCESS_TOKEN_SECONDS = 3599
CODE_SECONDS = 600
Params = Mapping[str, list[str]]
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_PROMPTS = frozenset({"none", "consent", "select_account"})
_REALM = 'Bearer realm="https://accounts.google.com/"'


@dataclass(frozen=True)
class ConsentRequest:
    """A valid authorization request waiting for the account's Allow or Deny."""

    id: str
    client: OAuthClient
    account: str
    redirect_uri: str
    state: str | None
    requested: tuple[str, ...]
    granted_before: frozenset[str]
    include_granted: bool
    offline: bool
    force_consent: bool
    challenge: str | None
    challenge_method: str

    @property
    def new_scopes(self) -> tuple[str, ...]:
        """The requested scopes the account has not granted this client yet."""
        return tuple(s for s in self.requested if s not in self.granted_before)


@dataclass
class _Code:
    request: ConsentRequest
    scopes: frozenset[str]
    issued_at: float
    used: bool = False
    tokens: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Token:
    client_id: str
    scopes: frozenset[str]
    expires_at: float
    offline: bool


class AuthorizationServer:
    """Google's OAuth endpoints for one account: state behind one lock, a movable clock."""

    def __init__(self, account: str, clock: Callable[[], float] = time.time) -> None:
        self.account = account
        self.required = False
        self._clock = clock
        self._lock = threading.RLock()
        self._clients: dict[str, OAuthClient] = {}
        self._offset = 0.0
        self._pending: dict[str, ConsentRequest] = {}
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, _Token] = {}
        self._refresh: dict[str, _Token] = {}
        self._consents: dict[str, frozenset[str]] = {}

    # Set-up -------------------------------------------------------------------------------

    def reset(self) -> None:
        """No clients, grants or tokens; the API open again; the clock back to real time."""
        with self._lock:
            self.required = False
            self._offset = 0.0
            for table in (self._clients, self._pending, self._codes, self._access):
                table.clear()
            self._refresh.clear()
            self._consents.clear()

    def add_client(self, client: OAuthClient) -> None:
        """Register (or replace) an OAuth client, as the Cloud Console does."""
        with self._lock:
            self._clients[client.client_id] = client

    def clients(self) -> list[OAuthClient]:
        """Every registered client."""
        with self._lock:
            return list(self._clients.values())

    def advance(self, seconds: float) -> None:
        """Move this server's clock on, so codes and access tokens expire."""
        with self._lock:
            self._offset += seconds

    def now(self) -> float:
        """The server's time, in seconds since the epoch."""
        return self._clock() + self._offset

    def granted(self, client_id: str) -> frozenset[str]:
        """The scopes the account has granted ``client_id`` (empty once revoked)."""
        with self._lock:
            return self._consents.get(client_id, frozenset())

    # The authorization endpoint -----------------------------------------------------------

    def begin(self, params: Params) -> ConsentRequest | str:
        """Check an authorization request: the consent to ask for, or (``prompt=none``) where
        to redirect at once."""
        client = self._client_of(_one(params, "client_id"))
        redirect_uri = _required(params, "redirect_uri", AuthorizationError)
        if redirect_uri not in client.redirect_uris:
            raise AuthorizationError(
                "redirect_uri_mismatch",
                f"The redirect URI in the request, {redirect_uri}, does not match the ones "
                "authorized for the OAuth client.",
            )
        request = self._request(client, redirect_uri, params)
        prompts = request_prompts(params)
        if "none" in prompts:
            return self._silent(request)
        with self._lock:
            self._pending[request.id] = request
        return request

    def decide(self, request_id: str, allow: bool, chosen: Iterable[str]) -> str:
        """The account's answer on the consent page: where its browser is redirected."""
        with self._lock:
            request = self._pending.pop(request_id, None)
        if request is None:
            raise AuthorizationError(
                "invalid_request", "This consent request expired or was already answered."
            )
        picked = {s for s in chosen if s in request.new_scopes}
        if not allow or not (picked or request.granted_before & set(request.requested)):
            return _redirect(request, {"error": "access_denied"})
        return self._grant_code(request, picked)

    def _request(self, client: OAuthClient, redirect_uri: str, params: Params) -> ConsentRequest:
        response_type = _required(params, "response_type", AuthorizationError)
        if response_type != "code":
            raise AuthorizationError(
                "unsupported_response_type", f"Invalid response_type: {response_type}"
            )
        scopes = _scopes(_required(params, "scope", AuthorizationError))
        challenge, method = _challenge(params)
        access_type = _one(params, "access_type") or "online"
        if access_type not in ("online", "offline"):
            raise AuthorizationError("invalid_request", f"Invalid access_type: {access_type}")
        include = _one(params, "include_granted_scopes") == "true"
        return ConsentRequest(
            id=secrets.token_urlsafe(18),
            client=client,
            account=self.account,
            redirect_uri=redirect_uri,
            state=_one(params, "state"),
            requested=scopes,
            granted_before=self.granted(client.client_id),
            include_granted=include,
            offline=access_type == "offline",
            force_consent="consent" in request_prompts(params),
            challenge=challenge,
            challenge_method=method,
        )

    def _silent(self, request: ConsentRequest) -> str:
        """``prompt=none``: a code if everything asked for was granted before, else an error."""
        if request.new_scopes:
            return _redirect(request, {"error": "consent_required"})
        return self._grant_code(request, set())

    def _grant_code(self, request: ConsentRequest, picked: set[str]) -> str:
        with self._lock:
            consent = self._consents.get(request.client.client_id, frozenset()) | picked
            self._consents[request.client.client_id] = consent
            asked = (set(request.requested) & consent) | picked
            scopes = frozenset(consent if request.include_granted else asked)
            code = f"4/{secrets.token_urlsafe(32)}"
            self._codes[code] = _Code(request, scopes, self.now())
        return _redirect(request, {"code": code, "scope": " ".join(sorted(scopes))})

    # The token endpoint -------------------------------------------------------------------

    def token(self, form: Params, authorization: str | None) -> dict[str, Any]:
        """POST /token: exchange a code or a refresh token for an access token."""
        grant_type = _required(form, "grant_type", OAuthError)
        if grant_type not in ("authorization_code", "refresh_token"):
            raise OAuthError("unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        with self._lock:
            client = authenticate(self._clients, form, authorization)
            if grant_type == "authorization_code":
                return self._exchange(client, form)
            return self._refreshed(client, form)

    def _exchange(self, client: OAuthClient, form: Params) -> dict[str, Any]:
        code_value = _required(form, "code", OAuthError)
        redirect_uri = _required(form, "redirect_uri", OAuthError)
        code = self._codes.get(code_value)
        if code is None:
            raise OAuthError("invalid_grant", "Malformed auth code.")
        request = code.request
        if code.used:
            self._revoke_tokens(code.tokens)
            raise OAuthError("invalid_grant", "Bad Request")
        if request.client.client_id != client.client_id:
            raise OAuthError("invalid_grant", "Bad Request")
        if self.now() - code.issued_at > CODE_SECONDS:
            raise OAuthError("invalid_grant", "Bad Request")
        if redirect_uri != request.redirect_uri:
            raise OAuthError("redirect_uri_mismatch", "Bad Request")
        _check_verifier(request, _one(form, "code_verifier"))
        code.used = True
        answer = self._issue(client.client_id, code.scopes, request.offline)
        if request.offline and (request.force_consent or not self._has_refresh(client)):
            refresh = f"1//{secrets.token_urlsafe(48)}"
            self._refresh[refresh] = _Token(client.client_id, code.scopes, float("inf"), True)
            answer["refresh_token"] = refresh
        code.tokens.extend(t for t in (answer["access_token"], answer.get("refresh_token")) if t)
        return answer

    def _refreshed(self, client: OAuthClient, form: Params) -> dict[str, Any]:
        refresh = self._refresh.get(_required(form, "refresh_token", OAuthError))
        if refresh is None:
            raise OAuthError("invalid_grant", "Token has been expired or revoked.")
        if refresh.client_id != client.client_id:
            raise OAuthError("unauthorized_client", "Unauthorized")
        return self._issue(client.client_id, refresh.scopes, True)

    def _issue(self, client_id: str, scopes: frozenset[str], offline: bool) -> dict[str, Any]:
        self._forget_expired()
        token = f"ya29.{secrets.token_urlsafe(48)}"
        expires_at = self.now() + ACCESS_TOKEN_SECONDS
        self._access[token] = _Token(client_id, scopes, expires_at, offline)
        return {
            "access_token": token,
            "expires_in": ACCESS_TOKEN_SECONDS,
            "scope": " ".join(sorted(scopes)),
            "token_type": "Bearer",
        }

    def _forget_expired(self) -> None:
        """Drop dead access tokens and codes long past use, so a long demo stays small."""
        now = self.now()
        self._access = {k: t for k, t in self._access.items() if t.expires_at > now}
        # A used code is kept while it could still be replayed within its lifetime.
        stale = now - 2 * CODE_SECONDS
        self._codes = {k: c for k, c in self._codes.items() if c.issued_at > stale}

    def _has_refresh(self, client: OAuthClient) -> bool:
        return any(t.client_id == client.client_id for t in self._refresh.values())

    # Revocation and token information -----------------------------------------------------

    def revoke(self, token: str | None) -> None:
        """POST /revoke: end the grant ``token`` (access or refresh) belongs to."""
        if not token:
            raise OAuthError("invalid_request", "Bad Request")
        with self._lock:
            found = self._refresh.get(token) or self._live(token)
            if found is None:
                raise OAuthError("invalid_token", "Token expired or revoked")
            self._revoke_client(found.client_id)

    def revoke_all(self) -> None:
        """The account removes every app's access (Google Account, "Third-party connections")."""
        with self._lock:
            self._refresh.clear()
            self._access.clear()
            self._consents.clear()

    def token_info(self, token: str | None) -> dict[str, str]:
        """GET /tokeninfo?access_token=…: what a live access token grants."""
        with self._lock:
            found = self._live(token or "")
        if found is None:
            raise OAuthError("invalid_token", "Invalid Value")
        left = int(found.expires_at - self.now())
        return {
            "azp": found.client_id,
            "aud": found.client_id,
            "scope": " ".join(sorted(found.scopes)),
            "exp": str(int(found.expires_at)),
            "expires_in": str(left),
            "access_type": "offline" if found.offline else "online",
        }

    def _revoke_client(self, client_id: str) -> None:
        self._refresh = {k: t for k, t in self._refresh.items() if t.client_id != client_id}
        self._access = {k: t for k, t in self._access.items() if t.client_id != client_id}
        self._consents.pop(client_id, None)

    def _revoke_tokens(self, tokens: list[str]) -> None:
        for token in tokens:
            self._refresh.pop(token, None)
            self._access.pop(token, None)

    def _live(self, token: str) -> _Token | None:
        found = self._access.get(token)
        return found if found is not None and found.expires_at > self.now() else None

    # The Calendar API's side --------------------------------------------------------------

    def check_call(self, authorization: str | None, method: str) -> str | None:
        """Refuse a Calendar call without a live token holding a scope ``method`` accepts.

        The user the call is made as (client and account), for quotas, when tokens are
        required: every refresh gives a new access token, but the same user."""
        if not self.required:
            return None
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorised("required", "Login Required.")
        with self._lock:
            found = self._live(token.strip())
        if found is None:
            raise _unauthorised("authError", "Invalid Credentials")
        accepted = accepted_scopes(method)
        if accepted and accepted.isdisjoint(found.scopes):
            raise ApiError(
                403,
                "insufficientPermissions",
                "Request had insufficient authentication scopes.",
                headers={"WWW-Authenticate": _insufficient(accepted)},
            )
        return f"{found.client_id}/{self.account}"

    def _client_of(self, client_id: str | None) -> OAuthClient:
        if not client_id:
            raise AuthorizationError("invalid_request", "Missing required parameter: client_id")
        with self._lock:
            client = self._clients.get(client_id)
        if client is None:
            raise AuthorizationError("invalid_client", "The OAuth client was not found.", 401)
        return client


def request_prompts(params: Params) -> frozenset[str]:
    """The ``prompt`` values of a request (space-delimited); 400 for unknown ones."""
    prompts = frozenset((_one(params, "prompt") or "").split())
    if prompts - _PROMPTS or ("none" in prompts and len(prompts) > 1):
        raise AuthorizationError("invalid_request", f"Invalid prompt: {' '.join(sorted(prompts))}")
    return prompts


def _scopes(value: str) -> tuple[str, ...]:
    scopes = tuple(dict.fromkeys(value.split()))
    invalid = [s for s in scopes if not known_scope(s)]
    if invalid or not scopes:
        raise AuthorizationError(
            "invalid_scope", f"Some requested scopes were invalid. {{invalid={invalid}}}"
        )
    return scopes


def _challenge(params: Params) -> tuple[str | None, str]:
    challenge = _one(params, "code_challenge")
    method = _one(params, "code_challenge_method")
    if challenge is None:
        if method is not None:
            raise AuthorizationError("invalid_request", "Missing code_challenge.")
        return None, "plain"
    if method not in (None, "S256", "plain"):
        raise AuthorizationError("invalid_request", f"Invalid code_challenge_method: {method}")
    if not _VERIFIER.match(challenge):
        raise AuthorizationError("invalid_request", "Invalid code_challenge.")
    return challenge, method or "plain"


def _check_verifier(request: ConsentRequest, verifier: str | None) -> None:
    if request.challenge is None:
        return
    if not verifier:
        raise OAuthError("invalid_grant", "Missing code verifier.")
    derived = verifier
    if request.challenge_method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        derived = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    if not secrets.compare_digest(derived, request.challenge):
        raise OAuthError("invalid_grant", "Invalid code verifier.")


def _redirect(request: ConsentRequest, answer: dict[str, str]) -> str:
    if request.state is not None:
        answer["state"] = request.state
    parts = urllib.parse.urlsplit(request.redirect_uri)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True) + list(answer.items())
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def _unauthorised(reason: str, message: str) -> ApiError:
    return ApiError(
        401,
        reason,
        message,
        headers={"WWW-Authenticate": _REALM},
        location="Authorization",
        location_type="header",
    )


def _insufficient(accepted: frozenset[str]) -> str:
    return f'{_REALM}, error="insufficient_scope", scope="{" ".join(sorted(accepted))}"'


def _one(params: Params, name: str) -> str | None:
    values = params.get(name)
    return values[-1] if values else None


def _required(params: Params, name: str, kind: type[OAuthError]) -> str:
    value = _one(params, name)
    if not value:
        raise kind("invalid_request", f"Missing required parameter: {name}")
    return value
