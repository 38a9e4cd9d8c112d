"""Offline audit over calendar exports: the same detection the service runs (SPEC §8).

Reads every export, merges the copies of one event that several calendars hold (a
booking with a room attendee sits on both the practitioner's and the room's calendar
under one UID), and hands the bookings to :func:`rules.assess.assess`.

Every export is the clinic's, so the own address of any of its calendars (a Google
primary calendar's e-mail) names no patient on any of them. A file that is missing or
cannot be opened is an input error (exit 2, as the README promises); a file that opens
but holds no calendar is skipped with why and the rest audited.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from rules.assess import Assessment, Scope, assess
from rules.model import Booking, Policy, Skip
from rules.patients import IdentityOptions
from sync.errors import ExportError
from sync.usecases.ics_export import (
    CalendarExport,
    ExportFile,
    bookings_of,
    export_bytes,
    parse_file,
)

__all__ = ["AuditReport", "audit_exports", "merge_copies", "read_exports"]


@dataclass(frozen=True, slots=True)
class AuditReport:
    """The assessment of every export, and the events read with a repair (a cut field…)."""

    assessment: Assessment
    notes: list[Skip]


def audit_exports(
    paths: Sequence[Path], policy: Policy, scope: Scope, options: IdentityOptions
) -> AuditReport:
    """Assess every export's bookings; :class:`ExportError` when a file cannot be opened."""
    window = (
        scope.today - timedelta(days=scope.days_back),
        scope.today + timedelta(days=scope.days_ahead),
    )
    exports, skipped = read_exports(paths, window)
    bookings = [booking for export in exports for booking in export.bookings]
    for export in exports:
        skipped.extend(export.skipped)
    result = assess(merge_copies(bookings), policy, scope, options=options)
    assessment = Assessment(
        conflicts=result.conflicts,
        eligibility=result.eligibility,
        skipped=skipped + result.skipped,
        patients=result.patients,
        ambiguous_names=result.ambiguous_names,
    )
    return AuditReport(assessment, [note for export in exports for note in export.notes])


def read_exports(
    paths: Sequence[Path], window: tuple[date, date]
) -> tuple[list[CalendarExport], list[Skip]]:
    """Every export's bookings, each calendar knowing every other calendar's own addresses."""
    files: list[ExportFile] = []
    skipped: list[Skip] = []
    for path in paths:
        data = export_bytes(path)
        try:
            files.append(parse_file(data, path.name, default_name=path.stem))
        except ExportError as err:
            skipped.append(Skip(uid="", reason=str(err), calendar=path.name))
    clinic = frozenset().union(*(export.own_addresses for export in files))
    return [bookings_of(export, window, clinic) for export in files], skipped


def merge_copies(bookings: Iterable[Booking]) -> list[Booking]:
    """One booking per id; of several copies the one on the first calendar by name wins."""
    chosen: dict[str, Booking] = {}
    for booking in bookings:
        kept = chosen.get(booking.id)
        if kept is None or booking.calendar < kept.calendar:
            chosen[booking.id] = booking
    return list(chosen.values())
