"""When each patient may next have a treatment (SPEC §7).

A day is eligible for a new booking of category C when adding it would break no rule
of the policy given all the patient's bookings: not inside ``min_days`` after any
booking that must precede C, and not inside ``min_days`` before any booking that C
must precede. The blocked days form a few merged intervals per patient; each earlier
booking's "eligible from" day and ideal window are then read off them, so more rules
can split a window in parts.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from rules.model import Eligibility, Policy, Rule
from rules.patients import PatientGroup

__all__ = ["DEFAULT_FEED_HORIZON_DAYS", "find_eligibility"]

DEFAULT_FEED_HORIZON_DAYS = 120

_Span = tuple[int, int]
"""An inclusive range of day ordinals."""


def find_eligibility(
    groups: Iterable[PatientGroup],
    policy: Policy,
    today: date,
    horizon_days: int = DEFAULT_FEED_HORIZON_DAYS,
) -> list[Eligibility]:
    """Eligibility after each earlier-category booking that matters from ``today`` on."""
    window = (today.toordinal(), today.toordinal() + horizon_days)
    later_categories = sorted({rule.later for rule in policy.rules})
    found: list[Eligibility] = []
    for group in groups:
        for category in later_categories:
            blocked = _Blocked.for_category(group, policy, category)
            for rule in policy.rules:
                if rule.later == category:
                    found.extend(_windows(group, rule, blocked, window))
    return found


def _windows(
    group: PatientGroup, rule: Rule, blocked: _Blocked, window: _Span
) -> Iterator[Eligibility]:
    low, high = rule.ideal_days
    for member in group.members:
        if rule.earlier not in member.categories:
            continue
        day = member.booking.day.toordinal()
        start = blocked.first_free(day + rule.min_days)
        ideal = blocked.free_parts((day + low, day + high))
        if start > window[1] or max(start, day + high) < window[0]:
            continue
        yield Eligibility(
            patient=group.patient,
            rule=rule,
            category=rule.later,
            after=member.booking,
            eligible_from=date.fromordinal(start),
            ideal=tuple(_dates(part) for part in _clip(ideal, window)),
        )


@dataclass(frozen=True, slots=True)
class _Blocked:
    """Sorted, merged, inclusive spans of days on which a new booking would conflict."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]

    @classmethod
    def for_category(cls, group: PatientGroup, policy: Policy, category: str) -> _Blocked:
        spans: list[_Span] = []
        for rule in policy.rules:
            if rule.min_days <= 0:
                continue
            for member in group.members:
                day = member.booking.day.toordinal()
                if rule.later == category and rule.earlier in member.categories:
                    spans.append((day, day + rule.min_days - 1))
                if rule.earlier == category and rule.later in member.categories:
                    spans.append((day - rule.min_days + 1, day))
        merged = _merge(sorted(spans))
        return cls(tuple(s for s, _ in merged), tuple(e for _, e in merged))

    def first_free(self, day: int) -> int:
        index = bisect_right(self.starts, day) - 1
        if index >= 0 and self.ends[index] >= day:
            return self.ends[index] + 1
        return day

    def free_parts(self, span: _Span) -> list[_Span]:
        cursor, end = span
        parts: list[_Span] = []
        index = max(bisect_right(self.starts, cursor) - 1, 0)
        while cursor <= end:
            if index < len(self.starts) and self.starts[index] <= cursor:
                cursor = max(cursor, self.ends[index] + 1)
                index += 1
                continue
            stop = end if index >= len(self.starts) else min(end, self.starts[index] - 1)
            parts.append((cursor, stop))
            cursor = stop + 1
        return parts


def _merge(spans: list[_Span]) -> list[_Span]:
    merged: list[_Span] = []
    for start, end in spans:
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _clip(parts: list[_Span], window: _Span) -> Iterator[_Span]:
    for start, end in parts:
        low, high = max(start, window[0]), min(end, window[1])
        if low <= high:
            yield (low, high)


def _dates(span: _Span) -> tuple[date, date]:
    return (date.fromordinal(span[0]), date.fromordinal(span[1]))
