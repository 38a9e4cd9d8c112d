"""A clinic's data version: one counter its feeds compare to know its bookings moved (SPEC §7).

Feeds keep what they rendered until the clinic's bookings change. Rather than a
fingerprint summed over every booking (which grows with the clinic), the use cases that
insert, change or delete bookings call :func:`bump_data_version` in the same transaction,
and a feed reads the counter back by primary key (:func:`clinic_data_version`): O(1)
whatever the clinic's size. ``changed_at`` is when the bookings last changed, the floor of
the feed's stamps and of its Last-Modified.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from sync.store.errors import RecordNotFound
from sync.store.tables import CalendarSourceRow, ClinicRow

__all__ = ["DataVersion", "bump_data_version", "bump_source_clinic", "clinic_data_version"]


@dataclass(frozen=True, slots=True)
class DataVersion:
    """Where a clinic's bookings stand: any insert, change or deletion moves ``counter``."""

    counter: int
    changed_at: datetime | None


def bump_data_version(session: Session, clinic_id: int, now: datetime) -> None:
    """Count a change of ``clinic_id``'s bookings made at ``now``, in the caller's transaction."""
    statement = (
        update(ClinicRow)
        .where(col(ClinicRow.id) == clinic_id)
        .values(data_version=col(ClinicRow.data_version) + 1, data_changed_at=now)
        .execution_options(synchronize_session=False)
    )
    session.exec(statement)


def bump_source_clinic(session: Session, source_id: int, now: datetime) -> None:
    """:func:`bump_data_version` for the clinic that calendar ``source_id`` belongs to."""
    clinic = select(col(CalendarSourceRow.clinic_id)).where(col(CalendarSourceRow.id) == source_id)
    clinic_id = session.exec(clinic).first()
    if clinic_id is not None:
        bump_data_version(session, int(clinic_id), now)


def clinic_data_version(session: Session, clinic_id: int) -> DataVersion:
    """The clinic's data version (one row read by primary key)."""
    query = select(col(ClinicRow.data_version), col(ClinicRow.data_changed_at)).where(
        col(ClinicRow.id) == clinic_id
    )
    found = session.exec(query).first()
    if found is None:
        raise RecordNotFound(f"no clinic with id {clinic_id}")
    counter, changed_at = found
    return DataVersion(int(counter), changed_at)
