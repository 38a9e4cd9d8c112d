"""A clinic's stored Google grant: saved encrypted, loaded and refreshed, or "reconnect" (SPEC §9).

A grant is an authorised-user document (OAuth) or a service-account key plus the user it
acts as (domain-wide delegation), stored encrypted by :class:`sync.secrets.SecretBox` in
:mod:`sync.store.credentials`. Loading refreshes the access token once, so a grant the
clinic revoked, or one Google let expire (``invalid_grant``,
https://developers.google.com/identity/protocols/oauth2#expiration), is found before any
calendar call. Such a refusal is a :class:`ReconnectRequired`: the worker records it on
the credential (:func:`mark_reconnect_required`, or :func:`load_or_mark` which does both)
instead of crashing, and every later load says so until the clinic connects again. A
token endpoint that is down is a :class:`~sync.sources.google.errors.ProviderUnavailable`
(retry later), not a reason to ask the clinic to reconnect.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from google.auth.credentials import Credentials
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2 import credentials as user_credentials
from google_auth_httplib2 import Request  # type: ignore[import-untyped]
from sqlalchemy import Engine
from sqlmodel import Session

from sync.ingest.text import first_line
from sync.secrets import SecretBox
from sync.sources.google.client import SCOPES
from sync.sources.google.errors import CredentialsError, GoogleSetupError, ProviderUnavailable
from sync.sources.google.oauth import service_account_credentials
from sync.sources.google.transport import TlsHttp
from sync.store import credentials as store
from sync.store.credentials import Credential, CredentialKind
from sync.store.database import session_scope
from sync.store.sources import Provider

__all__ = [
    "GOOGLE_TOKEN_URI",
    "NotConnected",
    "ReconnectRequired",
    "load_google_credentials",
    "load_or_mark",
    "mark_reconnect_required",
    "refresh_request",
    "save_oauth_grant",
    "save_service_account",
]

RefreshRequest = Callable[..., Any]
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL)
_GRANT_KEYS = ("refresh_token", "client_id", "client_secret")


class NotConnected(GoogleSetupError):
    """The clinic never connected a Google account: run ``clinic-sync connect google``."""


class ReconnectRequired(GoogleSetupError):
    """Google refused the clinic's grant (revoked or expired): the clinic must connect again."""

    def __init__(self, message: str, *, clinic_id: int, reason: str) -> None:
        super().__init__(message)
        self.clinic_id = clinic_id
        self.grant_reason = reason


def refresh_request(timeout: float = 30.0) -> RefreshRequest:
    """The transport google-auth refreshes tokens over (httplib2, like the calendar client)."""
    return Request(TlsHttp(timeout=int(timeout)))  # type: ignore[no-any-return]


def save_oauth_grant(
    session: Session,
    clinic_id: int,
    authorized_user: str,
    box: SecretBox,
    *,
    now: datetime | None = None,
) -> Credential:
    """Store the authorised-user JSON the installed-app flow returned, encrypted."""
    info = _json(authorized_user, "the authorised-user grant")
    if not info.get("refresh_token"):
        raise CredentialsError("the grant has no refresh token")
    account = str(info.get("account") or info.get("client_id") or "")
    return store.save_credential(
        session,
        clinic_id,
        Provider.GOOGLE,
        CredentialKind.OAUTH,
        account=account,
        secret=box.encrypt(authorized_user),
        now=now,
    )


def save_service_account(
    session: Session,
    clinic_id: int,
    key: dict[str, Any],
    subject: str,
    box: SecretBox,
    *,
    now: datetime | None = None,
) -> Credential:
    """Store an encrypted copy of a (validated) service-account key acting as ``subject``."""
    service_account_credentials(key, subject=subject)
    return store.save_credential(
        session,
        clinic_id,
        Provider.GOOGLE,
        CredentialKind.SERVICE_ACCOUNT,
        account=subject,
        secret=box.encrypt(json.dumps(key)),
        now=now,
    )


