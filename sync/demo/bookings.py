"""One demo booking as Google event JSON: times in the clinic's zone, identity, extras.

The event resource is Google's (https://developers.google.com/calendar/api/v3/reference/events):
local ``dateTime`` plus ``timeZone`` for timed bookings, ``date`` for all-day ones, the
patient's e-mail as an attendee, their id in ``extendedProperties.private.patient_id``.
Event ids are base32hex, as Google requires of ids a client chooses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sync.demo.roster import Known, Patient

__all__ = ["ZONE", "Extras", "Json", "Slot", "event_body", "instance_id"]

Json = dict[str, Any]
ZONE = "Europe/London"
_STAFF = "team@demo-clinic.example"


@dataclass(frozen=True, slots=True)
class Slot:
    """When a booking is: a day, and a start time unless it lasts all day."""

    day: date
    start: time | None = time(10)
    minutes: int = 45

    @property
    def all_day(self) -> bool:
        return self.start is None


@dataclass(frozen=True, slots=True)
class Extras:
    """What some bookings carry besides a title and a time."""

    description: str = ""
    status: str = "confirmed"
    recurrence: tuple[str, ...] = ()
    response: str = "accepted"
    anonymous: bool = False
    """Leave the patient's id and e-mail off (staff forgot): known by name only."""
    staff_attendee: bool = field(default=False)


def event_body(
    event_id: str, summary: str, slot: Slot, patient: Patient | None, extras: Extras | None = None
) -> Json:
    """The event resource of one booking."""
    extras = extras or Extras()
    body: Json = {"id": event_id, "summary": summary, "status": extras.status, **_times(slot)}
    if extras.description:
        body["description"] = extras.description
    if extras.recurrence:
        body["recurrence"] = list(extras.recurrence)
    attendees = _attendees(patient, extras)
    if attendees:
        body["attendees"] = attendees
    if patient is not None and patient.known is Known.ID and not extras.anonymous:
        body["extendedProperties"] = {"private": {"patient_id": patient.patient_id}}
    return body


def instance_id(series_id: str, slot: Slot) -> str:
    """The id Google gives the instance of a timed series that starts at ``slot``."""
    assert slot.start is not None, "the demo's series are timed"
    local = datetime.combine(slot.day, slot.start, tzinfo=ZoneInfo(ZONE))
    return f"{series_id}_{local.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def _times(slot: Slot) -> Json:
    if slot.start is None:
        end = slot.day + timedelta(days=1)
        return {"start": {"date": slot.day.isoformat()}, "end": {"date": end.isoformat()}}
    begin = datetime.combine(slot.day, slot.start)
    finish = begin + timedelta(minutes=slot.minutes)
    return {
        "start": {"dateTime": begin.isoformat(), "timeZone": ZONE},
        "end": {"dateTime": finish.isoformat(), "timeZone": ZONE},
    }


def _attendees(patient: Patient | None, extras: Extras) -> list[Json]:
    people: list[Json] = []
    if patient is not None and patient.email and not extras.anonymous:
        people.append({"email": patient.email, "responseStatus": extras.response})
    if extras.staff_attendee:
        people.append({"email": _STAFF, "responseStatus": "accepted"})
    return people
