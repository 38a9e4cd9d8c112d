"""Read iCalendar exports (.ics) into bookings (SPEC §4, §5, §8 ``clinic-sync audit``).

One file is one calendar: ``X-WR-CALNAME`` names it (else the file name), and days are
taken in ``X-WR-TIMEZONE`` when the file has one, else in each event's own zone
(floating times as written). Recurring events are expanded with their exceptions
(RRULE, RDATE, EXDATE, RECURRENCE-ID overrides) by ``recurring-ical-events`` within the
scan window. An event that cannot be read is skipped with its reason; a file that is
not iCalendar at all raises :class:`~sync.errors.ExportError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import recurring_ical_events

from rules.model import Booking, Skip
from sync.errors import ExportError
from sync.ical.properties import (
    PATIENT_ID_PROPERTY,
    address,
    attendees,
    first_line,
    recurrence_key,
    text,
)

__all__ = ["PATIENT_ID_PROPERTY", "CalendarExport", "parse_export", "read_export"]


@dataclass(frozen=True, slots=True)
class CalendarExport:
    """The bookings of one exported calendar, and the events that could not be read."""

    name: str
    bookings: list[Booking]
    skipped: list[Skip]


def read_export(path: Path, window: tuple[date, date]) -> CalendarExport:
    """Read one .ics file; ``window`` is the first and last day to expand recurrences over."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ExportError(f"{path}: cannot be read ({err.strerror or err})") from err
    return parse_export(data, path.name, window, default_name=path.stem)


def parse_export(
    data: bytes, source: str, window: tuple[date, date], default_name: str = ""
) -> CalendarExport:
    """Parse the bytes of one export; ``source`` names it in errors."""
    calendar = _parse_calendar(data, source)
    name = str(calendar.get("X-WR-CALNAME") or default_name or source)
    zone, skipped = _calendar_zone(calendar, name)
    readable, unreadable = _readable_events(calendar, name)
    skipped.extend(unreadable)
    origin = _Source(name, zone, list(calendar.walk("VTIMEZONE")))
    bookings = list(_occurrences(origin, readable, window, skipped))
    return CalendarExport(name=name, bookings=bookings, skipped=skipped)


def _parse_calendar(data: bytes, source: str) -> icalendar.Calendar:
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except (ValueError, KeyError, IndexError) as err:
        raise ExportError(f"{source}: not an iCalendar file ({first_line(err)})") from err
    if not isinstance(calendar, icalendar.Calendar) or calendar.name != "VCALENDAR":
        raise ExportError(f"{source}: not an iCalendar file (no VCALENDAR)")
    return calendar


def _calendar_zone(calendar: icalendar.Calendar, name: str) -> tuple[ZoneInfo | None, list[Skip]]:
    value = calendar.get("X-WR-TIMEZONE")
    if not value:
        return None, []
    try:
        return ZoneInfo(str(value)), []
    except (ZoneInfoNotFoundError, ValueError):
        reason = f"unknown X-WR-TIMEZONE {str(value)[:60]!r}; using each event's own zone"
        return None, [Skip(uid="", reason=reason, calendar=name)]


def _readable_events(
    calendar: icalendar.Calendar, name: str
) -> tuple[dict[str, list[icalendar.Event]], list[Skip]]:
    """Events grouped by UID, minus those whose UID or start cannot be read."""
    groups: dict[str, list[icalendar.Event]] = {}
    skipped: list[Skip] = []
    for event in calendar.events:
        uid = str(event.get("UID", "")).strip()
        problem = _problem(event, uid)
        if problem:
            skipped.append(Skip(uid=uid, reason=problem, calendar=name))
        else:
            groups.setdefault(uid, []).append(event)
    return groups, skipped


def _problem(event: icalendar.Event, uid: str) -> str | None:
    if not uid:
        return "event has no UID"
    if "DTSTART" not in event:
        return "event has no DTSTART"
    try:
        for name in ("DTSTART", "RECURRENCE-ID"):
            if name in event:
                _date_of(event, name)
    except (ValueError, AttributeError, TypeError, KeyError) as err:
        return f"unreadable date: {first_line(err)}"
    return None


def _date_of(event: icalendar.Event, name: str) -> date:
    """The date or date-time of property ``name``; ``ValueError`` when it holds neither."""
    value = getattr(event[name], "dt", None)
    if not isinstance(value, date):
        raise ValueError(f"{name} is not a date or date-time: {str(value)[:60]!r}")
    return value


@dataclass(frozen=True, slots=True)
class _Source:
    """Where the events being read come from."""

    calendar: str
    zone: ZoneInfo | None
    timezones: list[Any]


def _occurrences(
    source: _Source,
    groups: dict[str, list[icalendar.Event]],
    window: tuple[date, date],
    skipped: list[Skip],
) -> Iterator[Booking]:
    for uid, events in groups.items():
        try:
            bookings = _series_bookings(source, uid, events, window)
        except Exception as err:  # one bad series must not stop the file
            reason = f"cannot expand: {first_line(err)}"
            skipped.append(Skip(uid=uid, reason=reason, calendar=source.calendar))
            continue
        yield from bookings


def _series_bookings(
    source: _Source, uid: str, events: list[icalendar.Event], window: tuple[date, date]
) -> list[Booking]:
    recurring = any(_is_recurring(event) for event in events)
    expanded = _expand(source.timezones, events, window[0], window[1] + timedelta(days=1))
    return [_booking(occ, uid, recurring, source.calendar, source.zone) for occ in expanded]


def _expand(
    timezones: list[Any], events: list[icalendar.Event], start: date, end: date
) -> Iterable[icalendar.Event]:
    series = icalendar.Calendar()
    for component in (*timezones, *events):
        series.add_component(component)
    return recurring_ical_events.of(series).between(start, end)  # type: ignore[no-any-return]


def _is_recurring(event: icalendar.Event) -> bool:
    return any(key in event for key in ("RRULE", "RDATE", "RECURRENCE-ID"))


def _booking(
    event: icalendar.Event, uid: str, recurring: bool, calendar: str, zone: ZoneInfo | None
) -> Booking:
    start = _date_of(event, "DTSTART")
    booking_id = uid
    if recurring and "RECURRENCE-ID" in event:
        booking_id = f"{uid}@{recurrence_key(_date_of(event, 'RECURRENCE-ID'))}"
    organizer = address(event.get("ORGANIZER"))
    return Booking(
        id=booking_id,
        uid=uid,
        calendar=calendar,
        day=_local_day(start, zone),
        summary=text(event.get("SUMMARY")),
        description=text(event.get("DESCRIPTION")),
        cancelled=str(event.get("STATUS", "")).upper() == "CANCELLED",
        attendees=tuple(attendees(event, organizer)),
        organizer_email=organizer,
        patient_id=text(event.get(PATIENT_ID_PROPERTY)).strip() or None,
    )


def _local_day(start: date, zone: ZoneInfo | None) -> date:
    """The calendar day a start falls on: in the calendar's zone when it has one."""
    if not isinstance(start, datetime):
        return start
    if start.tzinfo is not None and zone is not None:
        return start.astimezone(zone).date()
    return start.date()
