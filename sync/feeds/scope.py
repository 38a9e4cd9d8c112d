"""What one feed covers: one patient, one practitioner's calendar, or the whole clinic (SPEC §7).

A patient is named by a key as the rules engine writes it (``id:P-17``,
``email:anna@example.com``, ``name:doe jane``, SPEC §4); a calendar by the id of its
calendar source in the store. Keys are normalised the way the engine compares them, so
``email:Anna@Example.com`` and ``name:Jane Doe`` find their patient.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from rules.model import MatchKind, PatientKey
from rules.patients import name_key
from sync.errors import InputError

__all__ = ["FeedScope", "ScopeKind", "parse_patient_key"]


class ScopeKind(enum.StrEnum):
    """Whose eligible dates a feed lists."""

    PATIENT = "patient"
    CALENDAR = "calendar"
    CLINIC = "clinic"


@dataclass(frozen=True, slots=True)
class FeedScope:
    """A feed's scope: ``value`` is a patient key, a calendar source id, or empty (clinic)."""

    kind: ScopeKind
    value: str = ""

    def __str__(self) -> str:
        return self.kind.value if not self.value else f"{self.kind.value} {self.value}"

    @property
    def patient_key(self) -> PatientKey:
        """The patient key of a patient scope."""
        return parse_patient_key(self.value)

    @property
    def source_id(self) -> int:
        """The calendar source id of a calendar scope."""
        return int(self.value)


def parse_patient_key(text: str) -> PatientKey:
    """``kind:value`` → a normalised :class:`PatientKey`; :class:`InputError` when malformed."""
    kind, separator, value = text.partition(":")
    value = value.strip()
    try:
        match = MatchKind(kind.strip().casefold())
    except ValueError:
        match = None
    if not separator or match is None or not value:
        raise InputError(f"patient key {text!r} must be id:VALUE, email:ADDRESS or name:FULL NAME")
    if match is MatchKind.EMAIL:
        value = value.casefold()
    elif match is MatchKind.NAME:
        value = name_key(value)
    return PatientKey(match, value)