def load_google_credentials(
    session: Session,
    clinic_id: int,
    box: SecretBox,
    *,
    request: RefreshRequest | None = None,
    token_uri: str = GOOGLE_TOKEN_URI,
) -> Credentials:
    """The clinic's Google credentials, refreshed; :class:`ReconnectRequired` if refused.

    An OAuth grant is refreshed at ``token_uri`` (Google's unless a test points it
    elsewhere; the one written in the grant is not trusted, as google-auth does not).
    Writes nothing: a caller that gets :class:`ReconnectRequired` records it with
    :func:`mark_reconnect_required` (or uses :func:`load_or_mark`).
    """
    stored = store.get_credential(session, clinic_id, Provider.GOOGLE)
    if stored is None:
        raise NotConnected("no Google account is connected: run `clinic-sync connect google`")
    if stored.needs_reconnect:
        raise _reconnect(clinic_id, stored.state_reason or "the grant was refused earlier")
    credentials = _build(stored, box, token_uri)
    if request is not None:
        _refresh(credentials, clinic_id, request)
        return credentials
    # A connection of our own, closed once refreshed: the client refreshes over its own later.
    http = TlsHttp(timeout=30)
    try:
        _refresh(credentials, clinic_id, Request(http))
    finally:
        http.close()
    return credentials


def mark_reconnect_required(
    session: Session, error: ReconnectRequired, *, now: datetime | None = None
) -> Credential:
    """Record on the clinic's Google credential that it must connect again, and why."""
    return store.mark_reconnect_required(
        session, error.clinic_id, Provider.GOOGLE, error.grant_reason, now=now
    )


def load_or_mark(
    engine: Engine,
    clinic_id: int,
    box: SecretBox,
    *,
    request: RefreshRequest | None = None,
    token_uri: str = GOOGLE_TOKEN_URI,
) -> Credentials:
    """:func:`load_google_credentials`, recording a refusal in its own unit of work first."""
    try:
        with session_scope(engine) as session:
            return load_google_credentials(
                session, clinic_id, box, request=request, token_uri=token_uri
            )
    except ReconnectRequired as err:
        with session_scope(engine) as session:
            mark_reconnect_required(session, err)
        raise


def _build(stored: Credential, box: SecretBox, token_uri: str) -> Credentials:
    info = _json(box.decrypt(stored.secret), "the stored Google grant")
    if stored.kind is CredentialKind.SERVICE_ACCOUNT:
        return service_account_credentials(info, subject=stored.account or None)
    missing = [key for key in _GRANT_KEYS if not info.get(key)]
    if missing:
        raise CredentialsError(f"the stored Google grant lacks {', '.join(missing)}")
    return user_credentials.Credentials(  # type: ignore[no-untyped-call]
        token=None,
        refresh_token=info["refresh_token"],
        client_id=info["client_id"],
        client_secret=info["client_secret"],
        token_uri=token_uri,
        scopes=list(SCOPES),
    )


def _refresh(credentials: Credentials, clinic_id: int, request: RefreshRequest) -> None:
    try:
        credentials.refresh(request)  # type: ignore[no-untyped-call]
    except RefreshError as err:
        if err.retryable:
            raise ProviderUnavailable(f"Google's token endpoint failed: {err}") from err
        raise _reconnect(clinic_id, first_line(str(err)) or type(err).__name__) from err
    except TransportError as err:
        raise ProviderUnavailable(f"cannot reach Google's token endpoint: {err}") from err


def _reconnect(clinic_id: int, reason: str) -> ReconnectRequired:
    return ReconnectRequired(
        f"Google refused the clinic's grant ({reason}): run `clinic-sync connect google` again",
        clinic_id=clinic_id,
        reason=reason,
    )


def _json(text: str, what: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except ValueError as err:
        raise CredentialsError(f"{what} is not JSON ({err})") from err
    if not isinstance(document, dict):
        raise CredentialsError(f"{what} is not a JSON object")
    return document
