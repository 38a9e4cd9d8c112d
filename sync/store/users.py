"""Accounts of the admin UI and API: users, API tokens, sessions, sign-in attempts (SPEC §8).

Plain records in, plain records out. Secrets are never stored: API tokens and session
cookies are kept as SHA-256 hashes, passwords as argon2 hashes made by
:mod:`sync.accounts.passwords`. A disabled user's sessions and tokens stop working at
once, because every lookup joins the user and checks ``disabled_at``. A :class:`User`
comes with their memberships (:mod:`sync.store.memberships`), read in the same lookup,
so what they may see and do is decided from one record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from sync.store.errors import RecordNotFound
from sync.store.memberships import Membership, Role, memberships_of
from sync.store.tables import (
    ApiTokenRow,
    LoginAttemptRow,
    MembershipRow,
    UserRow,
    WebSessionRow,
)

__all__ = [
    "ApiToken",
    "Membership",
    "Role",
    "User",
    "WebSession",
    "add_api_token",
    "add_user",
    "add_web_session",
    "delete_user_sessions",
    "delete_web_session",
    "failed_logins_since",
    "failures_since_success",
    "find_user",
    "get_user",
    "list_api_tokens",
    "list_members",
    "list_users",
    "password_hash_of",
    "record_login_attempt",
    "revoke_api_token",
    "set_operator",
    "set_password_hash",
    "set_session_clinic",
    "set_user_disabled",
    "set_user_name",
    "user_for_api_token",
    "web_session_for",
]


@dataclass(frozen=True, slots=True)
class User:
    """A person who signs in; ``email`` is case-folded and names them in the audit trail.

    ``memberships`` are the clinics they see, by name, with their role in each; an
    ``operator`` runs the service (clinics, sync health, counts) but sees a clinic's
    patients only as its member.
    """

    id: int
    email: str
    created_at: datetime
    disabled_at: datetime | None = None
    operator: bool = False
    memberships: tuple[Membership, ...] = ()
    name: str | None = None

    @property
    def clinic_ids(self) -> tuple[int, ...]:
        """The clinics whose data the user may see."""
        return tuple(held.clinic_id for held in self.memberships)

    def membership(self, clinic_id: int) -> Membership | None:
        """The user's membership of the clinic, if any."""
        return next((held for held in self.memberships if held.clinic_id == clinic_id), None)

    def can_act_in(self, clinic_id: int) -> bool:
        """Whether the user is an admin of the clinic."""
        held = self.membership(clinic_id)
        return held is not None and held.role is Role.ADMIN


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A personal API token as stored: never the secret."""

    id: int
    user_id: int
    label: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class WebSession:
    """A signed-in browser, the CSRF token its forms must carry and the clinic it chose."""

    id: int
    user: User
    csrf_token: str
    expires_at: datetime
    clinic_id: int | None = None


def add_user(
    session: Session, email: str, password_hash: str, *, now: datetime, operator: bool = False
) -> User:
    """A new user with no membership yet; :class:`ConstraintViolation` when the e-mail is taken."""
    row = UserRow(
        email=email.casefold(), password_hash=password_hash, created_at=now, operator=operator
    )
    session.add(row)
    session.flush()
    return _user(session, row)


def find_user(session: Session, email: str) -> User | None:
    """The user with ``email`` (any case), enabled or not."""
    row = _user_row(session, email)
    return None if row is None else _user(session, row)


def get_user(session: Session, user_id: int) -> User | None:
    """The user with ``user_id``, enabled or not."""
    row = session.get(UserRow, user_id)
    return None if row is None else _user(session, row)


def list_members(session: Session, clinic_id: int) -> list[User]:
    """The clinic's members, by e-mail, each with all their memberships."""
    query = (
        select(UserRow)
        .join(MembershipRow, col(MembershipRow.user_id) == col(UserRow.id))
        .where(col(MembershipRow.clinic_id) == clinic_id)
        .order_by(col(UserRow.email))
    )
    rows = list(session.exec(query))
    held = memberships_of(session, [_id(row) for row in rows])
    return [_record(row, held.get(_id(row), ())) for row in rows]


