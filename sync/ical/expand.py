"""One recurring series expanded over the scan window, bounded, each instance with its own id.

Expansion (RRULE, RDATE, EXDATE and RECURRENCE-ID overrides, RFC 5545 §3.8.5) is done by
``recurring-ical-events``. Two things are added around it:

- **Bounds.** An RRULE with no end (``FREQ=SECONDLY``) has tens of millions of instances
  in a scan window, and the rule is walked from its DTSTART. Before expanding, the rule's
  own instances are counted lazily: past :data:`MAX_OCCURRENCES` inside the window the
  series is read up to that instance and a note says so; a rule that needs more than
  :data:`SCAN_BUDGET` instances to reach the window's end is too dense to be a booking
  and is skipped with its reason. Work per series is bounded either way.
- **Identity.** An instance's id is its RECURRENCE-ID: the *original* start of the
  instance (RFC 5545 §3.8.4.4,
  https://icalendar.org/iCalendar-RFC-5545/3-8-4-4-recurrence-id.html). An override with
  ``RANGE=THISANDFUTURE`` applies to "the instance specified by the recurrence identifier
  and all subsequent recurrence instances" (§3.2.13,
  https://icalendar.org/iCalendar-RFC-5545/3-2-13-recurrence-identifier-range.html): each
  later instance takes the override's content, moved by the override's shift, but keeps
  its own identity. The expander hands every such instance the override's RECURRENCE-ID,
  so the original start is found again by taking that shift back off.
- **A single event** (about 99% of a clinic's UIDs: no RRULE, RDATE, EXDATE or
  RECURRENCE-ID, one component) is not handed to the expander, whose series set-up and
  per-occurrence copy cost more than reading the event did. Its one occurrence is the
  event itself, kept when ``recurring-ical-events``' own span test
  (``time_span_contains_event``) says it falls in the window — the test the expander
  applies to it. Only the forms where that is provably the expander's answer take this
  path: both ends dates, or both date-times in one zone (or both floating), in order, no
  DURATION; anything else is expanded as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import islice
from typing import Any

import icalendar
import recurring_ical_events
from dateutil.rrule import rrulestr
from recurring_ical_events.util import time_span_contains_event

from sync.ical.properties import plain_properties

__all__ = [
    "MAX_OCCURRENCES",
    "SCAN_BUDGET",
    "Expansion",
    "expand_series",
    "instance_start",
    "single_occurrence",
]

MAX_OCCURRENCES = 2_000
"""Instances read of one series inside the window (a daily booking over 18 months is 546)."""

SCAN_BUDGET = 50_000
"""Instances of one rule looked at, from its DTSTART, before giving up on it."""

_ENDLESS = ("COUNT", "UNTIL")
_REPEATING = ("RRULE", "RDATE", "EXDATE", "EXRULE", "RECURRENCE-ID", "DURATION")


@dataclass(frozen=True, slots=True)
class Expansion:
    """The occurrences of one series in the window, and why some were left out."""

    occurrences: list[Any]
    note: str | None = None
    """Set when the series was cut at :data:`MAX_OCCURRENCES`."""


class SeriesTooDense(ValueError):
    """A rule repeats too often to be walked to the scan window."""


def expand_series(zones: list[Any], members: list[Any], window: tuple[date, date]) -> Expansion:
    """Every occurrence of one UID's components between the window's first and last day.

    A single event's occurrence is its own component (see the module docstring); an
    expanded one is the expander's copy, its DTEND always set.
    """
    single = single_occurrence(members, window)
    if single is not None:
        return Expansion(single)
    start = datetime.combine(window[0], time())
    stop = datetime.combine(window[1] + timedelta(days=1), time())
    limits = [_limit(member, (start, stop)) for member in members]
    limit = min((found for found in limits if found is not None), default=None, key=_sort_key)
    series = icalendar.Calendar()
    for component in (*zones, *members):
        series.add_component(component)
    query = recurring_ical_events.of(series)
    if limit is None:
        return Expansion(query.between(window[0], window[1] + timedelta(days=1)))
    cut = limit.replace(tzinfo=None)  # the first instance past the cap, itself left out
    note = f"more than {MAX_OCCURRENCES:,} occurrences in the scan window; the first read"
    return Expansion(query.between(start, max(cut, start)), note)


def single_occurrence(members: list[Any], window: tuple[date, date]) -> list[Any] | None:
    """A lone event's occurrences in the window — itself, or none; ``None`` for a series.

    ``None`` also for the forms the expander must read (see the module docstring).
    """
    span = _single_span(members)
    if span is None:
        return None
    inside = time_span_contains_event(window[0], window[1] + timedelta(days=1), *span)
    return members[:1] if inside else []


def _single_span(members: list[Any]) -> tuple[date, date] | None:
    """Start and end of a lone non-recurring event the expander would read as they are."""
    if len(members) != 1:
        return None
    event = members[0]
    fields = plain_properties(event)
    if any(name in fields for name in _REPEATING) or not _alarms_only(event):
        return None
    start = fields["DTSTART"].dt
    if "DTEND" not in fields:
        end = start if isinstance(start, datetime) else start + timedelta(days=1)
        return start, end
    return _ordered(start, fields["DTEND"].dt)


def _ordered(start: date, end: date) -> tuple[date, date] | None:
    """Both ends when they are of one kind (days, or times in one zone) and in order."""
    if isinstance(start, datetime) != isinstance(end, datetime):
        return None
    if isinstance(start, datetime) and start.tzinfo is not getattr(end, "tzinfo", None):
        return None
    return (start, end) if start <= end else None


def _alarms_only(event: Any) -> bool:
    """Whether nothing nested in ``event`` could be read as an event of its own."""
    return all(sub.name == "VALARM" and not sub.subcomponents for sub in event.subcomponents)


def _sort_key(value: datetime | None) -> datetime:
    return datetime.max if value is None else value.replace(tzinfo=None)


def _limit(member: Any, window: tuple[datetime, datetime]) -> datetime | None:
    """Where the instances of ``member``'s rules reach :data:`MAX_OCCURRENCES` in the window."""
    if "RRULE" not in member or "DTSTART" not in member:
        return None
    rules = member["RRULE"] if isinstance(member["RRULE"], list) else [member["RRULE"]]
    first = _as_datetime(member["DTSTART"].dt)
    limits = [_rule_limit(rule, first, window) for rule in rules]
    return min((found for found in limits if found is not None), default=None, key=_sort_key)


