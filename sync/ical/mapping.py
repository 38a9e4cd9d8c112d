"""iCalendar VEVENTs → the same stored records the Google adapter produces (SPEC §4, §5, §9).

Reads RFC 5545 data — one CalDAV resource (RFC 4791 §4.1: one UID, with its overrides)
or a whole subscribed .ics file — the way :mod:`sync.ics_export` reads exports:

- recurring events are expanded with their exceptions (RRULE, RDATE, EXDATE and
  RECURRENCE-ID overrides) by ``recurring-ical-events`` over the scan window; an
  instance's booking id is ``UID@RECURRENCE-ID`` (UTC, ``YYYYMMDDTHHMMSSZ``, or
  ``YYYYMMDD`` for all-day series), a single event's is its UID;
- ``day`` is the start's date in the calendar's zone; all-day events keep their date;
  floating times are read as the calendar's local time (SPEC §5);
- attendees keep PARTSTAT, CUTYPE=ROOM/RESOURCE and the organizer; the explicit patient
  id is ``X-CLINIC-PATIENT-ID`` (SPEC §4);
- ``X-CLINIC-SYNC-*`` properties are the flag's private properties, named as the flag
  names them (``X-CLINIC-SYNC-CONFLICT`` ↔ ``clinicSyncConflict``, see :func:`x_name`);
- an instance with ``STATUS:CANCELLED`` is not a booking: like Google, it counts as
  removed from the calendar.

``calendar_email`` carries the calendar id, as Google's mapping does, so the store can
tell one source's bookings from another's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from rules.model import Booking
from sync.calendar_source import SkippedEvent
from sync.ical.properties import (
    PATIENT_ID_PROPERTY,
    address,
    attendees,
    first_line,
    recurrence_key,
    text,
)
from sync.store.events import EventStatus, StoredEvent

__all__ = [
    "FLAG_PREFIX",
    "CalendarView",
    "MalformedCalendar",
    "ResourceEvents",
    "parse_calendar",
    "private_name",
    "read_events",
    "scan_window",
    "x_name",
]

FLAG_PREFIX = "X-CLINIC-SYNC-"
_UTC = ZoneInfo("UTC")


class MalformedCalendar(ValueError):
    """The data is not an iCalendar object; the message says why."""


@dataclass(frozen=True, slots=True)
class CalendarView:
    """What mapping needs to know about the calendar the data comes from."""

    id: str
    name: str
    zone: ZoneInfo
    window: tuple[date, date]
    """First and last day recurring events are expanded over."""


@dataclass(frozen=True, slots=True)
class ResourceEvents:
    """The bookings read from one piece of iCalendar data, and what could not be read."""

    events: tuple[StoredEvent, ...] = ()
    skipped: tuple[SkippedEvent, ...] = ()


def scan_window(
    now: datetime, days_back: int, days_ahead: int, zone: ZoneInfo
) -> tuple[date, date]:
    """The local days a pull covers: the scan horizon around ``now`` in the calendar's zone."""
    today = now.astimezone(zone).date()
    return today - timedelta(days=days_back), today + timedelta(days=days_ahead)


def x_name(private: str) -> str:
    """The iCalendar property of a flag property: ``clinicSyncFlag`` → ``X-CLINIC-SYNC-FLAG``."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", private).upper()
    return f"X-{words}"


def private_name(x_property: str) -> str:
    """The inverse of :func:`x_name`: ``X-CLINIC-SYNC-FLAG`` → ``clinicSyncFlag``."""
    first, *rest = x_property.removeprefix("X-").lower().split("-")
    return first + "".join(word.capitalize() for word in rest)


def parse_calendar(data: bytes | str, source: str) -> icalendar.Calendar:
    """The VCALENDAR in ``data``; :class:`MalformedCalendar` names ``source`` if there is none."""
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except (ValueError, KeyError, IndexError) as err:
        raise MalformedCalendar(f"{source}: not iCalendar data ({first_line(err)})") from err
    if not isinstance(calendar, icalendar.Calendar) or calendar.name != "VCALENDAR":
        raise MalformedCalendar(f"{source}: not iCalendar data (no VCALENDAR)")
    return calendar


def read_events(
    calendar: icalendar.Calendar, view: CalendarView, etag: str | None = None
) -> ResourceEvents:
    """Every booking of ``calendar``'s VEVENTs in the window, instances expanded."""
    groups, skipped = _groups(calendar)
    zones = list(calendar.walk("VTIMEZONE"))
    events: list[StoredEvent] = []
    for uid, members in groups.items():
        try:
            events.extend(_series(uid, members, zones, view, etag))
        except Exception as err:  # one bad series must not stop the calendar
            skipped.append(SkippedEvent(uid, f"cannot expand: {first_line(err)}"))
    return ResourceEvents(tuple(events), tuple(skipped))


