"""What a notification says, read once from the audit record it tells of (SPEC §6, §7, §8).

The facts are fixed when the delivery is planned and kept with it, so a retry sends the
same text. A conflict's facts carry the free slots to rebook on that its flag names
(:func:`sync.usecases.safe_date.stored_safe_date`): ``slots`` is ``None`` when the
calendar's free/busy could not be read, and absent when the flag names none.
A conflict's patient appears only as the clinic's ``feed_patient_label`` shows
patients (full name, initials or an id, :mod:`sync.feeds.labels`); nothing else of the
booking's text (its title, its description) is copied.

Told of (the ``kind`` of the facts):

- ``conflict``: ``flag.written`` for a booking that has not started yet;
- ``conflict_resolved``: ``conflict.resolved`` of a conflict that was flagged — told only in
  the daily digest, so a digest lists what was resolved since the last one;
- ``calendar_failing``: ``calendar.sync_failing`` (:mod:`sync.notify.episodes`);
- ``grant_reconnect``: ``grant.reconnect_required`` (:mod:`sync.notify.episodes`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from rules.model import MatchKind, Patient, PatientKey, Rule
from sync.clinics.profile import ClinicProfile
from sync.feeds.labels import PatientLabel, patient_label
from sync.store.audit import AuditEvent
from sync.store.feeds import feed_label_key
from sync.store.tables import BookingRow, CalendarSourceRow, ConflictRow, PatientRow
from sync.usecases.safe_date import stored_safe_date

__all__ = ["CALENDAR_FAILING", "DIGEST_ONLY", "GRANT_RECONNECT", "TOLD_ACTIONS", "facts_of"]

Facts = dict[str, Any]
Titles = Callable[[str], tuple[str | None, str | None]]
"""Reads a title: the patient's name as written, and as names compare."""

CALENDAR_FAILING = "calendar.sync_failing"
GRANT_RECONNECT = "grant.reconnect_required"
RESOLVED = "conflict.resolved"
TOLD_ACTIONS = frozenset({"flag.written", RESOLVED, CALENDAR_FAILING, GRANT_RECONNECT})
"""The audit actions that may become notifications; every other record is passed over."""
DIGEST_ONLY = frozenset({"conflict_resolved"})
"""Kinds told in a daily digest only: news for the day's summary, not for an alert."""


def facts_of(
    session: Session,
    profile: ClinicProfile,
    event: AuditEvent,
    *,
    titles: Titles,
    public_url: str,
    now: datetime,
) -> Facts | None:
    """What to tell of ``event``; ``None`` when it is nothing to tell (anymore).

    ``titles`` reads the patient's name from the booking's title, as detection did
    (:class:`rules.patients.TitleNames`).
    """
    if event.action == "flag.written":
        return _conflict(session, profile, event, (titles, public_url), now)
    if event.action == RESOLVED:
        return _resolved(session, profile, event, public_url)
    if event.action == CALENDAR_FAILING:
        return {"kind": "calendar_failing", **_clinic(profile, public_url), **event.detail}
    if event.action == GRANT_RECONNECT:
        return {"kind": "grant_reconnect", **_clinic(profile, public_url), **event.detail}
    return None


def _clinic(profile: ClinicProfile, public_url: str) -> Facts:
    return {"clinic": profile.name, "link": f"{public_url}/admin/health"}


def _conflict(
    session: Session,
    profile: ClinicProfile,
    event: AuditEvent,
    reading: tuple[Titles, str],
    now: datetime,
) -> Facts | None:
    titles, public_url = reading
    row = session.get(ConflictRow, event.conflict_id) if event.conflict_id else None
    if row is None or row.public_id is None:
        return None
    later, earlier = (
        session.get(BookingRow, row.later_booking_id),
        session.get(BookingRow, row.earlier_booking_id),
    )
    if later is None or earlier is None or later.start_at <= now:
        return None  # the appointment has begun: a warning now would come too late
    rule = _rule(profile, row.rule_name)
    source = session.get(CalendarSourceRow, later.source_id)
    start = later.start_at.astimezone(profile.zone)
    return {
        "kind": "conflict",
        "clinic": profile.name,
        "conflict": row.public_id,
        "rule": row.rule_name,
        "rule_text": rule.description if rule else "",
        "treatment": _treatment(profile, rule.later if rule else ""),
        "earlier_treatment": _treatment(profile, rule.earlier if rule else ""),
        "min_days": rule.min_days if rule else None,
        "gap_days": row.gap_days,
        "earliest": (earlier.day + timedelta(days=rule.min_days)).isoformat() if rule else None,
        "patient": _patient(session, profile, row, titles(later.summary)[0]),
        "starts": start.isoformat(),
        "date": start.strftime("%a %d %b %Y, %H:%M"),
        "calendar": source.display_name if source else later.calendar,
        "calendar_id": source.external_id if source else later.calendar,
        "link": f"{public_url}/admin/conflicts/{row.public_id}",
        **_safe_date(session, profile, row),
    }


def _safe_date(session: Session, profile: ClinicProfile, row: ConflictRow) -> Facts:
    """The free slots to rebook on, as the booking's flag names them (SPEC §6)."""
    safe = stored_safe_date(session, row.later_booking_id, row.public_id or "", profile.zone)
    if safe is None:
        return {}
    return {
        "slots_from": safe.first_day.isoformat(),
        "slots_to": safe.last_day.isoformat(),
        "slots": [slot.strftime("%a %d %b %Y, %H:%M") for slot in safe.slots]
        if safe.known
        else None,
    }


def _resolved(
    session: Session, profile: ClinicProfile, event: AuditEvent, public_url: str
) -> Facts | None:
    row = session.get(ConflictRow, event.conflict_id) if event.conflict_id else None
    if row is None or row.public_id is None or row.flagged_at is None:
        return None  # never flagged: nobody was told of it, so nobody is told it is over
    later = session.get(BookingRow, row.later_booking_id)
    rule = _rule(profile, row.rule_name)
    source = session.get(CalendarSourceRow, later.source_id) if later else None
    start = later.start_at.astimezone(profile.zone) if later else None
    return {
        "kind": "conflict_resolved",
        "clinic": profile.name,
        "conflict": row.public_id,
        "treatment": _treatment(profile, rule.later if rule else ""),
        "date": start.strftime("%a %d %b %Y, %H:%M") if start else "",
        "calendar": source.display_name if source else (later.calendar if later else ""),
        "reason": str(event.detail.get("reason", "")),
        "link": f"{public_url}/admin/conflicts/{row.public_id}",
    }


def _rule(profile: ClinicProfile, name: str) -> Rule | None:
    return next((rule for rule in profile.policy.rules if rule.name == name), None)


def _treatment(profile: ClinicProfile, category: str) -> str:
    found = next((c for c in profile.policy.categories if c.name == category), None)
    return found.label if found else category


def _patient(
    session: Session, profile: ClinicProfile, row: ConflictRow, written: str | None
) -> str:
    query = select(col(PatientRow.display_name)).where(
        col(PatientRow.clinic_id) == row.clinic_id,
        col(PatientRow.key_kind) == row.patient_kind,
        col(PatientRow.key_value) == row.patient_value,
    )
    name = session.exec(query).first() or written
    patient = Patient(PatientKey(MatchKind(row.patient_kind), row.patient_value), name)
    mode = PatientLabel(profile.settings.feed_patient_label)
    key = feed_label_key(session, row.clinic_id) if mode is PatientLabel.INITIALS_TAG else None
    return patient_label(patient, mode, key=key)