def set_user_name(session: Session, email: str, name: str) -> User:
    """Store the name a user goes by."""
    row = _existing(session, email)
    row.name = name
    session.flush()
    return _user(session, row)


def password_hash_of(session: Session, user_id: int) -> str:
    """The stored password hash of a user."""
    row = session.get(UserRow, user_id)
    if row is None:
        raise RecordNotFound(f"no user with id {user_id}")
    return row.password_hash


def list_users(session: Session) -> list[User]:
    """Every user, by e-mail, with their memberships."""
    rows = list(session.exec(select(UserRow).order_by(col(UserRow.email))))
    held = memberships_of(session, [_id(row) for row in rows])
    return [_record(row, held.get(_id(row), ())) for row in rows]


def set_operator(session: Session, email: str, operator: bool) -> User:
    """Make a user an operator of the service, or no longer one."""
    row = _existing(session, email)
    row.operator = operator
    session.flush()
    return _user(session, row)


def set_user_disabled(session: Session, email: str, *, now: datetime | None) -> User:
    """Disable (``now``) or re-enable (``None``) a user; their sessions end either way."""
    row = _existing(session, email)
    row.disabled_at = now
    session.flush()
    delete_user_sessions(session, _id(row))
    return _user(session, row)


def set_password_hash(session: Session, email: str, password_hash: str, *, now: datetime) -> User:
    """Store a new password hash; the user's sessions end (signed in elsewhere or not)."""
    row = _existing(session, email)
    row.password_hash = password_hash
    row.password_changed_at = now
    session.flush()
    delete_user_sessions(session, _id(row))
    return _user(session, row)


def add_api_token(
    session: Session, user_id: int, token_hash: str, *, now: datetime, label: str | None = None
) -> ApiToken:
    """Store a token's hash for ``user_id``."""
    row = ApiTokenRow(user_id=user_id, token_hash=token_hash, label=label, created_at=now)
    session.add(row)
    session.flush()
    return _token(row)


def list_api_tokens(session: Session, user_id: int) -> list[ApiToken]:
    """A user's tokens, oldest first, revoked ones included."""
    query = select(ApiTokenRow).where(col(ApiTokenRow.user_id) == user_id)
    return [_token(row) for row in session.exec(query.order_by(col(ApiTokenRow.id)))]


def revoke_api_token(session: Session, token_id: int, *, now: datetime) -> None:
    """Revoke a token; :class:`RecordNotFound` when there is none."""
    row = session.get(ApiTokenRow, token_id)
    if row is None:
        raise RecordNotFound(f"no API token with id {token_id}")
    row.revoked_at = row.revoked_at or now
    session.flush()


def user_for_api_token(session: Session, token_hash: str, *, now: datetime) -> User | None:
    """The enabled user a live token belongs to (its use is noted), or ``None``."""
    query = (
        select(ApiTokenRow, UserRow)
        .join(UserRow, col(UserRow.id) == col(ApiTokenRow.user_id))
        .where(col(ApiTokenRow.token_hash) == token_hash)
        .where(col(ApiTokenRow.revoked_at).is_(None))
        .where(col(UserRow.disabled_at).is_(None))
    )
    found = session.exec(query).first()
    if found is None:
        return None
    token, user = found
    token.last_used_at = now
    return _user(session, user)


