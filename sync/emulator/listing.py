"""events.list and events.instances: filters, expansion, ordering, pages and sync tokens.

Follows https://developers.google.com/calendar/api/v3/reference/events/list (parameters,
defaults: maxResults 250 capped at 2500; orderBy=startTime only with singleEvents; cancelled
exceptions of a series listed even without showDeleted when singleEvents is false) and
https://developers.google.com/calendar/api/guides/sync (an incremental list returns what
changed since the token, deletions included; the last page carries nextSyncToken, the others
nextPageToken; a syncToken cannot be combined with the filters named below).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sync.emulator.errors import ApiError
from sync.emulator.recurrence import instance_id, instance_of, occurrences
from sync.emulator.store import CalendarSnapshot, CalendarStore
from sync.emulator.timefmt import event_instant, format_ms, now_utc, parse_rfc3339

__all__ = ["EventQuery", "list_events", "list_instances"]

Json = dict[str, Any]
Params = dict[str, list[str]]
DEFAULT_PAGE = 250
MAX_PAGE = 2500
_NOT_WITH_SYNC_TOKEN = (
    "timeMin", "timeMax", "updatedMin", "q", "orderBy", "iCalUID",
    "privateExtendedProperty", "sharedExtendedProperty",
)  # fmt: skip


@dataclass(frozen=True)
class EventQuery:
    """The parameters of one events.list call, validated."""

    time_min: datetime | None = None
    time_max: datetime | None = None
    single_events: bool = False
    order_by: str | None = None
    text: str | None = None
    show_deleted: bool = False
    private: tuple[tuple[str, str], ...] = ()
    shared: tuple[tuple[str, str], ...] = ()
    ical_uid: str | None = None
    updated_min: datetime | None = None
    max_results: int = DEFAULT_PAGE
    sync_token: str | None = None
    page_token: str | None = None

    @classmethod
    def from_params(cls, params: Params) -> EventQuery:
        """Validate query-string parameters as Google does (400 on nonsense)."""
        if _one(params, "syncToken"):
            _refuse_sync_token_filters(params)
        query = cls(
            time_min=_time(params, "timeMin"),
            time_max=_time(params, "timeMax"),
            single_events=_flag(params, "singleEvents"),
            order_by=_order_by(params),
            text=_one(params, "q"),
            show_deleted=_flag(params, "showDeleted"),
            private=_properties(params, "privateExtendedProperty"),
            shared=_properties(params, "sharedExtendedProperty"),
            ical_uid=_one(params, "iCalUID"),
            updated_min=_time(params, "updatedMin"),
            max_results=_max_results(params),
            sync_token=_one(params, "syncToken"),
            page_token=_one(params, "pageToken"),
        )
        if query.order_by == "startTime" and not query.single_events:
            raise ApiError.bad_request(
                "The requested ordering is not available for the particular query."
            )
        return query


@dataclass(frozen=True)
class _Cursor:
    """What a page token remembers: where the next page starts and which sync it belongs to."""

    offset: int
    snapshot: int
    since: int | None

    def encode(self) -> str:
        raw = json.dumps([self.offset, self.snapshot, self.since]).encode()
        return base64.urlsafe_b64encode(raw).decode()

    @classmethod
    def decode(cls, token: str) -> _Cursor:
        try:
            offset, snapshot, since = json.loads(base64.urlsafe_b64decode(token.encode()))
            return cls(int(offset), int(snapshot), None if since is None else int(since))
        except (ValueError, TypeError, binascii.Error) as err:
            raise ApiError.bad_request("Invalid page token value.") from err


def list_events(store: CalendarStore, calendar_id: str, query: EventQuery) -> Json:
    """One page of events.list for ``calendar_id``."""
    snapshot = store.snapshot(calendar_id)
    cursor = _start_cursor(store, calendar_id, query, snapshot.seq)
    items = _select(snapshot, query, cursor.since)
    page = items[cursor.offset : cursor.offset + query.max_results]
    body = _envelope(snapshot, page)
    if cursor.offset + query.max_results < len(items):
        next_offset = cursor.offset + query.max_results
        body["nextPageToken"] = _Cursor(next_offset, cursor.snapshot, cursor.since).encode()
    else:
        body["nextSyncToken"] = store.issue_sync_token(calendar_id, cursor.snapshot)
    return body


def list_instances(store: CalendarStore, calendar_id: str, event_id: str, params: Params) -> Json:
    """events.instances: the series' instances, paged like events.list."""
    query = EventQuery(
        single_events=True,  # cancelled instances are hidden unless showDeleted
        time_min=_time(params, "timeMin"),
        time_max=_time(params, "timeMax"),
        show_deleted=_flag(params, "showDeleted"),
        max_results=_max_results(params),
        page_token=_one(params, "pageToken"),
    )
    snapshot = store.snapshot(calendar_id)
    instances = store.instances(calendar_id, event_id, query.time_max)
    items = [i for i in instances if _visible(i, query) and _in_window(i, query, snapshot)]
    offset = _Cursor.decode(query.page_token).offset if query.page_token else 0
    body = _envelope(snapshot, items[offset : offset + query.max_results])
    if offset + query.max_results < len(items):
        body["nextPageToken"] = _Cursor(offset + query.max_results, snapshot.seq, None).encode()
    return body


def _start_cursor(store: CalendarStore, calendar_id: str, query: EventQuery, seq: int) -> _Cursor:
    if query.page_token:
        return _Cursor.decode(query.page_token)
    since = store.sync_token_seq(calendar_id, query.sync_token) if query.sync_token else None
    return _Cursor(0, seq, since)


