"""Event resources in Google's JSON shape: ids, validation, server-set fields, patch merging.

Follows https://developers.google.com/calendar/api/v3/reference/events (the resource and
its ``id`` rules), .../v3/reference/events/patch and
https://developers.google.com/calendar/api/guides/performance#patch (patch merges objects
and replaces arrays) and https://developers.google.com/calendar/api/guides/version-resources
(every modification changes the ETag). Server-set fields written here: dateTimes with their
offset in the event's or calendar's zone, ``sequence`` (RFC 5545 SEQUENCE) and the ``self``/
``organizer`` flags of people.
"""

from __future__ import annotations

import base64
import copy
import itertools
import re
import threading
import time
import uuid
from typing import Any

from sync.emulator.colors import EVENT_COLOR_IDS
from sync.emulator.errors import ApiError
from sync.emulator.timefmt import event_datetime, event_instant, format_event_time, zone

__all__ = [
    "WRITABLE_FIELDS",
    "check_event",
    "html_link",
    "localise_times",
    "mark_people",
    "merge_patch",
    "new_etag",
    "new_id",
    "next_sequence",
    "validate_id",
    "validate_imported_id",
    "writable_part",
]

Json = dict[str, Any]

# Fields a client may write; read-only fields in a request body are ignored, as Google does.
WRITABLE_FIELDS = frozenset(
    {
        "anyoneCanAddSelf", "attachments", "attendees", "colorId", "conferenceData",
        "description", "end", "endTimeUnspecified", "eventType", "extendedProperties",
        "gadget", "guestsCanInviteOthers", "guestsCanModify", "guestsCanSeeOtherGuests",
        "location", "originalStartTime", "recurrence", "reminders", "sequence", "source",
        "start", "status", "summary", "transparency", "visibility",
    }
)  # fmt: skip
# Objects replaced as a whole by patch: merging {"date"} into {"dateTime"} would make nonsense.
_WHOLE_OBJECTS = frozenset({"start", "end", "originalStartTime"})
_TIME_FIELDS = ("start", "end", "originalStartTime")
_RESCHEDULING_FIELDS = ("start", "end", "recurrence")
_ID_PATTERN = re.compile(r"^[a-v0-9]{5,1024}$")
# Ids Google itself gives beyond base32hex: "_"-prefixed imports and Gmail events,
# "{id}_R{YYYYMMDDTHHMMSS}" for a series split with "this and following", "{id}_{suffix}" for
# instances. Exports carry them, so seeds accept any of them (never spaces or slashes).
_IMPORTED_ID_PATTERN = re.compile(r"^[A-Za-z0-9_\-.@]{5,1024}$")
_STATUSES = frozenset({"confirmed", "tentative", "cancelled"})
_RECURRENCE_LINE = re.compile(r"^(RRULE|EXRULE|RDATE|EXDATE)[;:]", re.IGNORECASE)
_etag_counter = itertools.count(1)
_etag_lock = threading.Lock()


def new_id() -> str:
    """A fresh event id: 26 lowercase base32hex characters, as Google generates."""
    return base64.b32hexencode(uuid.uuid4().bytes).decode().lower().rstrip("=")


def validate_id(event_id: str) -> None:
    """400 unless ``event_id`` is 5-1024 characters of base32hex (a-v, 0-9)."""
    if not _ID_PATTERN.match(event_id):
        raise ApiError.bad_request("Invalid resource id value.")


def validate_imported_id(event_id: str) -> None:
    """400 unless ``event_id`` is an id Google may have given an exported event."""
    if not _IMPORTED_ID_PATTERN.match(event_id):
        raise ApiError.bad_request("Invalid resource id value.")


def new_etag() -> str:
    """A quoted, strictly increasing ETag, so every modification gets a new one."""
    with _etag_lock:
        return f'"{time.time_ns() // 1000}{next(_etag_counter) % 1000:03d}"'


def html_link(event_id: str, calendar_id: str) -> str:
    """The web link Google builds from the event and calendar ids."""
    eid = base64.urlsafe_b64encode(f"{event_id} {calendar_id}".encode()).decode().rstrip("=")
    return f"https://www.google.com/calendar/event?eid={eid}"


def writable_part(body: Json) -> Json:
    """The client-writable fields of a request body (deep-copied)."""
    return {k: copy.deepcopy(v) for k, v in body.items() if k in WRITABLE_FIELDS}