def add_web_session(
    session: Session,
    user_id: int,
    token_hash: str,
    csrf_token: str,
    *,
    now: datetime,
    expires_at: datetime,
) -> None:
    """Store a new signed-in session (expired ones are swept at the same time)."""
    session.exec(delete(WebSessionRow).where(col(WebSessionRow.expires_at) <= now))
    row = WebSessionRow(
        user_id=user_id,
        token_hash=token_hash,
        csrf_token=csrf_token,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()


def web_session_for(session: Session, token_hash: str, *, now: datetime) -> WebSession | None:
    """The live session of an enabled user a cookie's hash names, or ``None``."""
    query = (
        select(WebSessionRow, UserRow)
        .join(UserRow, col(UserRow.id) == col(WebSessionRow.user_id))
        .where(col(WebSessionRow.token_hash) == token_hash)
        .where(col(WebSessionRow.expires_at) > now)
        .where(col(UserRow.disabled_at).is_(None))
    )
    found = session.exec(query).first()
    if found is None:
        return None
    row, user = found
    assert row.id is not None, "a stored session has an id"
    return WebSession(row.id, _user(session, user), row.csrf_token, row.expires_at, row.clinic_id)


def set_session_clinic(session: Session, session_id: int, clinic_id: int) -> None:
    """Remember the clinic a signed-in browser looks at."""
    row = session.get(WebSessionRow, session_id)
    if row is None:
        raise RecordNotFound(f"no web session with id {session_id}")
    row.clinic_id = clinic_id
    session.flush()


def delete_web_session(session: Session, token_hash: str) -> None:
    """Sign a browser out."""
    session.exec(delete(WebSessionRow).where(col(WebSessionRow.token_hash) == token_hash))


def delete_user_sessions(session: Session, user_id: int) -> None:
    """Sign a user out everywhere."""
    session.exec(delete(WebSessionRow).where(col(WebSessionRow.user_id) == user_id))


def record_login_attempt(
    session: Session, email: str, client: str, *, succeeded: bool, now: datetime
) -> None:
    """Note one sign-in attempt (the password is never passed here)."""
    row = LoginAttemptRow(at=now, email=email.casefold(), client=client, succeeded=succeeded)
    session.add(row)
    session.flush()


def failed_logins_since(
    session: Session, since: datetime, *, email: str | None = None, client: str | None = None
) -> list[datetime]:
    """When the failed attempts on ``email`` or from ``client`` after ``since`` happened."""
    query = (
        select(LoginAttemptRow.at)
        .where(col(LoginAttemptRow.at) > since)
        .where(col(LoginAttemptRow.succeeded).is_(False))
    )
    if email is not None:
        query = query.where(col(LoginAttemptRow.email) == email.casefold())
    if client is not None:
        query = query.where(col(LoginAttemptRow.client) == client)
    return sorted(session.exec(query.order_by(col(LoginAttemptRow.at))))


def failures_since_success(session: Session, email: str, since: datetime) -> list[datetime]:
    """When the failed attempts on ``email`` after ``since`` and after its last success were."""
    last_success = session.exec(
        select(LoginAttemptRow.at)
        .where(col(LoginAttemptRow.email) == email.casefold())
        .where(col(LoginAttemptRow.succeeded).is_(True), col(LoginAttemptRow.at) > since)
        .order_by(col(LoginAttemptRow.at).desc())
    ).first()
    return failed_logins_since(session, max(since, last_success or since), email=email)


def _user_row(session: Session, email: str) -> UserRow | None:
    return session.exec(select(UserRow).where(col(UserRow.email) == email.casefold())).first()


def _existing(session: Session, email: str) -> UserRow:
    row = _user_row(session, email)
    if row is None:
        raise RecordNotFound(f"no user {email!r}")
    return row


def _id(row: UserRow) -> int:
    assert row.id is not None, "a stored user has an id"
    return row.id


def _user(session: Session, row: UserRow) -> User:
    return _record(row, memberships_of(session, [_id(row)]).get(_id(row), ()))


def _record(row: UserRow, memberships: tuple[Membership, ...]) -> User:
    return User(
        _id(row), row.email, row.created_at, row.disabled_at, row.operator, memberships, row.name
    )


def _token(row: ApiTokenRow) -> ApiToken:
    assert row.id is not None, "a stored token has an id"
    return ApiToken(
        row.id, row.user_id, row.label, row.created_at, row.last_used_at, row.revoked_at
    )
