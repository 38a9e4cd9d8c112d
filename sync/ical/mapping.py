"""iCalendar VEVENTs → the same stored records the Google adapter produces (SPEC §4, §5, §9).

The one place iCalendar data becomes bookings, for every reader: the offline audit
(:mod:`sync.usecases.ics_export`), CalDAV resources (RFC 4791 §4.1: one UID, with its overrides)
and subscribed .ics files. The data is read component by component
(:mod:`sync.ical.document`), then:

- recurring events are expanded with their exceptions, bounded, by
  :mod:`sync.ical.expand`; an instance's booking id is ``UID@RECURRENCE-ID`` (its
  original start, UTC ``YYYYMMDDTHHMMSSZ``, or ``YYYYMMDD`` for all-day series), a single
  event's is its UID;
- ``day`` is the start's date in the calendar's zone; all-day events keep their date;
  floating times are read as the calendar's local time (SPEC §5). Without a calendar zone
  (an export with no ``X-WR-TIMEZONE``) each event's own zone gives the day;
- attendees keep PARTSTAT, CUTYPE=ROOM/RESOURCE and the organizer; the calendar's own
  addresses (:func:`own_addresses`) are marked as the calendar itself, as Google marks
  ``self``, so they never stand for a patient; the explicit patient id is
  ``X-CLINIC-PATIENT-ID`` (SPEC §4);
- ``X-CLINIC-SYNC-*`` properties are the flag's private properties, named as the flag
  names them (``X-CLINIC-SYNC-CONFLICT`` ↔ ``clinicSyncConflict``, see :func:`x_name`);
- an instance with ``STATUS:CANCELLED`` is not a booking: like Google, it counts as
  removed from the calendar (the audit keeps it, marked, to say why it was left out).

``calendar_email`` carries the calendar id, as Google's mapping does, so the store can
tell one source's bookings from another's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from rules.model import Booking
from sync.ical.document import CalendarDocument, MalformedCalendar, read_document
from sync.ical.expand import expand_series, instance_start, single_occurrence
from sync.ical.lines import content_lines
from sync.ical.properties import (
    PATIENT_ID_PROPERTY,
    address,
    attendees,
    first_line,
    plain_properties,
    recurrence_key,
    text,
)
from sync.sources.events import EventStatus, StoredEvent
from sync.sources.port import SkippedEvent

__all__ = [
    "FLAG_PREFIX",
    "CalendarView",
    "MalformedCalendar",
    "ResourceEvents",
    "own_addresses",
    "parse_calendar",
    "private_name",
    "read_document",
    "read_events",
    "scan_window",
    "x_name",
]

FLAG_PREFIX = "X-CLINIC-SYNC-"
_RECURRING = ("RRULE", "RDATE", "RECURRENCE-ID")


@dataclass(frozen=True, slots=True)
class CalendarView:
    """What mapping needs to know about the calendar the data comes from."""

    id: str
    name: str
    zone: ZoneInfo | None
    """The calendar's zone; ``None``: each event's own zone gives its day."""
    window: tuple[date, date]
    """First and last day recurring events are expanded over."""
    own_addresses: frozenset[str] = frozenset()
    """Addresses of the clinic's calendars beyond those the data names (case-folded)."""


@dataclass(frozen=True, slots=True)
class ResourceEvents:
    """The bookings read from one piece of iCalendar data, and what could not be read."""

    events: tuple[StoredEvent, ...] = ()
    skipped: tuple[SkippedEvent, ...] = ()
    notes: tuple[SkippedEvent, ...] = ()
    """Events read with a repair (a field cut, an alarm dropped, a series cut short)."""


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
    """The whole VCALENDAR in ``data``, to be changed and written back (a CalDAV resource).

    Reading bookings goes through :func:`read_document`, which tolerates broken parts;
    a resource that is written back must be kept whole. Its lines are unfolded and
    decoded by :mod:`sync.ical.lines` all the same.
    """
    try:
        calendar = icalendar.Calendar.from_ical("\r\n".join(content_lines(data).lines))
    except (ValueError, KeyError, IndexError) as err:
        raise MalformedCalendar(f"{source}: not iCalendar data ({first_line(err)})") from err
    if not isinstance(calendar, icalendar.Calendar) or calendar.name != "VCALENDAR":
        raise MalformedCalendar(f"{source}: not iCalendar data (no VCALENDAR)")
    return calendar


def own_addresses(document: CalendarDocument) -> frozenset[str]:
    """The calendar's own e-mail addresses, as the data names them.

    A Google primary calendar exports its address as ``X-WR-CALNAME``; on its other
    calendars Google writes ``ORGANIZER;CN=<calendar name>:mailto:<calendar id>``.
    """
    name = text(document.header.get("X-WR-CALNAME")).strip()
    found = {address(f"mailto:{name}")}
    for event in document.events:
        organizer = event.get("ORGANIZER")
        params = getattr(organizer, "params", {})
        if name and str(params.get("CN", "")).strip() == name:
            found.add(address(organizer))
    return frozenset(found - {""})


