"""The ``eventType`` of an event and the rules Google documents for each type.

Follows https://developers.google.com/calendar/api/guides/event-types and
https://developers.google.com/calendar/api/guides/calendar-status:

- every event has an ``eventType``; ``default`` when a client sets none;
- the type cannot change once the event exists;
- ``focusTime``, ``outOfOffice`` and ``workingLocation`` (status events) exist only on
  primary calendars;
- ``birthday`` events are all-day, one day long and recur yearly;
- ``fromGmail`` events are made by Gmail, never by an API client (a seed replaying an
  export may still carry them);
- events.list's ``eventTypes`` parameter (repeatable) keeps only the types it names.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sync.emulator.errors import ApiError

__all__ = ["EVENT_TYPES", "STATUS_TYPES", "check_event_type", "parse_event_types"]

Json = dict[str, Any]
EVENT_TYPES = frozenset(
    {"default", "outOfOffice", "focusTime", "workingLocation", "birthday", "fromGmail"}
)
STATUS_TYPES = frozenset({"outOfOffice", "focusTime", "workingLocation"})


def parse_event_types(values: list[str]) -> frozenset[str]:
    """The ``eventTypes`` filter of events.list (empty: every type), or 400 on an unknown one."""
    for value in values:
        if value not in EVENT_TYPES:
            raise ApiError.invalid_value("eventTypes", value)
    return frozenset(values)


def check_event_type(event: Json, old: Json | None, *, primary: bool, imported: bool) -> None:
    """400 for an event whose type breaks the rules above (``old``: the stored version)."""
    kind = event.get("eventType", "default")
    if kind not in EVENT_TYPES:
        raise ApiError.bad_request(f"Invalid event type: {kind!r}", parameter="eventType")
    if old is not None and old.get("eventType", "default") != kind:
        raise ApiError.bad_request("The event type cannot be changed.", "eventTypeRestriction")
    if kind in STATUS_TYPES and not primary:
        raise ApiError.bad_request(
            f"{kind} events can only be set on the primary calendar.", "eventTypeRestriction"
        )
    if old is None and not imported:
        _check_new(event, kind)


def _check_new(event: Json, kind: str) -> None:
    if kind == "fromGmail":
        raise ApiError.bad_request(
            "fromGmail events cannot be created with the API.", "eventTypeRestriction"
        )
    if kind == "birthday" and not _is_yearly_day(event):
        raise ApiError.bad_request(
            "A birthday event must be one all-day date recurring yearly.", "eventTypeRestriction"
        )


def _is_yearly_day(event: Json) -> bool:
    start, end = event.get("start") or {}, event.get("end") or {}
    if "date" not in start or "date" not in end:
        return False
    one_day = (date.fromisoformat(end["date"]) - date.fromisoformat(start["date"])).days == 1
    rules = [str(r).upper() for r in event.get("recurrence") or []]
    return one_day and any(r.startswith("RRULE:") and "FREQ=YEARLY" in r for r in rules)
