"""Managing accounts: add, re-key, disable users, their memberships, API tokens; audited (SPEC §8).

A user is a member of clinics with a role in each (:mod:`sync.store.memberships`); an
operator runs the service and may be a member of none. Every change is appended to the
audit trail of the clinic the caller acts for (a grant or revoke: of the clinic it is
about), with the acting person (or ``cli`` for the command line) as actor. Passwords
and token secrets never reach the trail. A token's secret is returned once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from sync.accounts.passwords import check_new_password, hash_password
from sync.accounts.secrets import hash_secret, new_api_token
from sync.errors import InputError
from sync.store.audit import record_audit_event
from sync.store.clinics import Clinic
from sync.store.memberships import Role, grant_membership, revoke_membership
from sync.store.users import (
    ApiToken,
    User,
    add_api_token,
    add_user,
    find_user,
    list_api_tokens,
    revoke_api_token,
    set_operator,
    set_password_hash,
    set_user_disabled,
)

__all__ = [
    "Actor",
    "IssuedApiToken",
    "audit_for_user",
    "change_password",
    "create_user",
    "disable_user",
    "enable_user",
    "grant_role",
    "issue_api_token",
    "make_operator",
    "normalise_email",
    "revoke_api_token_of",
    "revoke_role",
]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts and for which clinic's audit trail."""

    name: str
    clinic_id: int
    now: datetime


@dataclass(frozen=True, slots=True)
class IssuedApiToken:
    """A token just issued: the only moment its secret is known."""

    token: ApiToken
    secret: str


def normalise_email(email: str) -> str:
    """``email`` trimmed and case-folded; :class:`InputError` when it is not an address."""
    cleaned = email.strip().casefold()
    if not _EMAIL.match(cleaned) or len(cleaned) > 320:
        raise InputError(f"{email!r} is not an e-mail address")
    return cleaned


def create_user(
    session: Session,
    actor: Actor,
    email: str,
    role: Role | None,
    password: str,
    *,
    operator: bool = False,
) -> User:
    """Add a user, a member with ``role`` of the actor's clinic (or of none: an operator).

    :class:`InputError` when the address is taken, the password too short, or the user
    would be neither a member nor an operator.
    """
    address = normalise_email(email)
    if role is None and not operator:
        raise InputError("give the user a role in a clinic, or make them an operator")
    if find_user(session, address) is not None:
        raise InputError(f"a user {address!r} exists already")
    digest = hash_password(check_new_password(password))
    user = add_user(session, address, digest, now=actor.now, operator=operator)
    detail: dict[str, object] = {"user": address, "operator": operator}
    if role is not None:
        grant_membership(session, user.id, actor.clinic_id, role, now=actor.now)
        detail["role"] = role.value
    _audit(session, actor, "user.added", detail)
    return _known(session, address)


def grant_role(session: Session, actor: Actor, email: str, clinic: Clinic, role: Role) -> User:
    """Make a user a member of ``clinic`` with ``role`` (or change their role there)."""
    user = _known(session, email)
    grant_membership(session, user.id, clinic.id, role, now=actor.now)
    _audit(session, _in(actor, clinic), "user.granted", {"user": user.email, "role": role.value})
    return _known(session, user.email)


def revoke_role(session: Session, actor: Actor, email: str, clinic: Clinic) -> User:
    """End a user's membership of ``clinic``; :class:`InputError` when they were not one."""
    user = _known(session, email)
    if not revoke_membership(session, user.id, clinic.id):
        raise InputError(f"{user.email!r} is not a member of {clinic.name!r}")
    _audit(session, _in(actor, clinic), "user.revoked", {"user": user.email})
    return _known(session, user.email)


def make_operator(session: Session, actor: Actor, email: str, operator: bool = True) -> User:
    """Make a user an operator of the service (or no longer one)."""
    user = set_operator(session, _known(session, email).email, operator)
    _audit(session, actor, "user.operator", {"user": user.email, "operator": operator})
    return user


def change_password(session: Session, actor: Actor, email: str, password: str) -> User:
    """Give a user a new password; their sessions end."""
    user = _known(session, email)
    digest = hash_password(check_new_password(password))
    set_password_hash(session, user.email, digest, now=actor.now)
    _audit(session, actor, "user.password_changed", {"user": user.email})
    return user


def disable_user(session: Session, actor: Actor, email: str) -> User:
    """Stop a user signing in; sessions and API tokens stop working at once."""
    user = _known(session, email)
    disabled = set_user_disabled(session, user.email, now=actor.now)
    _audit(session, actor, "user.disabled", {"user": user.email})
    return disabled


def enable_user(session: Session, actor: Actor, email: str) -> User:
    """Let a disabled user sign in again (with the password they had)."""
    user = _known(session, email)
    enabled = set_user_disabled(session, user.email, now=None)
    _audit(session, actor, "user.enabled", {"user": user.email})
    return enabled


def revoke_api_token_of(session: Session, actor: Actor, user: User, token_id: int) -> ApiToken:
    """Revoke one of ``user``'s own tokens; :class:`InputError` when it is not theirs."""
    token = next((t for t in list_api_tokens(session, user.id) if t.id == token_id), None)
    if token is None:
        raise InputError(f"no API token {token_id}")
    revoke_api_token(session, token_id, now=actor.now)
    detail = {"user": user.email, "token_id": token_id, "label": token.label or ""}
    audit_for_user(session, actor, user, "api_token.revoked", detail)
    [revoked] = [t for t in list_api_tokens(session, user.id) if t.id == token_id]
    return revoked


def audit_for_user(
    session: Session, actor: Actor, user: User | None, action: str, detail: dict[str, object]
) -> None:
    """Record an event about a person in each clinic they are a member of (or, for a
    stranger or an operator of no clinic, in the actor's)."""
    trails = (user.clinic_ids if user else ()) or (actor.clinic_id,)
    for clinic_id in trails:
        record_audit_event(session, clinic_id, actor.name, action, detail=detail, at=actor.now)


def issue_api_token(
    session: Session, actor: Actor, email: str, label: str | None = None
) -> IssuedApiToken:
    """A new personal API token for an enabled user."""
    user = _known(session, email)
    if user.disabled_at is not None:
        raise InputError(f"user {user.email!r} is disabled")
    secret = new_api_token()
    token = add_api_token(session, user.id, hash_secret(secret), now=actor.now, label=label)
    detail = {"user": user.email, "token_id": token.id, "label": label or ""}
    _audit(session, actor, "api_token.issued", detail)
    return IssuedApiToken(token, secret)


def _known(session: Session, email: str) -> User:
    user = find_user(session, normalise_email(email))
    if user is None:
        raise InputError(f"no user {email.strip()!r}")
    return user


def _in(actor: Actor, clinic: Clinic) -> Actor:
    return Actor(actor.name, clinic.id, actor.now)


def _audit(session: Session, actor: Actor, action: str, detail: dict[str, object]) -> None:
    record_audit_event(session, actor.clinic_id, actor.name, action, detail=detail, at=actor.now)
