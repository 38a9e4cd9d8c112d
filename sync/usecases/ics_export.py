"""Read iCalendar exports (.ics) into bookings (SPEC §4, §5, §8 ``clinic-sync audit``).

One file is one calendar: ``X-WR-CALNAME`` names it (else the file name), and days are
taken in ``X-WR-TIMEZONE`` when the file has one, else in each event's own zone
(floating times as written). The data is read by :mod:`sync.ical.mapping`, the reader
CalDAV and .ics subscriptions share, so an export reads exactly as the same calendar
would read live. An event that cannot be read is skipped with its reason, an event read
with a repair carries a note; a file that is not iCalendar at all, or that cannot be
opened, raises :class:`~sync.errors.ExportError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rules.model import Booking, Skip
from sync.errors import ExportError
from sync.ical.document import CalendarDocument, MalformedCalendar, read_document
from sync.ical.mapping import CalendarView, own_addresses, read_events
from sync.ical.properties import PATIENT_ID_PROPERTY, text

__all__ = [
    "PATIENT_ID_PROPERTY",
    "CalendarExport",
    "ExportFile",
    "bookings_of",
    "export_bytes",
    "parse_export",
    "parse_file",
    "read_export",
]


@dataclass(frozen=True, slots=True)
class CalendarExport:
    """The bookings of one exported calendar, what could not be read, and what was repaired."""

    name: str
    bookings: list[Booking]
    skipped: list[Skip]
    notes: list[Skip]


@dataclass(frozen=True, slots=True)
class ExportFile:
    """One export's data, read into components but not yet into bookings."""

    document: CalendarDocument
    name: str

    @property
    def own_addresses(self) -> frozenset[str]:
        """The addresses the calendar names as its own (see :func:`own_addresses`)."""
        return own_addresses(self.document)


def export_bytes(path: Path) -> bytes:
    """The bytes of one .ics file; :class:`ExportError` when it is missing or cannot be opened."""
    try:
        return path.read_bytes()
    except OSError as err:
        raise ExportError(f"{path}: cannot be read ({err.strerror or err})") from err


def parse_file(data: bytes, source: str, default_name: str = "") -> ExportFile:
    """The components of one export's bytes; ``source`` names it in errors."""
    try:
        document = read_document(data, source)
    except MalformedCalendar as err:
        raise ExportError(f"{source}: not an iCalendar file (no VCALENDAR)") from err
    name = text(document.header.get("X-WR-CALNAME")).strip() or default_name or source
    return ExportFile(document, name)


def read_export(path: Path, window: tuple[date, date]) -> CalendarExport:
    """Read one .ics file; ``window`` is the first and last day to expand recurrences over."""
    return bookings_of(parse_file(export_bytes(path), path.name, path.stem), window)


def parse_export(
    data: bytes, source: str, window: tuple[date, date], default_name: str = ""
) -> CalendarExport:
    """Parse the bytes of one export; ``source`` names it in errors."""
    return bookings_of(parse_file(data, source, default_name), window)


def bookings_of(
    export: ExportFile, window: tuple[date, date], clinic: frozenset[str] = frozenset()
) -> CalendarExport:
    """The bookings of one read export; ``clinic`` adds the other calendars' own addresses."""
    zone, skipped = _calendar_zone(export)
    view = CalendarView(export.name, export.name, zone, window, clinic)
    read = read_events(export.document, view, keep_cancelled=True)
    skipped.extend(Skip(s.event_id, s.reason, export.name) for s in read.skipped)
    return CalendarExport(
        name=export.name,
        bookings=[event.booking for event in read.events],
        skipped=skipped,
        notes=[Skip(n.event_id, n.reason, export.name) for n in read.notes],
    )


def _calendar_zone(export: ExportFile) -> tuple[ZoneInfo | None, list[Skip]]:
    value = text(export.document.header.get("X-WR-TIMEZONE")).strip()
    if not value:
        return None, []
    try:
        return ZoneInfo(value), []
    except (ZoneInfoNotFoundError, ValueError):
        reason = f"unknown X-WR-TIMEZONE {value[:60]!r}; using each event's own zone"
        return None, [Skip(uid="", reason=reason, calendar=export.name)]
