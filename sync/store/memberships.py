"""Memberships: which clinics a user belongs to, and the role they hold in each (SPEC §8).

A user sees a clinic's data only as its member; an admin of a clinic acts in it, an
auditor only reads. Roles are per clinic: an admin of one clinic may be an auditor of
another. These rows are the one source of truth for it (``users`` keeps no role).
Plain records in and out; :class:`~sync.store.errors.RecordNotFound` for a missing one.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from sync.store.tables import ClinicRow, MembershipRow

__all__ = [
    "Membership",
    "Role",
    "grant_membership",
    "members_of",
    "memberships_of",
    "revoke_membership",
]


class Role(enum.StrEnum):
    """What a member may do in their clinic: an admin acts, an auditor only reads."""

    ADMIN = "admin"
    AUDITOR = "auditor"


@dataclass(frozen=True, slots=True)
class Membership:
    """A user's place in one clinic: the clinic (id, slug, name) and their role there."""

    clinic_id: int
    slug: str
    name: str
    role: Role


def grant_membership(
    session: Session, user_id: int, clinic_id: int, role: Role, *, now: datetime
) -> None:
    """Make the user a member of the clinic with ``role`` (changing the role of a member)."""
    query = select(MembershipRow).where(
        col(MembershipRow.user_id) == user_id, col(MembershipRow.clinic_id) == clinic_id
    )
    row = session.exec(query).first()
    if row is None:
        row = MembershipRow(user_id=user_id, clinic_id=clinic_id, role=role.value, created_at=now)
        session.add(row)
    row.role = role.value
    session.flush()


def revoke_membership(session: Session, user_id: int, clinic_id: int) -> bool:
    """End the user's membership of the clinic; whether they were a member."""
    statement = delete(MembershipRow).where(
        col(MembershipRow.user_id) == user_id, col(MembershipRow.clinic_id) == clinic_id
    )
    return bool(session.exec(statement).rowcount)


def memberships_of(
    session: Session, user_ids: Collection[int]
) -> dict[int, tuple[Membership, ...]]:
    """Each user's memberships by clinic name (users with none are absent)."""
    query = (
        sql_select(
            col(MembershipRow.user_id),
            col(ClinicRow.id),
            col(ClinicRow.slug),
            col(ClinicRow.name),
            col(MembershipRow.role),
        )
        .join(ClinicRow, col(ClinicRow.id) == col(MembershipRow.clinic_id))
        .where(col(MembershipRow.user_id).in_(list(user_ids)))
        .order_by(col(ClinicRow.name), col(ClinicRow.id))
    )
    found: dict[int, list[Membership]] = {}
    for user_id, clinic_id, slug, name, role in session.execute(query):
        found.setdefault(user_id, []).append(Membership(clinic_id, slug, name, Role(role)))
    return {user_id: tuple(held) for user_id, held in found.items()}


def members_of(session: Session, clinic_id: int) -> frozenset[int]:
    """The ids of the clinic's members."""
    query = select(MembershipRow.user_id).where(col(MembershipRow.clinic_id) == clinic_id)
    return frozenset(session.exec(query))
