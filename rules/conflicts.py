"""Which bookings break a spacing rule (SPEC §5).

For every rule and every booking of the rule's ``later`` category, the conflicting
``earlier`` bookings are those of the same patient whose day lies in the
``min_days`` before it, the same day included: ``0 <= gap < min_days``. A patient's
bookings arrive sorted by day (see :mod:`rules.patients`), so each rule costs one
pass plus a binary search per later booking — no all-pairs loop.

A booking holding both categories of a rule ("Microneedling + Botox") conflicts with
itself at gap 0. For a rule whose two categories are the same, a booking is never
paired with itself and each pair is reported once, earliest first.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator

from rules.model import Conflict, Policy, Rule
from rules.patients import PatientGroup, ReadBooking, link_strength

__all__ = ["detect_conflicts"]


def detect_conflicts(groups: Iterable[PatientGroup], policy: Policy) -> list[Conflict]:
    """Every conflict of every rule among each patient's bookings, in a stable order."""
    found: list[Conflict] = []
    for group in groups:
        for rule in policy.rules:
            found.extend(_conflicts_of_rule(group, rule))
    return found


def _conflicts_of_rule(group: PatientGroup, rule: Rule) -> Iterator[Conflict]:
    earlier = [m for m in group.members if rule.earlier in m.categories]
    if not earlier:
        return
    days = [m.booking.day.toordinal() for m in earlier]
    for later in group.members:
        if rule.later not in later.categories:
            continue
        day = later.booking.day.toordinal()
        low = bisect_left(days, day - rule.min_days + 1)
        high = bisect_right(days, day)
        for candidate in earlier[low:high]:
            if _counts(rule, candidate, later):
                yield Conflict(
                    rule=rule,
                    patient=group.patient,
                    match=link_strength(candidate.identity, later.identity),
                    earlier=candidate.booking,
                    later=later.booking,
                )


def _counts(rule: Rule, earlier: ReadBooking, later: ReadBooking) -> bool:
    if rule.earlier != rule.later:
        return True
    # Same category on both sides: pair each two bookings once, in sorted order.
    first, second = earlier.booking, later.booking
    return (first.day, first.id) < (second.day, second.id)
