"""Small builders for the plain records the rules engine reads."""

from __future__ import annotations

from datetime import date
from functools import cache

from rules.assess import Assessment, Scope, assess
from rules.model import Attendee, Booking, Policy, Rule
from rules.vocabulary import Matcher

TODAY = date(2026, 11, 26)


def booking(
    uid: str,
    day: date | str,
    summary: str,
    *,
    calendar: str = "Dr Smith",
    description: str = "",
    cancelled: bool = False,
    patient_id: str | None = None,
    attendees: tuple[Attendee, ...] = (),
) -> Booking:
    return Booking(
        id=uid,
        uid=uid,
        calendar=calendar,
        day=date.fromisoformat(day) if isinstance(day, str) else day,
        summary=summary,
        description=description,
        cancelled=cancelled,
        attendees=attendees,
        calendar_email="dr.smith@clinic.example",
        organizer_email="dr.smith@clinic.example",
        patient_id=patient_id,
    )


def guest(email: str, response: str = "accepted", **flags: bool) -> Attendee:
    return Attendee(email=email, response=response, **flags)


@cache
def _matcher(policy: Policy) -> Matcher:
    return Matcher(policy)


def run(bookings: list[Booking], policy: Policy, today: date = TODAY) -> Assessment:
    return assess(bookings, policy, Scope(today=today), matcher=_matcher(policy))


def pairs(result: Assessment) -> set[tuple[str, str, str, int]]:
    """Each conflict as (rule, earlier uid, later uid, gap)."""
    return {(c.rule.name, c.earlier.id, c.later.id, c.gap_days) for c in result.conflicts}


def rule(name: str, earlier: str, later: str, min_days: int, ideal: tuple[int, int]) -> Rule:
    return Rule(name=name, earlier=earlier, later=later, min_days=min_days, ideal_days=ideal)