def _envelope(snapshot: CalendarSnapshot, items: list[Json]) -> Json:
    cal = snapshot.calendar
    updated = max((e["updated"] for e, _ in snapshot.events), default=format_ms(now_utc()))
    body: Json = {"kind": "calendar#events", "etag": cal["etag"], "summary": cal.get("summary", "")}
    body.update({"updated": updated, "timeZone": cal["timeZone"], "accessRole": "owner"})
    body.update({"defaultReminders": [], "items": items})
    return body


def _select(snapshot: CalendarSnapshot, query: EventQuery, since: int | None) -> list[Json]:
    events = [e for e, seq in snapshot.events if since is None or seq > since]
    if query.single_events:
        events = _expand(events, snapshot, query)
    if since is None:
        events = [e for e in events if _visible(e, query) and _matches(e, query, snapshot)]
    return _ordered(events, query, snapshot)


def _expand(events: list[Json], snapshot: CalendarSnapshot, query: EventQuery) -> list[Json]:
    """Replace each live series by its instances; stored exceptions stand for themselves."""
    stored = {e["id"] for e, _ in snapshot.events}
    until = query.time_max
    expanded: list[Json] = []
    for event in events:
        if not event.get("recurrence") or event.get("status") == "cancelled":
            expanded.append(event)
            continue
        for occ in occurrences(event, until):
            if instance_id(event["id"], occ) not in stored:
                expanded.append(instance_of(event, occ, snapshot.calendar["id"]))
    return expanded


def _visible(event: Json, query: EventQuery) -> bool:
    if event.get("status") != "cancelled" or query.show_deleted:
        return True
    # Cancelled exceptions of a series show up in an unexpanded list even without showDeleted.
    return bool(event.get("recurringEventId")) and not query.single_events


def _matches(event: Json, query: EventQuery, snapshot: CalendarSnapshot) -> bool:
    return (
        _in_window(event, query, snapshot)
        and _has_text(event, query.text)
        and _has_properties(event, "private", query.private)
        and _has_properties(event, "shared", query.shared)
        and query.ical_uid in (None, event.get("iCalUID"))
        and (query.updated_min is None or parse_rfc3339(event["updated"]) >= query.updated_min)
    )


def _in_window(event: Json, query: EventQuery, snapshot: CalendarSnapshot) -> bool:
    """Overlap test of events.list: end after timeMin and start before timeMax."""
    if query.time_min is None and query.time_max is None:
        return True
    tz = snapshot.calendar["timeZone"]
    if event.get("recurrence"):
        until = query.time_max
        spans = [(o.start, o.end) for o in occurrences(event, until)]
    else:
        spans = [(event["start"], event["end"])]
    return any(_overlaps(event_instant(s, tz), event_instant(e, tz), query) for s, e in spans)


def _overlaps(start: datetime, end: datetime, query: EventQuery) -> bool:
    after_min = query.time_min is None or end > query.time_min
    return after_min and (query.time_max is None or start < query.time_max)


def _has_text(event: Json, text: str | None) -> bool:
    """Free-text search over summary, description, location, attendees and organizer."""
    if not text:
        return True
    people = [*(event.get("attendees") or []), event.get("organizer") or {}]
    fields = [event.get(k) or "" for k in ("summary", "description", "location")]
    fields += [str(p.get(k) or "") for p in people for k in ("email", "displayName")]
    haystack = " ".join(fields).casefold()
    return all(term in haystack for term in text.casefold().split())


def _has_properties(event: Json, scope: str, wanted: tuple[tuple[str, str], ...]) -> bool:
    props = (event.get("extendedProperties") or {}).get(scope) or {}
    return all(props.get(key) == value for key, value in wanted)


def _ordered(events: list[Json], query: EventQuery, snapshot: CalendarSnapshot) -> list[Json]:
    tz = snapshot.calendar["timeZone"]
    if query.order_by == "startTime":
        return sorted(events, key=lambda e: event_instant(e["start"], tz))
    if query.order_by == "updated":
        return sorted(events, key=lambda e: str(e["updated"]))
    return events


def _refuse_sync_token_filters(params: Params) -> None:
    for name in _NOT_WITH_SYNC_TOKEN:
        if name in params:
            raise ApiError.bad_request(f"Sync token cannot be used together with {name}.")


def _one(params: Params, name: str) -> str | None:
    values = params.get(name)
    return values[-1] if values else None


def _flag(params: Params, name: str) -> bool:
    value = _one(params, name)
    if value not in (None, "true", "false", "True", "False"):
        raise ApiError.bad_request(f"Invalid boolean value for {name}: {value!r}")
    return value in ("true", "True")


def _time(params: Params, name: str) -> datetime | None:
    value = _one(params, name)
    return None if value is None else parse_rfc3339(value, name)


def _order_by(params: Params) -> str | None:
    value = _one(params, "orderBy")
    if value not in (None, "startTime", "updated"):
        raise ApiError.bad_request(f"Invalid value for orderBy: {value!r}")
    return value


def _max_results(params: Params) -> int:
    value = _one(params, "maxResults")
    try:
        number = DEFAULT_PAGE if value is None else int(value)
    except ValueError as err:
        raise ApiError.bad_request(f"Invalid value for maxResults: {value!r}") from err
    if number < 1:
        raise ApiError.bad_request(f"Invalid value for maxResults: {value!r}")
    return min(number, MAX_PAGE)


def _properties(params: Params, name: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for constraint in params.get(name, []):
        key, sep, value = constraint.partition("=")
        if not sep or not key:
            raise ApiError.bad_request(f"Invalid {name} constraint: {constraint!r}")
        pairs.append((key, value))
    return tuple(pairs)
