"""Clinics: the tenant every calendar, booking and audit record belongs to (SPEC §2).

A clinic carries its own settings (time zone, staff domains, flag colour, …) and a
versioned policy, so one service runs any number of clinics. Every change of either
raises the clinic's ``version``: a process holding a clinic's settings in memory compares
that one number to notice a change (:func:`clinic_versions`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from sqlalchemy import delete, func, update
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, select

from rules.slots import read_opening_hours
from sync.clinics.model import SETTING_NAMES, ClinicSettings
from sync.store.errors import RecordNotFound
from sync.store.tables import (
    AuditEventRow,
    BookingRow,
    CalendarSourceRow,
    ClinicPolicyRow,
    ClinicRow,
    ConflictRow,
)

__all__ = [
    "Clinic",
    "ClinicContents",
    "StoredPolicy",
    "add_clinic",
    "calendar_counts",
    "clinic_by_id",
    "clinic_contents",
    "clinic_policy",
    "clinic_version",
    "clinic_versions",
    "get_clinic",
    "get_or_create_clinic",
    "list_clinics",
    "policy_history",
    "remove_clinic",
    "rename_clinic",
    "set_clinic_policy",
    "update_clinic_settings",
]


@dataclass(frozen=True, slots=True)
class Clinic:
    """A clinic as the rest of the service sees it."""

    id: int
    slug: str
    name: str
    settings: ClinicSettings = field(default_factory=ClinicSettings)
    version: int = 1


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    """One version of a clinic's policy; ``text`` is ``None`` for the shipped default."""

    version: int
    text: str | None
    created_at: datetime
    created_by: str | None


@dataclass(frozen=True, slots=True)
class ClinicContents:
    """How much a clinic holds: what removing it deletes."""

    calendars: int
    bookings: int
    conflicts: int
    audit_events: int


def add_clinic(
    session: Session,
    slug: str,
    name: str | None = None,
    settings: ClinicSettings | None = None,
    *,
    now: datetime | None = None,
) -> Clinic:
    """A new clinic; :class:`ValueError` if ``slug`` is taken."""
    if _row(session, slug) is not None:
        raise ValueError(f"a clinic called {slug!r} exists already")
    row = ClinicRow(slug=slug, name=name or slug, created_at=now or datetime.now(UTC))
    _write_settings(row, settings or ClinicSettings())
    session.add(row)
    session.flush()
    return _clinic(row)


def get_or_create_clinic(
    session: Session, slug: str, name: str | None = None, *, now: datetime | None = None
) -> Clinic:
    """The clinic called ``slug``, created (named ``name`` or the slug) if it is new."""
    row = _row(session, slug)
    if row is None:
        return add_clinic(session, slug, name, now=now)
    return _clinic(row)


def get_clinic(session: Session, slug: str) -> Clinic:
    """The clinic called ``slug``; :class:`RecordNotFound` if there is none."""
    row = _row(session, slug)
    if row is None:
        raise RecordNotFound(f"no clinic with slug {slug!r}")
    return _clinic(row)


def clinic_by_id(session: Session, clinic_id: int) -> Clinic:
    """The clinic with row id ``clinic_id``; :class:`RecordNotFound` if there is none."""
    row = session.get(ClinicRow, clinic_id)
    if row is None:
        raise RecordNotFound(f"no clinic with id {clinic_id}")
    return _clinic(row)


def list_clinics(session: Session, ids: Iterable[int] | None = None) -> list[Clinic]:
    """Every clinic (or those of ``ids``), by slug."""
    query = select(ClinicRow).order_by(ClinicRow.slug)
    if ids is not None:
        query = query.where(col(ClinicRow.id).in_(list(ids)))
    return [_clinic(row) for row in session.exec(query)]


def clinic_version(session: Session, clinic_id: int) -> int | None:
    """The clinic's settings version; ``None`` when the clinic is gone."""
    return session.exec(select(ClinicRow.version).where(ClinicRow.id == clinic_id)).first()


def clinic_versions(session: Session) -> dict[int, int]:
    """Each clinic's id and settings version: what a cache of clinics compares."""
    rows = session.exec(select(ClinicRow.id, ClinicRow.version)).all()
    return {clinic_id: version for clinic_id, version in rows if clinic_id is not None}


def rename_clinic(session: Session, clinic_id: int, name: str, *, now: datetime) -> Clinic:
    """Give the clinic a new display name."""
    row = _existing(session, clinic_id)
    row.name = name
    return _bumped(session, row, now)


def update_clinic_settings(
    session: Session, clinic_id: int, changes: Mapping[str, object], *, now: datetime
) -> Clinic:
    """Change some settings (names of :class:`ClinicSettings`, values already checked)."""
    unknown = sorted(set(changes) - set(SETTING_NAMES))
    if unknown:
        raise ValueError(f"unknown clinic settings: {', '.join(unknown)}")
    row = _existing(session, clinic_id)
    _write_settings(row, replace(_settings(row), **changes))  # type: ignore[arg-type]
    return _bumped(session, row, now)


def calendar_counts(session: Session) -> dict[int, int]:
    """Each clinic's number of connected calendars (clinics without any are left out)."""
    clinic = col(CalendarSourceRow.clinic_id)
    rows = session.exec(select(clinic, func.count()).group_by(clinic)).all()
    return dict(rows)


