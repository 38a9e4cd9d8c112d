"""Google event JSON → provider-neutral records (SPEC §4, §5, §9).

Reads the event resource of https://developers.google.com/calendar/api/v3/reference/events
as events.list returns it with ``singleEvents=true`` (each instance of a recurring event
on its own, exceptions applied: .../guides/recurringevents):

- timed events (``start.dateTime`` with an offset, or a local time plus ``timeZone``) and
  all-day events (``start.date``); ``day`` is the local date of the start in the
  calendar's own zone, whatever zone the event was written in (SPEC §5);
- the booking id is the event id (an instance's own id); ``uid`` is the ``iCalUID``,
  shared by every instance of a series, else the series id;
- attendees keep ``responseStatus``, ``organizer``, ``self`` and ``resource``; the calendar
  id is the calendar's e-mail; ``extendedProperties.private[<patient id property>]`` is
  the explicit patient id (SPEC §4); ``htmlLink``, "an absolute link to this event in the
  Google Calendar Web UI", is kept for the admin UI to open.

Google reports a deleted event, or a cancelled instance of a series, as ``status:
cancelled`` (https://developers.google.com/calendar/api/guides/sync): :func:`is_removed`
tells those apart before mapping. An event that cannot be read (no start, a date that
does not parse, an unknown time zone) raises :class:`MalformedEvent` with the reason.

Not every event is a booking: Google returns every ``eventType`` when the listing names
none (https://developers.google.com/calendar/api/guides/event-types), and out-of-office,
focus time, working location, birthdays and events made from Gmail are a person's status
or a copy of a message, never a patient's appointment. :func:`not_a_booking` says why one
is left out. The listing deliberately asks for every type: an event whose type changes
still arrives through incremental sync and leaves the store, which an ``eventTypes``
filter would hide. A type Google adds later is read as a booking, since a missed booking
costs more than a stray one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rules.model import Attendee, Booking
from sync.store.events import EventStatus, StoredEvent

__all__ = [
    "NOT_BOOKINGS",
    "CalendarView",
    "MalformedEvent",
    "event_id",
    "is_removed",
    "not_a_booking",
    "read_event",
    "zone_named",
]

Json = Mapping[str, Any]

NOT_BOOKINGS: Mapping[str, str] = {
    "outOfOffice": "an out-of-office event",
    "focusTime": "a focus time event",
    "workingLocation": "a working location event",
    "birthday": "a birthday",
    "fromGmail": "an event made from a Gmail message",
}
"""The ``eventType`` values that are not bookings, with how a skip record names them."""


class MalformedEvent(ValueError):
    """An event that cannot be turned into a booking; the message is the reason."""


@dataclass(frozen=True, slots=True)
class CalendarView:
    """What mapping needs to know about the calendar an event sits on."""

    id: str
    name: str
    zone: ZoneInfo
    patient_id_property: str = "patient_id"


@dataclass(frozen=True, slots=True)
class _Times:
    start: datetime
    end: datetime
    day: date
    all_day: bool


def zone_named(name: str | None) -> ZoneInfo | None:
    """The IANA zone ``name``, or ``None`` when it is empty or unknown."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def event_id(item: Json) -> str:
    """The event's id, or ``""`` when it has none."""
    value = item.get("id")
    return value if isinstance(value, str) else ""


def is_removed(item: Json) -> bool:
    """Whether Google reports the event as deleted or cancelled."""
    return item.get("status") == "cancelled"


def not_a_booking(item: Json) -> str | None:
    """Why the event is not a booking (its ``eventType``), or ``None`` when it is one."""
    kind = item.get("eventType")
    what = NOT_BOOKINGS.get(kind) if isinstance(kind, str) else None
    return None if what is None else f"not a booking: {what} (eventType {kind})"


def read_event(item: Json, calendar: CalendarView) -> StoredEvent:
    """The booking an event resource describes; :class:`MalformedEvent` says why not."""
    identifier = event_id(item)
    if not identifier:
        raise MalformedEvent("the event has no id")
    times = _times(item, calendar.zone)
    private = _private_properties(item)
    booking = Booking(
        id=identifier,
        uid=_text(item, "iCalUID") or _text(item, "recurringEventId") or identifier,
        calendar=calendar.name,
        day=times.day,
        summary=_text(item, "summary"),
        description=_text(item, "description"),
        attendees=_attendees(item.get("attendees")),
        calendar_email=calendar.id,
        organizer_email=_email(item.get("organizer")),
        patient_id=private.get(calendar.patient_id_property, "").strip() or None,
    )
    return StoredEvent(
        booking=booking,
        start=times.start,
        end=times.end,
        all_day=times.all_day,
        status=EventStatus.TENTATIVE
        if item.get("status") == "tentative"
        else EventStatus.CONFIRMED,
        etag=_text(item, "etag") or None,
        updated=_timestamp(item.get("updated")),
        recurring_event_id=_text(item, "recurringEventId") or None,
        private_properties=private,
        html_link=_text(item, "htmlLink") or None,
    )


def _times(item: Json, zone: ZoneInfo) -> _Times:
    start, end = item.get("start"), item.get("end")
    if not isinstance(start, Mapping) or not (start.get("date") or start.get("dateTime")):
        raise MalformedEvent("the event has no start")
    end = end if isinstance(end, Mapping) else {}
    if start.get("date"):
        first = _date(start["date"], "start")
        last = _date(end["date"], "end") if end.get("date") else first + timedelta(days=1)
        return _Times(_midnight(first, zone), _midnight(last, zone), first, True)
    begin = _instant(start, zone, "start")
    finish = _instant(end, zone, "end") if end.get("dateTime") else begin
    return _Times(begin, finish, begin.astimezone(zone).date(), False)


def _date(value: Any, which: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError as err:
        raise MalformedEvent(f"the {which} date {value!r} is not a date") from err


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone)


def _instant(when: Json, zone: ZoneInfo, which: str) -> datetime:
    value = when.get("dateTime")
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as err:
        raise MalformedEvent(f"the {which} time {value!r} is not an RFC 3339 time") from err
    if moment.tzinfo is not None:
        return moment
    name = when.get("timeZone")
    local = zone_named(str(name)) if name else zone
    if local is None:
        raise MalformedEvent(f"the {which} time zone {name!r} is unknown")
    return moment.replace(tzinfo=local)


def _timestamp(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _attendees(raw: Any) -> tuple[Attendee, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(_attendee(item) for item in raw if isinstance(item, Mapping) and _email(item))


def _attendee(item: Json) -> Attendee:
    return Attendee(
        email=_email(item),
        organizer=item.get("organizer") is True,
        is_self=item.get("self") is True,
        resource=item.get("resource") is True,
        response=_text(item, "responseStatus") or "needsAction",
    )


def _email(person: Any) -> str:
    if not isinstance(person, Mapping):
        return ""
    value = person.get("email")
    return value.strip() if isinstance(value, str) else ""


def _private_properties(item: Json) -> dict[str, str]:
    extended = item.get("extendedProperties")
    private = extended.get("private") if isinstance(extended, Mapping) else None
    if not isinstance(private, Mapping):
        return {}
    return {str(key): str(value) for key, value in private.items()}


def _text(item: Json, name: str) -> str:
    value = item.get(name)
    return value if isinstance(value, str) else ""