def merge_patch(target: Json, patch: Json) -> Json:
    """Patch semantics: objects merge key by key, ``null`` removes, arrays replace wholesale."""
    merged = copy.deepcopy(target)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = value if key in _WHOLE_OBJECTS else merge_patch(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def check_event(event: Json, calendar_tz: str) -> None:
    """400 for an event Google would refuse: times, status, colour, attendees, recurrence."""
    _check_times(event, calendar_tz)
    if event.get("status", "confirmed") not in _STATUSES:
        raise ApiError.bad_request(f"Invalid status: {event.get('status')!r}")
    _check_color(event.get("colorId"))
    _check_attendees(event.get("attendees"))
    _check_recurrence(event)


def _check_times(event: Json, calendar_tz: str) -> None:
    start, end = event.get("start"), event.get("end")
    if not isinstance(start, dict) or not start:
        raise ApiError.bad_request("Missing start time.", "required")
    if not isinstance(end, dict) or not end:
        raise ApiError.bad_request("Missing end time.", "required")
    if ("date" in start) != ("date" in end):
        raise ApiError.bad_request(
            "Start and end times must either both be date or both be dateTime."
        )
    for when in (start, end):
        _check_zone(when)
    if event_instant(end, calendar_tz) < event_instant(start, calendar_tz):
        raise ApiError.bad_request("The specified time range is empty.", "timeRangeEmpty")


def _check_zone(when: Json) -> None:
    """An unknown IANA name in ``start``/``end`` is refused with 400, as Google does."""
    name = when.get("timeZone")
    if name is not None:
        zone(str(name))


def _check_color(color: Any) -> None:
    if color is not None and str(color) not in EVENT_COLOR_IDS:
        raise ApiError.bad_request(f"Invalid colorId: {color!r}")


def _check_attendees(attendees: Any) -> None:
    if attendees is None:
        return
    if not isinstance(attendees, list) or not all(isinstance(a, dict) for a in attendees):
        raise ApiError.bad_request("attendees must be a list of objects")
    if any(not a.get("email") and not a.get("id") for a in attendees):
        raise ApiError.bad_request("Missing attendee email.", "required")


def _check_recurrence(event: Json) -> None:
    lines = event.get("recurrence")
    if lines is None:
        return
    if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
        raise ApiError.bad_request("recurrence must be a list of strings")
    if any(not _RECURRENCE_LINE.match(line) for line in lines):
        raise ApiError.bad_request("Invalid recurrence rule.")
    if "dateTime" in event["start"] and not event["start"].get("timeZone"):
        # Google needs a zone to expand a timed series across DST changes.
        raise ApiError(400, "missingTimeZone", "Missing time zone definition for start time.")


def localise_times(event: Json, calendar_tz: str) -> None:
    """Write each dateTime with its offset, in the event's zone or else the calendar's."""
    for name in _TIME_FIELDS:
        when = event.get(name)
        if isinstance(when, dict) and when.get("dateTime"):
            tz = zone(str(when.get("timeZone") or calendar_tz))
            when["dateTime"] = format_event_time(event_datetime(when).astimezone(tz))


def next_sequence(new: Json, old: Json | None) -> int:
    """RFC 5545 SEQUENCE: rises when the event is rescheduled."""
    if old is None:
        return int(new.get("sequence", 0))
    rescheduled = any(new.get(k) != old.get(k) for k in _RESCHEDULING_FIELDS)
    return max(int(new.get("sequence", 0)), int(old.get("sequence", 0)) + int(rescheduled))


def mark_people(event: Json, calendar_id: str, owner: str) -> None:
    """Set ``self``/``organizer`` flags and a default responseStatus, as Google does."""
    _flag(event["creator"], "self", event["creator"].get("email") == owner)
    _flag(event["organizer"], "self", event["organizer"].get("email") == calendar_id)
    organizer = str(event["organizer"].get("email", "")).lower()
    for attendee in event.get("attendees") or []:
        email = str(attendee.get("email", "")).lower()
        attendee.setdefault("responseStatus", "needsAction")
        _flag(attendee, "self", email == calendar_id.lower())
        _flag(attendee, "organizer", email == organizer)


def _flag(person: Json, name: str, value: bool) -> None:
    """Google writes boolean flags only when true."""
    if value:
        person[name] = True
    else:
        person.pop(name, None)
