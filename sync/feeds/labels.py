"""How much of a patient's name a feed shows: full, initials or an id (SPEC §7).

A feed URL may be forwarded or leak; ``CLINIC_SYNC_FEED_PATIENT_LABEL`` decides what
it then gives away. ``id`` shows the clinic's own patient id when there is one, and
otherwise a short hash of the patient key, so no e-mail address or name shows.
"""

from __future__ import annotations

import enum
import hashlib

from rules.model import MatchKind, Patient

__all__ = ["PatientLabel", "patient_label"]

_REFERENCE_CHARS = 8


class PatientLabel(enum.StrEnum):
    """The three levels of disclosure."""

    FULL = "full"
    INITIALS = "initials"
    ID = "id"


def patient_label(patient: Patient, mode: PatientLabel) -> str:
    """What a feed calls ``patient`` under ``mode``."""
    if mode is PatientLabel.FULL:
        return patient.label
    if mode is PatientLabel.INITIALS and patient.name:
        initials = [f"{word[0].upper()}." for word in patient.name.split() if word[:1].isalnum()]
        if initials:
            return " ".join(initials)
    return _reference(patient)


def _reference(patient: Patient) -> str:
    if patient.key.kind is MatchKind.ID:
        return patient.key.value
    digest = hashlib.sha256(str(patient.key).encode()).hexdigest()
    return f"#{digest[:_REFERENCE_CHARS]}"