def clinic_contents(session: Session, clinic_id: int) -> ClinicContents:
    """What the clinic holds; :class:`RecordNotFound` if there is no such clinic."""
    _existing(session, clinic_id)
    return ClinicContents(
        calendars=_count(session, col(CalendarSourceRow.clinic_id), clinic_id),
        bookings=_count(session, col(BookingRow.clinic_id), clinic_id),
        conflicts=_count(session, col(ConflictRow.clinic_id), clinic_id),
        audit_events=_count(session, col(AuditEventRow.clinic_id), clinic_id),
    )


def remove_clinic(session: Session, clinic_id: int) -> None:
    """Delete the clinic and everything it owns, its audit trail included.

    The audit trail's key to its clinic restricts deletes, so no cascade from anywhere
    else can take an entry away; removing the whole clinic is the one deliberate
    exception, and deletes the entries first.
    """
    _existing(session, clinic_id)
    session.execute(delete(AuditEventRow).where(col(AuditEventRow.clinic_id) == clinic_id))
    session.execute(delete(ClinicRow).where(col(ClinicRow.id) == clinic_id))


def set_clinic_policy(
    session: Session,
    clinic_id: int,
    text: str | None,
    *,
    by: str | None,
    now: datetime,
) -> StoredPolicy:
    """Store a new version of the clinic's policy (``None``: back to the default).

    The text must have been checked by the caller (:mod:`sync.clinics.policy`): the store
    keeps what it is given.
    """
    row = _existing(session, clinic_id)
    latest = session.exec(
        select(func.max(ClinicPolicyRow.version)).where(ClinicPolicyRow.clinic_id == clinic_id)
    ).one()
    stored = ClinicPolicyRow(
        clinic_id=clinic_id,
        version=(latest or 0) + 1,
        text=text,
        created_at=now,
        created_by=by,
    )
    session.add(stored)
    _bumped(session, row, now)
    return _policy(stored)


def clinic_policy(session: Session, clinic_id: int) -> StoredPolicy | None:
    """The policy version in force, or ``None`` when the clinic never set one."""
    row = session.exec(
        select(ClinicPolicyRow)
        .where(ClinicPolicyRow.clinic_id == clinic_id)
        .order_by(col(ClinicPolicyRow.version).desc())
        .limit(1)
    ).first()
    return None if row is None else _policy(row)


def policy_history(session: Session, clinic_id: int) -> list[StoredPolicy]:
    """Every version of the clinic's policy, newest first."""
    rows = session.exec(
        select(ClinicPolicyRow)
        .where(ClinicPolicyRow.clinic_id == clinic_id)
        .order_by(col(ClinicPolicyRow.version).desc())
    )
    return [_policy(row) for row in rows]


def _count(session: Session, owner: Mapped[int], clinic_id: int) -> int:
    return session.exec(select(func.count()).where(owner == clinic_id)).one()


def _row(session: Session, slug: str) -> ClinicRow | None:
    return session.exec(select(ClinicRow).where(ClinicRow.slug == slug)).first()


def _existing(session: Session, clinic_id: int) -> ClinicRow:
    row = session.get(ClinicRow, clinic_id)
    if row is None:
        raise RecordNotFound(f"no clinic with id {clinic_id}")
    return row


def _bumped(session: Session, row: ClinicRow, now: datetime) -> Clinic:
    # A compare-free increment in SQL, so two writers racing both count.
    session.execute(
        update(ClinicRow)
        .where(col(ClinicRow.id) == row.id)
        .values(version=ClinicRow.version + 1, updated_at=now)
    )
    session.flush()
    session.refresh(row)
    return _clinic(row)


def _write_settings(row: ClinicRow, settings: ClinicSettings) -> None:
    row.time_zone = settings.time_zone
    row.staff_domains = ",".join(sorted(settings.staff_domains))
    row.flag_color = settings.flag_color
    row.patient_id_property = settings.patient_id_property
    row.feed_patient_label = settings.feed_patient_label
    row.scan_days_back = settings.scan_days_back
    row.scan_days_ahead = settings.scan_days_ahead
    row.feed_horizon_days = settings.feed_horizon_days
    row.dry_run = settings.dry_run
    row.notify_practitioners = settings.notify_practitioners
    row.notify_digest_hour = settings.notify_digest_hour
    row.opening_hours = settings.opening_hours.describe()


def _settings(row: ClinicRow) -> ClinicSettings:
    return ClinicSettings(
        time_zone=row.time_zone,
        staff_domains=frozenset(part for part in row.staff_domains.split(",") if part),
        flag_color=row.flag_color,
        patient_id_property=row.patient_id_property,
        feed_patient_label=row.feed_patient_label,
        scan_days_back=row.scan_days_back,
        scan_days_ahead=row.scan_days_ahead,
        feed_horizon_days=row.feed_horizon_days,
        dry_run=row.dry_run,
        notify_practitioners=row.notify_practitioners,
        notify_digest_hour=row.notify_digest_hour,
        opening_hours=read_opening_hours(row.opening_hours),
    )


def _clinic(row: ClinicRow) -> Clinic:
    assert row.id is not None, "a stored clinic has an id"
    return Clinic(
        id=row.id, slug=row.slug, name=row.name, settings=_settings(row), version=row.version
    )


def _policy(row: ClinicPolicyRow) -> StoredPolicy:
    return StoredPolicy(row.version, row.text, row.created_at, row.created_by)
