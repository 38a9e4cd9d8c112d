"""Signing in to the admin UI, throttled per account and per client address (SPEC §8).

A sign-in that must wait (:mod:`sync.accounts.throttle`: a growing delay per account
after a few wrong passwords, never a lockout of the right one; a cap per client address)
is refused unchecked and the caller answers 429 with ``Retry-After``. Attempts and outcomes
go to the audit trail — the address tried and the client, never the password. A
successful sign-in opens a server-side session: the browser holds a random cookie,
the store its hash and the session's CSRF token.

Which clinic's trail records it: a sign-in, a wrong password and a sign-out of a known
user go to each clinic the user is a member of (its auditors see who came in, and no
other clinic learns the user exists); attempts on an unknown address, and users of no
clinic (an operator), go to the trail of the clinic the caller acts for
(``CLINIC_SYNC_CLINIC`` in the web app).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from sync.accounts.passwords import dummy_verify, verify_password
from sync.accounts.secrets import hash_secret, new_secret
from sync.accounts.service import Actor
from sync.accounts.throttle import Throttle, account_wait, address_wait
from sync.store.audit import record_audit_event
from sync.store.users import (
    User,
    add_web_session,
    delete_web_session,
    failed_logins_since,
    failures_since_success,
    find_user,
    password_hash_of,
    record_login_attempt,
)

__all__ = [
    "LoginLimits",
    "LoginResult",
    "OpenedSession",
    "open_session",
    "sign_in",
    "sign_out",
]


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """How sign-ins are throttled, and how long a session lasts."""

    throttle: Throttle = field(default_factory=Throttle)
    session_lifetime: timedelta = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class OpenedSession:
    """A new session: the cookie's secret (given to the browser only) and its CSRF token."""

    cookie: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class LoginResult:
    """A user and their session, or why not: bad credentials, or wait ``retry_after`` s."""

    user: User | None = None
    session: OpenedSession | None = None
    retry_after: int | None = None


def sign_in(
    session: Session,
    actor: Actor,
    email: str,
    password: str,
    *,
    client: str,
    limits: LoginLimits,
) -> LoginResult:
    """Check the throttle, then the password; open a session on success."""
    address = email.strip().casefold()[:320]
    known = find_user(session, address)
    wait = _throttled(session, address, client, limits, actor.now)
    if wait is not None:
        _audit(session, actor, known, "login.throttled", email=address, client=client)
        return LoginResult(retry_after=wait)
    user = _verified(session, known, password)
    record_login_attempt(session, address, client, succeeded=user is not None, now=actor.now)
    if user is None:
        _audit(session, actor, known, "login.failed", email=address, client=client)
        return LoginResult()
    signed_in = Actor(user.email, actor.clinic_id, actor.now)
    _audit(session, signed_in, user, "login.succeeded", email=address, client=client)
    return LoginResult(user, open_session(session, user, actor.now, limits.session_lifetime))


def sign_out(session: Session, actor: Actor, user: User, cookie: str, client: str) -> None:
    """End the session ``cookie`` names and record it in the user's clinics."""
    delete_web_session(session, hash_secret(cookie))
    _audit(session, actor, user, "logout", email=actor.name, client=client)


def _throttled(
    session: Session, email: str, client: str, limits: LoginLimits, now: datetime
) -> int | None:
    throttle = limits.throttle
    since = now - throttle.window
    waits = (
        account_wait(throttle, failures_since_success(session, email, since), now),
        address_wait(throttle, failed_logins_since(session, since, client=client), now),
    )
    return max((wait for wait in waits if wait is not None), default=None)


def _verified(session: Session, user: User | None, password: str) -> User | None:
    if user is None or user.disabled_at is not None:
        dummy_verify(password)
        return None
    return user if verify_password(password_hash_of(session, user.id), password) else None


def open_session(session: Session, user: User, now: datetime, lifetime: timedelta) -> OpenedSession:
    """A new signed-in session of ``user`` (after a sign-in, an accepted invitation, …)."""
    cookie, csrf = new_secret(), new_secret()
    expires = now + lifetime
    add_web_session(session, user.id, hash_secret(cookie), csrf, now=now, expires_at=expires)
    return OpenedSession(cookie, csrf, expires)


def _audit(
    session: Session, actor: Actor, user: User | None, action: str, *, email: str, client: str
) -> None:
    detail = {"user": email, "client": client}
    trails = (user.clinic_ids if user else ()) or (actor.clinic_id,)
    for clinic_id in trails:
        record_audit_event(session, clinic_id, actor.name, action, detail=detail, at=actor.now)