def _rule_limit(rule: Any, first: datetime, window: tuple[datetime, datetime]) -> datetime | None:
    count = rule.get("COUNT")
    if count and int(count[0]) <= MAX_OCCURRENCES:
        return None  # a short COUNT bounds the rule by itself
    try:
        instances = rrulestr(_written(rule), dtstart=first)
    except ValueError:  # an UNTIL whose zone dateutil refuses beside this DTSTART
        # The rule without its end is a superset of its instances: a safe bound to count.
        open_rule = icalendar.vRecur({k: v for k, v in rule.items() if k not in _ENDLESS})
        instances = rrulestr(_written(open_rule), dtstart=first)
    span = (window[0].replace(tzinfo=first.tzinfo), window[1].replace(tzinfo=first.tzinfo))
    return _walk(instances, first, span)


def _written(rule: Any) -> str:
    return rule.to_ical().decode("ascii")  # type: ignore[no-any-return]


def _walk(instances: Any, first: datetime, span: tuple[datetime, datetime]) -> datetime | None:
    in_window = 0
    for seen, instance in enumerate(islice(instances, SCAN_BUDGET + 1), start=1):
        if instance >= span[1]:
            return None
        if seen > SCAN_BUDGET:
            raise SeriesTooDense(
                f"the rule repeats more than {SCAN_BUDGET:,} times from {first.date().isoformat()}"
            )
        in_window += instance >= span[0]
        if in_window > MAX_OCCURRENCES:
            return instance  # type: ignore[no-any-return]
    return None  # the rule ended (COUNT or UNTIL) before the window did


def _as_datetime(value: date) -> datetime:
    return value if isinstance(value, datetime) else datetime.combine(value, time())


def instance_start(occurrence: Any, members: list[Any]) -> date | None:
    """The original start (RECURRENCE-ID) of an expanded occurrence; ``None`` for none."""
    if "RECURRENCE-ID" not in occurrence:
        return None
    recurrence = occurrence["RECURRENCE-ID"]
    value: date = recurrence.dt
    if str(recurrence.params.get("RANGE", "")).upper() != "THISANDFUTURE":
        return value
    override = next((m for m in members if _same_recurrence(m, value)), None)
    if override is None:
        return value
    try:
        shift = override["DTSTART"].dt - override["RECURRENCE-ID"].dt
        return occurrence["DTSTART"].dt - shift  # type: ignore[no-any-return]
    except TypeError:  # a date against a date-time, or a floating time against a zoned one
        return occurrence["DTSTART"].dt  # type: ignore[no-any-return]


def _same_recurrence(member: Any, value: date) -> bool:
    return "RECURRENCE-ID" in member and member["RECURRENCE-ID"].dt == value