def read_events(
    document: CalendarDocument,
    view: CalendarView,
    etag: str | None = None,
    *,
    keep_cancelled: bool = False,
) -> ResourceEvents:
    """Every booking of the document's VEVENTs in the window, instances expanded."""
    view = _with_addresses(view, own_addresses(document))
    groups, skipped = _groups(document.events)
    notes = [*document.notes, *(SkippedEvent("", repair) for repair in document.repairs)]
    events: list[StoredEvent] = []
    for uid, members in groups.items():
        try:
            single = single_occurrence(members, view.window)
            if single is not None:  # ~99% of UIDs: a lone event, read straight
                events.extend(_event(plain_properties(e), uid, None, view, etag) for e in single)
                continue
            expansion = expand_series(document.timezones, members, view.window)
            events.extend(_series(uid, members, expansion.occurrences, view, etag))
        except Exception as err:  # one bad series must not stop the calendar
            skipped.append(SkippedEvent(uid, f"cannot expand: {first_line(err)}"))
            continue
        if expansion.note:
            notes.append(SkippedEvent(uid, expansion.note))
    if not keep_cancelled:
        events = [event for event in events if not event.booking.cancelled]
    return ResourceEvents(tuple(events), (*document.skipped, *skipped), tuple(notes))


def _with_addresses(view: CalendarView, found: frozenset[str]) -> CalendarView:
    return CalendarView(view.id, view.name, view.zone, view.window, view.own_addresses | found)


def _groups(events: list[Any]) -> tuple[dict[str, list[Any]], list[SkippedEvent]]:
    groups: dict[str, list[Any]] = {}
    skipped: list[SkippedEvent] = []
    for event in events:
        fields = plain_properties(event)
        uid = str(fields.get("UID", "")).strip()
        problem = _problem(fields)
        if problem:
            skipped.append(SkippedEvent(uid, problem))
        else:
            groups.setdefault(uid, []).append(event)
    return groups, skipped


def _problem(event: dict[str, Any]) -> str | None:
    if "DTSTART" not in event:
        return "event has no DTSTART"
    for name in ("DTSTART", "RECURRENCE-ID"):
        try:
            value = event[name].dt if name in event else date.min
        except (ValueError, AttributeError, TypeError, KeyError) as err:
            return f"unreadable date: {first_line(err)}"
        if not isinstance(value, date):
            return f"unreadable date: {name} is not a date or date-time"
    return None


def _series(
    uid: str, members: list[Any], occurrences: list[Any], view: CalendarView, etag: str | None
) -> Iterator[StoredEvent]:
    recurring = any(key in member for member in members for key in _RECURRING)
    for occurrence in occurrences:
        booking_id = uid
        original = instance_start(occurrence, members) if recurring else None
        if original is not None:
            booking_id = f"{uid}@{recurrence_key(original)}"
        yield _event(occurrence, booking_id, uid if recurring else None, view, etag)


def _event(
    occ: Any, booking_id: str, series: str | None, view: CalendarView, etag: str | None
) -> StoredEvent:
    value = occ["DTSTART"].dt
    start, all_day = _moment(value, view.zone)
    organizer = address(occ.get("ORGANIZER"))
    cancelled = str(occ.get("STATUS", "")).upper() == "CANCELLED"
    booking = Booking(
        id=booking_id,
        uid=series or booking_id,
        calendar=view.name,
        day=_local_day(value, view.zone),
        summary=text(occ.get("SUMMARY")),
        description=text(occ.get("DESCRIPTION")),
        cancelled=cancelled,
        attendees=tuple(attendees(occ, organizer, view.own_addresses)),
        calendar_email=view.id,
        organizer_email=organizer,
        patient_id=text(occ.get(PATIENT_ID_PROPERTY)).strip() or None,
    )
    return StoredEvent(
        booking=booking,
        start=start,
        end=_end(occ, start, all_day, view.zone),
        all_day=all_day,
        status=EventStatus.CANCELLED if cancelled else _status(occ),
        etag=etag,
        updated=_stamp(occ),
        recurring_event_id=series,
        private_properties=_private(occ),
    )


def _moment(value: date, zone: ZoneInfo | None) -> tuple[datetime, bool]:
    """An aware start: midnight in ``zone`` for a date, ``zone``'s wall time for a floating time."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time(), tzinfo=zone or UTC), True
    return (value if value.tzinfo is not None else value.replace(tzinfo=zone or UTC)), False


def _local_day(value: date, zone: ZoneInfo | None) -> date:
    """The calendar day a start falls on: in the calendar's zone when it has one."""
    if not isinstance(value, datetime):
        return value
    if value.tzinfo is not None and zone is not None:
        return value.astimezone(zone).date()
    return value.date()


def _end(occ: Any, start: datetime, all_day: bool, zone: ZoneInfo | None) -> datetime:
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
