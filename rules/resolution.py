"""Why a conflict went away (SPEC §5: a conflict resolves when either booking is moved,
cancelled or deleted, or its text no longer matches).

The audit trail records the reason in plain words; this module finds it from the two
bookings as they are now. Pure: the worker passes what it read, nothing is looked up.
"""

from __future__ import annotations

from rules.model import Rule
from rules.patients import ReadBooking, patients_declined

__all__ = ["resolution_reason"]


def resolution_reason(
    rule: Rule,
    earlier: ReadBooking | None,
    later: ReadBooking | None,
    *,
    same_patient: bool,
) -> str:
    """The first reason, in the order a person would check, that the pair no longer conflicts.

    ``None`` for a booking means it is gone from the calendar (deleted).
    """
    if earlier is None or later is None:
        return f"{'earlier' if earlier is None else 'later'} booking deleted"
    for side, read in (("earlier", earlier), ("later", later)):
        gone = _gone(side, read)
        if gone:
            return gone
    if rule.earlier not in earlier.categories:
        return f"earlier booking no longer reads as {rule.earlier} (retitled)"
    if rule.later not in later.categories:
        return f"later booking no longer reads as {rule.later} (retitled)"
    if not same_patient:
        return "the two bookings are no longer the same patient"
    return _moved(rule, (later.booking.day - earlier.booking.day).days)


def _moved(rule: Rule, gap: int) -> str:
    if gap >= rule.min_days:
        return f"moved: the gap is now {gap} days (minimum {rule.min_days})"
    if gap < 0:
        return f"moved: the later booking is now {-gap} days before the earlier one"
    return "no longer detected"


def _gone(side: str, read: ReadBooking) -> str | None:
    if read.booking.cancelled:
        return f"{side} booking cancelled"
    if patients_declined(read.booking, read.identity):
        return f"{side} booking declined by the patient"
    return None
