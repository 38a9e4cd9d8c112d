"""A practitioner's or the clinic's feed: one event per patient per stretch of days (SPEC §7).

A patient's own feed shows each eligibility as the engine gives it: "Eligible from"
on the first day and the ideal window as a bar. A feed of many patients drawn that way
stacks two or three overlapping bars per patient (the first eligible day is also the
ideal window's first day; a second microneedling adds its own pair), 9 to 11 on a busy
day. Here each patient's days — first eligible days and ideal windows alike, of every
treatment — are merged where they overlap or touch, and each merged stretch becomes one
all-day event spanning it (``DTEND`` exclusive, RFC 5545 §3.6.1). A subscriber's
calendar then shows one bar per patient, and its text says what the days are: when the
patient may have the treatment from, and the ideal window.

Chosen over one event per patient per day: a month view shows one bar where a daily
event would repeat the same line up to fifteen times a patient, and a changed window
changes one event, not fifteen. The UID hashes the patient key and the first booking
behind the stretch (and which of that booking's stretches it is, when other bookings split
its window), so it stays while that booking does and carries no name.

Pure: eligibility records in, :class:`~sync.feeds.events.FeedEvent` records out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import groupby

from rules.model import Eligibility, PatientKey, Policy
from sync.feeds.events import FeedEvent, clean_text, uid_of

__all__ = ["DaySpan", "merge_spans", "merged_events"]

_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class DaySpan:
    """Days ``start`` (inclusive) to ``end`` (exclusive), and the eligibilities behind them."""

    start: date
    end: date
    items: tuple[Eligibility, ...]


def merge_spans(spans: Iterable[DaySpan]) -> list[DaySpan]:
    """``spans`` merged where they overlap or touch, by start day."""
    merged: list[DaySpan] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        last = merged[-1] if merged else None
        if last is not None and span.start <= last.end:
            items = last.items + tuple(i for i in span.items if i not in last.items)
            merged[-1] = DaySpan(last.start, max(last.end, span.end), items)
        else:
            merged.append(span)
    return merged


def merged_events(
    eligibility: Iterable[Eligibility],
    policy: Policy,
    *,
    namespace: str,
    labels: Mapping[PatientKey, str],
    stamps: Mapping[PatientKey, datetime],
    floor: datetime,
) -> list[FeedEvent]:
    """One event per patient per merged stretch of days, by start day then UID."""
    events: list[FeedEvent] = []
    by_patient = sorted(eligibility, key=lambda e: str(e.patient.key))
    for key, group in groupby(by_patient, key=lambda e: e.patient.key):
        who = clean_text(labels.get(key) or key.value)
        stamp = stamps.get(key, floor)
        parts: dict[str, int] = {}
        for span in merge_spans(_spans(group)):
            first = _first(span)
            part = parts[first.after.id] = parts.get(first.after.id, -1) + 1
            uid = uid_of(namespace, str(key), "stretch", first.after.id, str(part))
            events.append(_event(span, policy, uid, who, stamp))
    return sorted(events, key=lambda event: (event.start, event.end, event.uid))


def _spans(items: Iterable[Eligibility]) -> Iterable[DaySpan]:
    for item in items:
        yield DaySpan(item.eligible_from, item.eligible_from + _DAY, (item,))
        for low, high in item.ideal:
            yield DaySpan(low, high + _DAY, (item,))


def _first(span: DaySpan) -> Eligibility:
    return min(span.items, key=lambda e: (e.after.day, e.after.id, e.rule.name))


def _event(span: DaySpan, policy: Policy, uid: str, who: str, stamp: datetime) -> FeedEvent:
    items = sorted(span.items, key=lambda e: (e.after.day, e.after.id, e.rule.name))
    treatments = ", ".join(dict.fromkeys(_treatment(policy, i.category) for i in items))
    lines = [f"Patient: {who}", *dict.fromkeys(_line(policy, item) for item in items)]
    return FeedEvent(
        uid=uid,
        start=span.start,
        end=span.end,
        summary=f"{treatments}: {who}",
        description="\n".join(lines),
        stamp=stamp,
    )


def _treatment(policy: Policy, category: str) -> str:
    return clean_text(policy.category(category).label)


def _line(policy: Policy, item: Eligibility) -> str:
    """What one eligibility says: from when, the ideal window, and the booking behind it."""
    earlier = _treatment(policy, item.rule.earlier)
    ideal = "; ".join(f"{low.isoformat()} to {high.isoformat()}" for low, high in item.ideal)
    after = f"after {earlier} on {item.after.day.isoformat()} ({clean_text(item.after.calendar)})"
    window = f", ideally {ideal}" if ideal else ""
    later = _treatment(policy, item.category)
    return f"{later} from {item.eligible_from.isoformat()}{window} ({after})."
