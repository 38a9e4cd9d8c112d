"""Offline audit over calendar exports: the same detection the service runs (SPEC §8).

Reads every export, merges the copies of one event that several calendars hold (a
booking with a room attendee sits on both the practitioner's and the room's calendar
under one UID), and hands the bookings to :func:`rules.assess.assess`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from pathlib import Path

from rules.assess import Assessment, Scope, assess
from rules.model import Booking, Policy, Skip
from rules.patients import IdentityOptions
from sync.errors import ExportError
from sync.ics_export import read_export

__all__ = ["audit_exports", "merge_copies"]


def audit_exports(
    paths: Sequence[Path], policy: Policy, scope: Scope, options: IdentityOptions
) -> Assessment:
    """Assess the bookings of every export; files that cannot be read are skipped with why."""
    window = (
        scope.today - timedelta(days=scope.days_back),
        scope.today + timedelta(days=scope.days_ahead),
    )
    bookings: list[Booking] = []
    skipped: list[Skip] = []
    for path in paths:
        try:
            export = read_export(path, window)
        except ExportError as err:
            skipped.append(Skip(uid="", reason=str(err), calendar=path.name))
            continue
        bookings.extend(export.bookings)
        skipped.extend(export.skipped)
    result = assess(merge_copies(bookings), policy, scope, options=options)
    return Assessment(
        conflicts=result.conflicts,
        eligibility=result.eligibility,
        skipped=skipped + result.skipped,
        patients=result.patients,
    )


def merge_copies(bookings: Iterable[Booking]) -> list[Booking]:
    """One booking per id; of several copies the one on the first calendar by name wins."""
    chosen: dict[str, Booking] = {}
    for booking in bookings:
        kept = chosen.get(booking.id)
        if kept is None or booking.calendar < kept.calendar:
            chosen[booking.id] = booking
    return list(chosen.values())
