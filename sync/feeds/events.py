"""The events of an eligibility feed, decided from the rules engine's output (SPEC §7).

Pure: eligibility records in, :class:`FeedEvent` records out. For each earlier booking
(a microneedling) the engine gives the first eligible day and the free parts of the
ideal window; each becomes an all-day event — "Eligible for Botox from DATE" on that
day, "Ideal window for Botox" spanning the window (``DTEND`` exclusive, RFC 5545
§3.6.1). Events that coincide for one patient (two microneedlings giving the same
day) are published once.

A UID is a hash of (clinic, patient key, rule, source booking id, kind, part): stable
while the booking exists, unique, and free of the patient's name (RFC 5545 §3.8.4.7).
``stamp`` (the ``DTSTAMP``) is the last change of the patient's bookings, never the
wall clock, so unchanged data renders to the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from rules.model import Eligibility, PatientKey, Policy
from rules.patients import PatientGroup

__all__ = ["FeedEvent", "clean_text", "feed_events", "patient_stamps", "uid_of"]

_UID_DOMAIN = "clinic-sync"
_UID_HEX = 32
_LINE_BREAKS = str.maketrans({"\r": "\n", "\u2028": "\n", "\u2029": "\n", "\x85": "\n"})
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # Unicode Cc but TAB and LF


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """One all-day event: ``start`` inclusive, ``end`` exclusive."""

    uid: str
    start: date
    end: date
    summary: str
    description: str
    stamp: datetime

    @property
    def content_hash(self) -> str:
        """What a subscriber sees, hashed; ``DTSTAMP`` and ``SEQUENCE`` left out."""
        fields = [self.uid, self.start.isoformat(), self.end.isoformat()]
        text = json.dumps([*fields, self.summary, self.description], ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()


def patient_stamps(
    groups: Iterable[PatientGroup], changed: Mapping[str, datetime], floor: datetime
) -> dict[PatientKey, datetime]:
    """The latest change of each patient's bookings (``floor`` when none is known)."""
    stamps: dict[PatientKey, datetime] = {}
    for group in groups:
        times = [changed[m.booking.id] for m in group.members if m.booking.id in changed]
        stamps[group.patient.key] = max(times, default=floor)
    return stamps


def feed_events(
    eligibility: Iterable[Eligibility],
    policy: Policy,
    *,
    namespace: str,
    labels: Mapping[PatientKey, str],
    stamps: Mapping[PatientKey, datetime],
    floor: datetime,
) -> list[FeedEvent]:
    """A patient's feed: each eligibility's events, deduplicated, by start day then UID."""
    seen: dict[tuple[object, ...], FeedEvent] = {}
    for item in _ordered(eligibility):
        stamp = stamps.get(item.patient.key, floor)
        who = clean_text(labels.get(item.patient.key) or item.patient.label)
        for key, event in _events_of(item, policy, namespace, who, stamp):
            seen.setdefault(key, event)
    return sorted(seen.values(), key=lambda event: (event.start, event.end, event.uid))


def _ordered(eligibility: Iterable[Eligibility]) -> list[Eligibility]:
    return sorted(eligibility, key=lambda e: (e.after.day, e.after.id, e.rule.name))


def _events_of(
    item: Eligibility, policy: Policy, namespace: str, who: str, stamp: datetime
) -> Iterable[tuple[tuple[object, ...], FeedEvent]]:
    treatment = clean_text(policy.category(item.category).label)
    about = _description(item, policy, who)
    patient = (item.patient.key, item.category)
    day = item.eligible_from
    yield (
        (*patient, "from", day),
        FeedEvent(
            uid=_uid(namespace, item, "from", 0),
            start=day,
            end=day + timedelta(days=1),
            summary=f"Eligible for {treatment} from {day.isoformat()} ({who})",
            description=about,
            stamp=stamp,
        ),
    )
    for part, (low, high) in enumerate(item.ideal):
        yield (
            (*patient, "ideal", low, high),
            FeedEvent(
                uid=_uid(namespace, item, "ideal", part),
                start=low,
                end=high + timedelta(days=1),
                summary=f"Ideal window for {treatment} ({who})",
                description=about,
                stamp=stamp,
            ),
        )


def _description(item: Eligibility, policy: Policy, who: str) -> str:
    rule = item.rule
    earlier = clean_text(policy.category(rule.earlier).label)
    later = clean_text(policy.category(rule.later).label)
    low, high = rule.ideal_days
    why = clean_text(rule.description) or (
        f"{later} at least {rule.min_days} days after {earlier}, ideally {low}-{high} days."
    )
    after = f"After {earlier} on {item.after.day.isoformat()} ({clean_text(item.after.calendar)})."
    return f"Patient: {who}\n{after}\n{why}"


def _uid(namespace: str, item: Eligibility, kind: str, part: int) -> str:
    return uid_of(namespace, str(item.patient.key), item.rule.name, item.after.id, kind, str(part))


def uid_of(*parts: str) -> str:
    """A UID from its parts: a hash, so it carries no name (RFC 5545 §3.8.4.7)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return f"{digest[:_UID_HEX]}@{_UID_DOMAIN}"


def clean_text(text: str) -> str:
    """Calendar text made safe to publish: one kind of line break, no control characters.

    The ``icalendar`` library escapes ``\\n``, ``;``, ``,`` and ``\\``; RFC 5545 §3.3.11
    forbids the other control characters in TEXT, so they become U+FFFD.
    """
    return _CONTROL.sub("\ufffd", text.replace("\r\n", "\n").translate(_LINE_BREAKS))
