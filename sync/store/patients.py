"""Patients of a clinic, known by the strongest key the bookings gave (SPEC §4)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, col, select

from rules.model import MatchKind, Patient, PatientKey
from sync.store.tables import PatientRow

__all__ = ["list_patients", "save_patient"]


def save_patient(
    session: Session, clinic_id: int, patient: Patient, *, now: datetime | None = None
) -> None:
    """Record ``patient`` under its key, or update the display name of the one already there."""
    query = (
        select(PatientRow)
        .where(col(PatientRow.clinic_id) == clinic_id)
        .where(col(PatientRow.key_kind) == patient.key.kind.value)
        .where(col(PatientRow.key_value) == patient.key.value)
    )
    row = session.exec(query).first()
    if row is None:
        row = PatientRow(
            clinic_id=clinic_id,
            key_kind=patient.key.kind.value,
            key_value=patient.key.value,
            created_at=now or datetime.now(UTC),
        )
        session.add(row)
    row.display_name = patient.name
    session.flush()


def list_patients(session: Session, clinic_id: int) -> list[Patient]:
    """The patients of a clinic, by key."""
    query = (
        select(PatientRow)
        .where(col(PatientRow.clinic_id) == clinic_id)
        .order_by(col(PatientRow.key_kind), col(PatientRow.key_value))
    )
    return [_patient(row) for row in session.exec(query)]


def _patient(row: PatientRow) -> Patient:
    return Patient(key=PatientKey(MatchKind(row.key_kind), row.key_value), name=row.display_name)
