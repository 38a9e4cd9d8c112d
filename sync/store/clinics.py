"""Clinics: the tenant every calendar, booking and audit record belongs to (SPEC §2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, select

from sync.store.errors import RecordNotFound
from sync.store.tables import ClinicRow

__all__ = ["Clinic", "get_clinic", "get_or_create_clinic", "list_clinics"]


@dataclass(frozen=True, slots=True)
class Clinic:
    """A clinic as the rest of the service sees it."""

    id: int
    slug: str
    name: str


def get_or_create_clinic(
    session: Session, slug: str, name: str | None = None, *, now: datetime | None = None
) -> Clinic:
    """The clinic called ``slug``, created (named ``name`` or the slug) if it is new."""
    row = session.exec(select(ClinicRow).where(ClinicRow.slug == slug)).first()
    if row is None:
        row = ClinicRow(slug=slug, name=name or slug, created_at=now or datetime.now(UTC))
        session.add(row)
        session.flush()
    return _clinic(row)


def get_clinic(session: Session, slug: str) -> Clinic:
    """The clinic called ``slug``; :class:`RecordNotFound` if there is none."""
    row = session.exec(select(ClinicRow).where(ClinicRow.slug == slug)).first()
    if row is None:
        raise RecordNotFound(f"no clinic with slug {slug!r}")
    return _clinic(row)


def list_clinics(session: Session) -> list[Clinic]:
    """Every clinic, by slug."""
    return [_clinic(row) for row in session.exec(select(ClinicRow).order_by(ClinicRow.slug))]


def _clinic(row: ClinicRow) -> Clinic:
    assert row.id is not None, "a stored clinic has an id"
    return Clinic(id=row.id, slug=row.slug, name=row.name)
