"""Resetting a forgotten password by e-mail: a one-time, expiring link (SPEC §8).

Asking for a reset answers the same whether or not the address has an account (no
account enumeration): the page says "if the address has an account, a link is on its
way" and the e-mail is sent after the answer. Only an enabled account gets a link. The
link's secret is stored as its hash; at most :data:`MAX_LINKS_PER_HOUR` are sent to one
account in an hour, expires after
``CLINIC_SYNC_PASSWORD_RESET_VALID_MINUTES`` and works once; using it sets the new
password, ends every session of the account and spends its other reset links. Both steps
are recorded (``password_reset.requested``, ``password_reset.completed``) in the trails
of the user's clinics, like a sign-in (:mod:`sync.accounts.login`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from sync.accounts.passwords import check_new_password, hash_password
from sync.accounts.secrets import hash_secret, new_secret
from sync.accounts.service import Actor, audit_for_user
from sync.errors import InputError
from sync.store.account_links import add_reset, find_live_reset, resets_since, take_reset
from sync.store.users import User, find_user, get_user, set_password_hash

__all__ = ["RESET_PATH", "NoSuchReset", "complete_reset", "request_reset", "reset_is_live"]

RESET_PATH = "/admin/reset/"
MAX_LINKS_PER_HOUR = 3
"""More requests within an hour send nothing (the answer stays the same): a stranger
cannot fill someone's mailbox with reset e-mails."""


class NoSuchReset(InputError):
    """A reset link that expired, was used, or never existed."""


def request_reset(
    session: Session, actor: Actor, email: str, lifetime: timedelta
) -> tuple[User, str] | None:
    """A new reset link's secret for the enabled account of ``email``, or ``None``."""
    address = email.strip().casefold()[:320]
    user = find_user(session, address)
    audit_for_user(session, actor, user, "password_reset.requested", {"user": address})
    if user is None or user.disabled_at is not None:
        return None
    if resets_since(session, user.id, actor.now - timedelta(hours=1)) >= MAX_LINKS_PER_HOUR:
        return None
    secret = new_secret()
    add_reset(session, user.id, hash_secret(secret), now=actor.now, expires_at=actor.now + lifetime)
    return user, secret


def reset_is_live(session: Session, secret: str, now: datetime) -> bool:
    """Whether a reset link still works."""
    return find_live_reset(session, hash_secret(secret), now=now) is not None


def complete_reset(session: Session, actor: Actor, secret: str, password: str) -> User:
    """Set the new password through the link (once); every session of the account ends."""
    digest = hash_password(check_new_password(password))
    user_id = take_reset(session, hash_secret(secret), now=actor.now)
    user = None if user_id is None else get_user(session, user_id)
    if user is None or user.disabled_at is not None:
        raise NoSuchReset("this reset link has expired or was used: ask for a new one")
    set_password_hash(session, user.email, digest, now=actor.now)
    audit_for_user(session, actor, user, "password_reset.completed", {"user": user.email})
    return user
