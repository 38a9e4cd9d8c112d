"""freebusy.query: when each asked-for calendar is busy, without what fills the time.

Follows https://developers.google.com/calendar/api/v3/reference/freebusy/query: the body names
``timeMin``, ``timeMax`` and ``items`` (calendar ids, at most 50 as ``calendarExpansionMax``
allows); the answer is a ``calendar#freeBusy`` resource whose ``calendars`` map each id to its
``busy`` periods, or to ``errors`` (``notFound``) for a calendar the account cannot see.
Cancelled and transparent (``transparency: transparent``, "does not block time") events leave
the time free; touching or overlapping periods are merged, and each is cut to the window.
This is what a ``freeBusyReader`` may read of a calendar.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sync.emulator.errors import ApiError
from sync.emulator.listing import EventQuery, select_events
from sync.emulator.store import CalendarStore
from sync.emulator.timefmt import event_instant, format_ms, parse_rfc3339

__all__ = ["MAX_CALENDARS", "query_free_busy"]

Json = dict[str, Any]
Span = tuple[datetime, datetime]
MAX_CALENDARS = 50


def query_free_busy(store: CalendarStore, body: Json) -> Json:
    """The freebusy.query answer for ``body``."""
    time_min, time_max = _bound(body, "timeMin"), _bound(body, "timeMax")
    if time_max <= time_min:
        raise ApiError.time_range_empty()
    ids = _calendar_ids(body.get("items"))
    calendars = {cid: _calendar(store, cid, time_min, time_max) for cid in ids}
    window = {"timeMin": format_ms(time_min), "timeMax": format_ms(time_max)}
    return {"kind": "calendar#freeBusy", **window, "calendars": calendars}


def _bound(body: Json, name: str) -> datetime:
    value = body.get(name)
    if not isinstance(value, str):
        raise ApiError.bad_request(f"Missing {name}.", "required", parameter=name)
    return parse_rfc3339(value, name)


def _calendar_ids(items: Any) -> list[str]:
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ApiError.bad_request("items must be a list of {'id': ...} objects", "required")
    if len(items) > MAX_CALENDARS:
        raise ApiError.bad_request(
            f"At most {MAX_CALENDARS} calendars may be asked for.", "tooManyCalendarsRequested"
        )
    return [str(item.get("id", "")) for item in items]


def _calendar(store: CalendarStore, calendar_id: str, start: datetime, end: datetime) -> Json:
    try:
        spans = _busy(store, calendar_id, start, end)
    except ApiError as err:
        return {"errors": [{"domain": err.domain, "reason": err.reason}], "busy": []}
    return {"busy": [{"start": format_ms(a), "end": format_ms(b)} for a, b in spans]}


def _busy(store: CalendarStore, calendar_id: str, start: datetime, end: datetime) -> list[Span]:
    zone = store.snapshot(calendar_id).calendar["timeZone"]
    query = EventQuery(time_min=start, time_max=end, single_events=True)
    spans = sorted(
        (max(event_instant(e["start"], zone), start), min(event_instant(e["end"], zone), end))
        for e in select_events(store, calendar_id, query)
        if e.get("transparency") != "transparent"
    )
    return _merged([(a.astimezone(UTC), b.astimezone(UTC)) for a, b in spans])


def _merged(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for begin, finish in spans:
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], finish))
        else:
            merged.append((begin, finish))
    return merged
