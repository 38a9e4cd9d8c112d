"""The secret in a feed URL: issued, rotated, revoked, checked (SPEC §7).

A token is ``secrets.token_urlsafe(32)`` (256 bits, more than the ≥128 the SPEC asks).
Only its SHA-256 hash is stored: a copy of the database does not open any feed. A
presented token is hashed, looked up by hash, and the stored hash compared with
:func:`hmac.compare_digest`. Revoked and unknown tokens look the same from outside.
A rotation, from the admin pages or the command line, is recorded in the clinic's audit
trail as ``feed_token.rotated`` with both token ids, in the same unit of work.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from sync.errors import InputError
from sync.feeds.scope import FeedScope, ScopeKind, parse_patient_key
from sync.store.audit import record_audit_event
from sync.store.errors import RecordNotFound
from sync.store.feeds import (
    FeedToken,
    add_feed_token,
    find_feed_token,
    get_feed_token,
    revoke_feed_token,
)
from sync.store.sources import get_source

__all__ = [
    "IssuedToken",
    "check_scope",
    "feed_url",
    "hash_token",
    "issue_token",
    "live_token",
    "new_token",
    "revoke_token",
    "rotate_token",
]

_TOKEN_BYTES = 32


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token just issued: the only moment its secret is known."""

    token: FeedToken
    secret: str


def new_token() -> str:
    """A fresh URL-safe secret of 256 random bits."""
    return secrets.token_urlsafe(_TOKEN_BYTES)


def hash_token(secret: str) -> str:
    """The hex SHA-256 of a secret: what the store keeps and looks up."""
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


def feed_url(public_url: str, secret: str) -> str:
    """The URL a practitioner subscribes to."""
    return f"{public_url.rstrip('/')}/feeds/{secret}.ics"


def live_token(session: Session, secret: str) -> tuple[FeedToken | None, bool]:
    """The token a secret names (``None`` if unknown) and whether it may be served."""
    digest = hash_token(secret)
    token = find_feed_token(session, digest)
    if token is None:
        return None, False
    matches = hmac.compare_digest(token.token_hash.encode(), digest.encode())
    return token, matches and not token.revoked


def check_scope(session: Session, clinic_id: int, scope: FeedScope) -> FeedScope:
    """``scope`` normalised; :class:`InputError` when it names nothing usable."""
    if scope.kind is ScopeKind.PATIENT:
        return FeedScope(scope.kind, str(parse_patient_key(scope.value)))
    if scope.kind is ScopeKind.CLINIC:
        return FeedScope(scope.kind)
    if not scope.value.isdigit():
        raise InputError(f"calendar {scope.value!r}: give the calendar's id (calendars list)")
    try:
        source = get_source(session, int(scope.value))
    except RecordNotFound as err:
        raise InputError(f"no calendar with id {scope.value}") from err
    if source.clinic_id != clinic_id:
        # Another clinic's calendar is not there for this clinic: the same answer.
        raise InputError(f"no calendar with id {scope.value}")
    return FeedScope(scope.kind, str(source.id))


def issue_token(
    session: Session,
    clinic_id: int,
    scope: FeedScope,
    *,
    actor: str,
    now: datetime,
    label: str | None = None,
) -> IssuedToken:
    """Issue a token for ``scope`` (checked first); its secret is returned once, and
    ``actor``'s issue is recorded in the audit trail."""
    issued = _issue(session, clinic_id, scope, now=now, label=label)
    detail = _token_detail(issued.token)
    record_audit_event(session, clinic_id, actor, "feed_token.issued", detail=detail, at=now)
    return issued


def _issue(
    session: Session,
    clinic_id: int,
    scope: FeedScope,
    *,
    now: datetime,
    label: str | None,
    rotated_from_id: int | None = None,
) -> IssuedToken:
    checked = check_scope(session, clinic_id, scope)
    secret = new_token()
    token = add_feed_token(
        session,
        clinic_id,
        hash_token(secret),
        checked.kind.value,
        checked.value,
        now=now,
        label=label,
        rotated_from_id=rotated_from_id,
    )
    return IssuedToken(token, secret)


def revoke_token(
    session: Session, clinic_id: int, token_id: int, *, actor: str, now: datetime
) -> FeedToken:
    """Revoke one of the clinic's tokens; its URL answers 404 from now on, and ``actor``'s
    revocation is recorded in the audit trail."""
    _own_token(session, clinic_id, token_id)
    token = revoke_feed_token(session, token_id, now=now)
    detail = _token_detail(token)
    record_audit_event(session, clinic_id, actor, "feed_token.revoked", detail=detail, at=now)
    return token


def rotate_token(
    session: Session, clinic_id: int, token_id: int, *, actor: str, now: datetime
) -> IssuedToken:
    """A new secret for the same scope and label; the old one is revoked at once, and
    ``actor``'s rotation is recorded in the audit trail."""
    old = _own_token(session, clinic_id, token_id)
    if old.revoked:
        raise InputError(f"feed token {token_id} is revoked; issue a new one instead")
    revoke_feed_token(session, token_id, now=now)
    scope = FeedScope(ScopeKind(old.scope_kind), old.scope_value)
    issued = _issue(session, clinic_id, scope, now=now, label=old.label, rotated_from_id=old.id)
    detail = {**_token_detail(issued.token), "rotated_from_id": token_id}
    record_audit_event(session, clinic_id, actor, "feed_token.rotated", detail=detail, at=now)
    return issued


def _token_detail(token: FeedToken) -> dict[str, object]:
    return {
        "token_id": token.id,
        "scope": token.scope_kind,
        "value": token.scope_value,
        "label": token.label or "",
    }


def _own_token(session: Session, clinic_id: int, token_id: int) -> FeedToken:
    try:
        token = get_feed_token(session, token_id)
    except RecordNotFound as err:
        raise InputError(f"no feed token with id {token_id}") from err
    if token.clinic_id != clinic_id:
        raise InputError(f"no feed token with id {token_id}")
    return token
