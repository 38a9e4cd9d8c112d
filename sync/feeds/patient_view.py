"""One patient's eligibility, read from that patient's bookings only (SPEC §4, §7).

A patient's feed must not cost a whole clinic's assessment. The bookings that decide a
patient's group are those carrying the feed's key and everything they reach through
shared ids, e-mails and names — exactly the *reach* detection computes after a change
(:mod:`sync.usecases.affected`), from the indexed identity keys, with the names that
identified patients outside it share passed on as ambiguous. Assessing that reach
groups the patient as over the clinic, so the feed is the same, at a cost that follows
the patient, not the clinic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from rules.assess import Assessment, Scope
from rules.model import PatientKey, Policy
from sync.store.conflicts import copies_by_row
from sync.store.feeds import row_change_times
from sync.store.identity_keys import rows_with_keys
from sync.usecases.affected import Changes, reach
from sync.usecases.detect import detect
from sync.usecases.pull import BookingReader

__all__ = ["PatientView", "patient_view"]


@dataclass(frozen=True, slots=True)
class PatientView:
    """The assessment of the bookings a patient key reaches, and when each last changed."""

    assessment: Assessment
    changed: dict[str, datetime]
    """Last change of each booking read, by provider event id."""


def patient_view(
    session: Session,
    clinic_id: int,
    key: PatientKey,
    *,
    policy: Policy,
    reader: BookingReader,
    scope: Scope,
) -> PatientView:
    """What the clinic knows of the patient ``key`` names, read from their reach alone."""
    carriers = rows_with_keys(session, clinic_id, [key])
    events = {copy.booking.id for copy in copies_by_row(session, carriers).values()}
    reached = reach(session, clinic_id, Changes(tuple(sorted(events))), reader, scope)
    copies = copies_by_row(session, reached.rows).values()
    detection = detect(copies, policy, reader, scope, ambiguous=reached.ambiguous)
    return PatientView(detection.assessment, row_change_times(session, reached.rows))
