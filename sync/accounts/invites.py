"""Inviting people to a clinic: a one-time, expiring link that sets a password (SPEC §8).

An admin of a clinic invites an address with a role there. The link's secret is 256
random bits, stored only as its hash (:mod:`sync.accounts.secrets`), it expires after
``CLINIC_SYNC_INVITE_VALID_HOURS`` and works once. Resending gives the invitation a
new link and a new expiry (the old link stops working); revoking withdraws it.
Accepting as a new person sets their name and password (the rules of
:func:`~sync.accounts.passwords.check_new_password`); someone who has an account already
just gains the membership. Each step is recorded in the clinic's audit trail:
``invite.sent``, ``invite.resent``, ``invite.revoked``, ``invite.accepted``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from sync.accounts.passwords import check_new_password, hash_password
from sync.accounts.secrets import hash_secret, new_secret
from sync.accounts.service import Actor, normalise_email
from sync.errors import InputError
from sync.store.account_links import (
    Invite,
    add_invite,
    find_live_invite,
    get_invite,
    list_open_invites,
    renew_invite,
    revoke_invite,
    take_invite,
)
from sync.store.audit import record_audit_event
from sync.store.memberships import Role, grant_membership
from sync.store.users import User, add_user, find_user, set_user_name

__all__ = [
    "Accepted",
    "IssuedInvite",
    "NoSuchInvite",
    "accept_invite",
    "invite_person",
    "open_invite",
    "resend_invite",
    "withdraw_invite",
]

INVITE_PATH = "/admin/invite/"


class NoSuchInvite(InputError):
    """No invitation of that id among the caller's clinics, or a link that no longer works."""


@dataclass(frozen=True, slots=True)
class IssuedInvite:
    """An invitation and its link's secret: known only now, to e-mail or hand over."""

    invite: Invite
    secret: str

    @property
    def path(self) -> str:
        """The path of the link that accepts it."""
        return INVITE_PATH + self.secret


@dataclass(frozen=True, slots=True)
class Accepted:
    """The person who accepted, and whether they made their account just now."""

    user: User
    new_account: bool


def invite_person(
    session: Session, actor: Actor, email: str, role: Role, lifetime: timedelta
) -> IssuedInvite:
    """Invite ``email`` to the actor's clinic; :class:`InputError` for a member or one invited."""
    address = normalise_email(email)
    known = find_user(session, address)
    if known is not None and known.membership(actor.clinic_id) is not None:
        raise InputError(f"{address} is a member of this clinic already")
    if any(held.email == address for held in list_open_invites(session, actor.clinic_id)):
        raise InputError(f"{address} is invited already: resend that invitation instead")
    secret = new_secret()
    invite = add_invite(
        session, actor.clinic_id, address, role, hash_secret(secret),
        invited_by=actor.name, now=actor.now, expires_at=actor.now + lifetime,
    )  # fmt: skip
    _audit(session, actor, "invite.sent", invite)
    return IssuedInvite(invite, secret)


def resend_invite(
    session: Session, actor: Actor, invite_id: int, lifetime: timedelta
) -> IssuedInvite:
    """A new link for an open invitation of the actor's clinic (the old one stops working)."""
    invite = _open_of(session, actor, invite_id)
    secret = new_secret()
    renewed = renew_invite(session, invite.id, hash_secret(secret), expires_at=actor.now + lifetime)
    _audit(session, actor, "invite.resent", renewed)
    return IssuedInvite(renewed, secret)


def withdraw_invite(session: Session, actor: Actor, invite_id: int) -> Invite:
    """Revoke an open invitation of the actor's clinic."""
    revoked = revoke_invite(session, _open_of(session, actor, invite_id).id, now=actor.now)
    _audit(session, actor, "invite.revoked", revoked)
    return revoked


def open_invite(session: Session, secret: str, now: datetime) -> tuple[Invite, User | None]:
    """The live invitation a link names and the account its address has, if any."""
    invite = find_live_invite(session, hash_secret(secret), now=now)
    if invite is None:
        raise NoSuchInvite("this invitation link has expired, was used or was withdrawn")
    return invite, find_user(session, invite.email)


def accept_invite(
    session: Session, secret: str, now: datetime, *, name: str = "", password: str = ""
) -> Accepted:
    """Use the link once: a new account with ``name`` and ``password``, or a new membership.

    :class:`NoSuchInvite` when the link no longer works; :class:`InputError` for a
    password too short or a missing name (the link then still works).
    """
    invite, known = open_invite(session, secret, now)
    if known is None:
        cleaned = _checked_name(name)
        digest = hash_password(check_new_password(password))
    if take_invite(session, hash_secret(secret), now=now) is None:
        raise NoSuchInvite("this invitation link has expired, was used or was withdrawn")
    user = known or set_user_name(
        session, add_user(session, invite.email, digest, now=now).email, cleaned
    )
    grant_membership(session, user.id, invite.clinic_id, invite.role, now=now)
    _audit(session, Actor(invite.email, invite.clinic_id, now), "invite.accepted", invite)
    found = find_user(session, invite.email)
    assert found is not None, "the account was found or made above"
    return Accepted(found, known is None)


def _checked_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InputError("give your name")
    if len(cleaned) > 200:
        raise InputError("a name has at most 200 characters")
    return cleaned


def _open_of(session: Session, actor: Actor, invite_id: int) -> Invite:
    invite = get_invite(session, invite_id, (actor.clinic_id,))
    if invite is None or invite.accepted_at is not None or invite.revoked_at is not None:
        raise NoSuchInvite(f"no open invitation {invite_id}")
    return invite


def _audit(session: Session, actor: Actor, action: str, invite: Invite) -> None:
    detail = {"user": invite.email, "role": invite.role.value, "invite_id": invite.id}
    record_audit_event(session, actor.clinic_id, actor.name, action, detail=detail, at=actor.now)
