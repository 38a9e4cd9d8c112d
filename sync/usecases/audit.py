"""Offline audit over calendar exports: the same detection the service runs (SPEC §8).

Reads every export, merges the copies of one event that several calendars hold (a
booking with a room attendee sits on both the practitioner's and the room's calendar
under one UID), and hands the bookings to :func:`rules.assess.assess`.

Every export is the clinic's, so the own address of any of its calendars (a Google
primary calendar's e-mail) names no patient on any of them. A file that is missing or
cannot be opened is an input error (exit 2, as the README promises); a file that opens
but holds no calendar is skipped with why and the rest audited.

Files are read one at a time, each into its bookings before the next is opened: a
file's parsed components are the bulk of the memory reading costs, and only the
bookings are kept. With more than one core, files are read in parallel worker
processes. A calendar learns the other calendars' own addresses only once every file
is read, so each file's attendees are marked against its own addresses first and then
against the clinic's (:func:`mark_clinic_addresses`), which is what reading with the
clinic's addresses known up front gives.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar

from rules.assess import Assessment, Scope, assess
from rules.model import Booking, Policy, Skip
from rules.patients import IdentityOptions
from sync.errors import ExportError
from sync.usecases.ics_export import CalendarExport, bookings_of, export_bytes, parse_file

__all__ = [
    "AuditReport",
    "audit_exports",
    "mark_clinic_addresses",
    "merge_copies",
    "read_exports",
    "reading_workers",
]


@dataclass(frozen=True, slots=True)
class AuditReport:
    """The assessment of every export, and the events read with a repair (a cut field…)."""

    assessment: Assessment
    notes: list[Skip]


def audit_exports(
    paths: Sequence[Path],
    policy: Policy,
    scope: Scope,
    options: IdentityOptions,
    workers: int | None = None,
) -> AuditReport:
    """Assess every export's bookings; :class:`ExportError` when a file cannot be opened.

    ``workers`` processes read the files (``None``: :func:`reading_workers`; 1: this one).
    """
    window = (
        scope.today - timedelta(days=scope.days_back),
        scope.today + timedelta(days=scope.days_ahead),
    )
    exports, skipped = read_exports(paths, window, workers)
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
    paths: Sequence[Path], window: tuple[date, date], workers: int | None = None
) -> tuple[list[CalendarExport], list[Skip]]:
    """Every export's bookings, each calendar knowing every other calendar's own addresses."""
    exports: list[CalendarExport] = []
    skipped: list[Skip] = []
    clinic: set[str] = set()
    for export, own, skip in _read_each(paths, window, workers):
        if export is not None:
            exports.append(export)
            clinic |= own
        skipped.extend(skip)
    # Files repeat one another's titles, days and guests (a patient seen by two
    # practitioners): held once across files too, each file's copies let go in turn.
    seen: dict[object, object] = {}
    for number, export in enumerate(exports):
        marked = mark_clinic_addresses(export, frozenset(clinic))
        bookings = _shared_values(marked.bookings, seen)
        exports[number] = CalendarExport(marked.name, bookings, marked.skipped, marked.notes)
    return exports, skipped


def reading_workers(files: int) -> int:
    """Processes to read ``files`` exports with: one per core this process may use, at most."""
    return max(1, min(files, len(os.sched_getaffinity(0))))


def mark_clinic_addresses(export: CalendarExport, clinic: frozenset[str]) -> CalendarExport:
    """``export`` with every attendee whose address is one of the clinic's marked as such."""
    bookings = [_marked(booking, clinic) for booking in export.bookings]
    return CalendarExport(export.name, bookings, export.skipped, export.notes)


def _marked(booking: Booking, clinic: frozenset[str]) -> Booking:
    if all(a.is_self or a.email not in clinic for a in booking.attendees):
        return booking
    attendees = tuple(
        replace(a, is_self=True) if a.email in clinic else a for a in booking.attendees
    )
    return replace(booking, attendees=attendees)


_Value = TypeVar("_Value")
_Read = tuple[CalendarExport | None, frozenset[str], list[Skip]]


def _read_each(
    paths: Sequence[Path], window: tuple[date, date], workers: int | None
) -> Iterator[_Read]:
    """Each file's bookings (or why it holds none) and its own addresses, in ``paths`` order."""
    count = reading_workers(len(paths)) if workers is None else workers
    if count <= 1:
        yield from (_read_one(path, window) for path in paths)
        return
    # Forked workers start with what this process has imported: no second start-up to pay.
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(count, mp_context=context) as pool:
        yield from pool.map(_read_one, paths, [window] * len(paths))


def _read_one(path: Path, window: tuple[date, date]) -> _Read:
    """One export's bookings, its attendees marked against its own addresses only."""
    data = export_bytes(path)
    try:
        export = parse_file(data, path.name, default_name=path.stem)
    except ExportError as err:
        return None, frozenset(), [Skip(uid="", reason=str(err), calendar=path.name)]
    read = bookings_of(export, window)
    bookings = _shared_values(read.bookings)
    return CalendarExport(read.name, bookings, read.skipped, read.notes), export.own_addresses, []


def _shared_values(
    bookings: list[Booking], seen: dict[object, object] | None = None
) -> list[Booking]:
    """``bookings`` with equal days, texts and attendees held once (one object each).

    A calendar's bookings repeat their organizer, description, days and guests; read
    from the file each is a new object, and pickling keeps them apart. Made one object,
    each costs a reference a booking (about 560 → 330 bytes a booking at 100k).
    ``seen`` holds the values already shared (by default, none).
    """
    seen = {} if seen is None else seen

    def one(value: _Value) -> _Value:
        return seen.setdefault(value, value)  # type: ignore[return-value]

    return [
        replace(
            booking,
            day=one(booking.day),
            summary=one(booking.summary),
            description=one(booking.description),
            organizer_email=one(booking.organizer_email),
            attendees=one(tuple(one(a) for a in booking.attendees)),
        )
        for booking in bookings
    ]


def merge_copies(bookings: Iterable[Booking]) -> list[Booking]:
    """One booking per id; of several copies the one on the first calendar by name wins."""
    chosen: dict[str, Booking] = {}
    for booking in bookings:
        kept = chosen.get(booking.id)
        if kept is None or booking.calendar < kept.calendar:
            chosen[booking.id] = booking
    return list(chosen.values())