def _groups(calendar: icalendar.Calendar) -> tuple[dict[str, list[Any]], list[SkippedEvent]]:
    groups: dict[str, list[Any]] = {}
    skipped: list[SkippedEvent] = []
    for event in calendar.walk("VEVENT"):
        uid = str(event.get("UID", "")).strip()
        problem = _problem(event, uid)
        if problem:
            skipped.append(SkippedEvent(uid, problem))
        else:
            groups.setdefault(uid, []).append(event)
    return groups, skipped


def _problem(event: Any, uid: str) -> str | None:
    if not uid:
        return "event has no UID"
    if "DTSTART" not in event:
        return "event has no DTSTART"
    value = getattr(event["DTSTART"], "dt", None)
    return None if isinstance(value, date) else "DTSTART is not a date or date-time"


def _series(
    uid: str, members: list[Any], zones: list[Any], view: CalendarView, etag: str | None
) -> Iterator[StoredEvent]:
    recurring = any(
        key in member for member in members for key in ("RRULE", "RDATE", "RECURRENCE-ID")
    )
    for occurrence in _expand(zones, members, view.window):
        if str(occurrence.get("STATUS", "")).upper() != "CANCELLED":
            yield _event(occurrence, uid, recurring, view, etag)


def _expand(zones: list[Any], members: list[Any], window: tuple[date, date]) -> Iterable[Any]:
    series = icalendar.Calendar()
    for component in (*zones, *members):
        series.add_component(component)
    end = window[1] + timedelta(days=1)
    return recurring_ical_events.of(series).between(window[0], end)  # type: ignore[no-any-return]


def _event(
    occ: Any, uid: str, recurring: bool, view: CalendarView, etag: str | None
) -> StoredEvent:
    start, all_day = _moment(occ["DTSTART"].dt, view.zone)
    booking_id = uid
    if recurring and "RECURRENCE-ID" in occ:
        booking_id = f"{uid}@{recurrence_key(occ['RECURRENCE-ID'].dt)}"
    private = _private(occ)
    organizer = address(occ.get("ORGANIZER"))
    booking = Booking(
        id=booking_id,
        uid=uid,
        calendar=view.name,
        day=start.date() if all_day else start.astimezone(view.zone).date(),
        summary=text(occ.get("SUMMARY")),
        description=text(occ.get("DESCRIPTION")),
        attendees=tuple(attendees(occ, organizer)),
        calendar_email=view.id,
        organizer_email=organizer,
        patient_id=text(occ.get(PATIENT_ID_PROPERTY)).strip() or None,
    )
    return StoredEvent(
        booking=booking,
        start=start,
        end=_end(occ, start, all_day, view.zone),
        all_day=all_day,
        status=_status(occ),
        etag=etag,
        updated=_stamp(occ),
        recurring_event_id=uid if recurring else None,
        private_properties=private,
    )


def _moment(value: date, zone: ZoneInfo) -> tuple[datetime, bool]:
    """An aware start: midnight in ``zone`` for a date, ``zone``'s wall time for a floating time."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time(), tzinfo=zone), True
    return (value if value.tzinfo is not None else value.replace(tzinfo=zone)), False


def _end(occ: Any, start: datetime, all_day: bool, zone: ZoneInfo) -> datetime:
    if "DTEND" in occ:
        return _moment(occ["DTEND"].dt, zone)[0]
    if "DURATION" in occ:
        return start + occ["DURATION"].dt  # type: ignore[no-any-return]
    return start + timedelta(days=1) if all_day else start


def _status(occ: Any) -> EventStatus:
    tentative = str(occ.get("STATUS", "")).upper() == "TENTATIVE"
    return EventStatus.TENTATIVE if tentative else EventStatus.CONFIRMED


def _stamp(occ: Any) -> datetime | None:
    for name in ("LAST-MODIFIED", "DTSTAMP"):
        value = getattr(occ.get(name), "dt", None)
        if isinstance(value, datetime):
            return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return None


def _private(occ: Any) -> dict[str, str]:
    return {
        private_name(str(name)): text(value)
        for name, value in occ.items()
        if str(name).upper().startswith(FLAG_PREFIX)
    }
