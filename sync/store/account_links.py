"""One-time links of the people pages: clinic invitations and password resets (SPEC §8).

Plain records in and out. Only the SHA-256 of a link's secret is stored
(:func:`sync.accounts.secrets.hash_secret`); a link is *live* before it expires while it
was neither used nor revoked. Taking a link (:func:`take_invite`, :func:`take_reset`)
marks it used in the same statement that finds it, so two requests racing with one
link cannot both succeed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from sync.store.memberships import Role
from sync.store.tables import InviteRow, PasswordResetRow

__all__ = [
    "Invite",
    "add_invite",
    "add_reset",
    "find_live_invite",
    "find_live_reset",
    "get_invite",
    "list_open_invites",
    "renew_invite",
    "resets_since",
    "revoke_invite",
    "take_invite",
    "take_reset",
]


@dataclass(frozen=True, slots=True)
class Invite:
    """An invitation to a clinic with a role, as stored (never the link's secret)."""

    id: int
    clinic_id: int
    email: str
    role: Role
    invited_by: str
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None

    def live(self, now: datetime) -> bool:
        """Whether the link still works at ``now``."""
        return self.accepted_at is None and self.revoked_at is None and now < self.expires_at


def add_invite(
    session: Session,
    clinic_id: int,
    email: str,
    role: Role,
    token_hash: str,
    *,
    invited_by: str,
    now: datetime,
    expires_at: datetime,
) -> Invite:
    """Store a new invitation."""
    row = InviteRow(
        clinic_id=clinic_id, email=email.casefold(), role=role.value, token_hash=token_hash,
        invited_by=invited_by, created_at=now, expires_at=expires_at,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return _invite(row)


def get_invite(session: Session, invite_id: int, clinic_ids: tuple[int, ...]) -> Invite | None:
    """The invitation ``invite_id`` if it belongs to one of ``clinic_ids``."""
    row = session.get(InviteRow, invite_id)
    return _invite(row) if row is not None and row.clinic_id in clinic_ids else None


def list_open_invites(session: Session, clinic_id: int) -> list[Invite]:
    """A clinic's invitations neither accepted nor revoked (expired ones too), newest first."""
    query = (
        select(InviteRow)
        .where(col(InviteRow.clinic_id) == clinic_id)
        .where(col(InviteRow.accepted_at).is_(None), col(InviteRow.revoked_at).is_(None))
        .order_by(col(InviteRow.id).desc())
    )
    return [_invite(row) for row in session.exec(query)]


def renew_invite(
    session: Session, invite_id: int, token_hash: str, *, expires_at: datetime
) -> Invite:
    """Give an invitation a new link (the old one stops working) and a new expiry."""
    row = _invite_row(session, invite_id)
    row.token_hash, row.expires_at = token_hash, expires_at
    session.flush()
    return _invite(row)


def revoke_invite(session: Session, invite_id: int, *, now: datetime) -> Invite:
    """Withdraw an invitation: its link stops working."""
    row = _invite_row(session, invite_id)
    row.revoked_at = row.revoked_at or now
    session.flush()
    return _invite(row)


def find_live_invite(session: Session, token_hash: str, *, now: datetime) -> Invite | None:
    """The live invitation a link's hash names, or ``None``."""
    query = select(InviteRow).where(col(InviteRow.token_hash) == token_hash)
    row = session.exec(query).first()
    return _invite(row) if row is not None and _invite(row).live(now) else None


def take_invite(session: Session, token_hash: str, *, now: datetime) -> Invite | None:
    """Mark the live invitation of ``token_hash`` accepted and return it; ``None`` if none."""
    statement = (
        update(InviteRow)
        .where(col(InviteRow.token_hash) == token_hash, col(InviteRow.expires_at) > now)
        .where(col(InviteRow.accepted_at).is_(None), col(InviteRow.revoked_at).is_(None))
        .values(accepted_at=now)
    )
    if not session.exec(statement).rowcount:
        return None
    row = session.exec(select(InviteRow).where(col(InviteRow.token_hash) == token_hash)).one()
    session.refresh(row)
    return _invite(row)


def add_reset(
    session: Session, user_id: int, token_hash: str, *, now: datetime, expires_at: datetime
) -> None:
    """Store a password-reset link of ``user_id``."""
    session.add(
        PasswordResetRow(
            user_id=user_id, token_hash=token_hash, created_at=now, expires_at=expires_at
        )
    )
    session.flush()


def resets_since(session: Session, user_id: int, since: datetime) -> int:
    """How many reset links ``user_id`` was sent after ``since``."""
    query = (
        select(PasswordResetRow.id)
        .where(col(PasswordResetRow.user_id) == user_id)
        .where(col(PasswordResetRow.created_at) > since)
    )
    return len(list(session.exec(query)))


def find_live_reset(session: Session, token_hash: str, *, now: datetime) -> int | None:
    """The user id a live reset link's hash names, or ``None``."""
    query = (
        select(PasswordResetRow.user_id)
        .where(col(PasswordResetRow.token_hash) == token_hash)
        .where(col(PasswordResetRow.expires_at) > now, col(PasswordResetRow.used_at).is_(None))
    )
    return session.exec(query).first()


def take_reset(session: Session, token_hash: str, *, now: datetime) -> int | None:
    """Mark a live reset link used, with every other link of its user; its user id or ``None``."""
    statement = (
        update(PasswordResetRow)
        .where(col(PasswordResetRow.token_hash) == token_hash)
        .where(col(PasswordResetRow.expires_at) > now, col(PasswordResetRow.used_at).is_(None))
        .values(used_at=now)
    )
    if not session.exec(statement).rowcount:
        return None
    query = select(PasswordResetRow.user_id).where(col(PasswordResetRow.token_hash) == token_hash)
    user_id = session.exec(query).one()
    others = (
        update(PasswordResetRow)
        .where(col(PasswordResetRow.user_id) == user_id, col(PasswordResetRow.used_at).is_(None))
        .values(used_at=now)
    )
    session.exec(others)
    return user_id


def _invite_row(session: Session, invite_id: int) -> InviteRow:
    row = session.get(InviteRow, invite_id)
    assert row is not None, "callers found the invitation first"
    return row


def _invite(row: InviteRow) -> Invite:
    assert row.id is not None, "a stored invitation has an id"
    return Invite(
        row.id, row.clinic_id, row.email, Role(row.role), row.invited_by, row.created_at,
        row.expires_at, row.accepted_at, row.revoked_at,
    )  # fmt: skip
