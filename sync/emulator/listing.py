"""events.list and events.instances: filters, expansion, ordering, pages and sync tokens.

Follows https://developers.google.com/calendar/api/v3/reference/events/list (parameters,
defaults: maxResults 250 capped at 2500; orderBy=startTime only with singleEvents; cancelled
exceptions of a series listed even without showDeleted when singleEvents is false) and
https://developers.google.com/calendar/api/guides/sync (an incremental list returns what
changed since the token, deletions included; the last page carries nextSyncToken, the others
nextPageToken; a syncToken cannot be combined with the filters named below). Also from the
events.list page:

- ``timeMax`` must be after ``timeMin``, else 400 timeRangeEmpty at ``timeMax``
  (https://developers.google.com/calendar/api/guides/errors shows exactly that error);
- with ``updatedMin``, "entries deleted since this time will always be included regardless of
  showDeleted";
- ``eventTypes`` (repeatable) keeps the types it names (.../guides/event-types);
- with ``singleEvents=true`` a series is listed as its instances, so a deleted series comes
  back as its cancelled instances; without, as its cancelled master (.../guides/sync,
  .../guides/recurringevents);
- what an account sees follows its accessRole on the calendar (:mod:`sync.emulator.access`).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sync.emulator.access import visible_part
from sync.emulator.errors import ApiError
from sync.emulator.event_types import parse_event_types
from sync.emulator.recurrence import HORIZON, Occurrence, instance_id, instance_of, occurrences
from sync.emulator.store import CalendarSnapshot, CalendarStore
from sync.emulator.timefmt import event_instant, format_ms, now_utc, parse_rfc3339

__all__ = ["EventQuery", "list_events", "list_instances", "select_events"]

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
    event_types: frozenset[str] = frozenset()

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
            event_types=parse_event_types(params.get("eventTypes", [])),
        )
        if query.order_by == "startTime" and not query.single_events:
            raise ApiError.bad_request(
                "The requested ordering is not available for the particular query.",
                parameter="orderBy",
            )
        _check_range(query.time_min, query.time_max)
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
            raise ApiError.bad_request("Invalid page token value.", parameter="pageToken") from err


def list_events(store: CalendarStore, calendar_id: str, query: EventQuery) -> Json:
    """One page of events.list for ``calendar_id``."""
    snapshot = store.snapshot(calendar_id)
    cursor = _start_cursor(store, calendar_id, query, snapshot.seq)
    items = _select(snapshot, query, cursor.since)
    page = _seen(items[cursor.offset : cursor.offset + query.max_results], snapshot)
    body = _envelope(snapshot, page)
    if cursor.offset + query.max_results < len(items):
        next_offset = cursor.offset + query.max_results
        body["nextPageToken"] = _Cursor(next_offset, cursor.snapshot, cursor.since).encode()
    else:
        body["nextSyncToken"] = store.issue_sync_token(calendar_id, cursor.snapshot)
    return body


def select_events(store: CalendarStore, calendar_id: str, query: EventQuery) -> list[Json]:
    """Every event a full (unpaged) events.list with ``query`` would return, in full."""
    return _select(store.snapshot(calendar_id), query, None)


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
    _check_range(query.time_min, query.time_max)
    snapshot = store.snapshot(calendar_id)
    instances = store.instances(calendar_id, event_id, query.time_max, query.time_min)
    items = [i for i in instances if _visible(i, query) and _in_window(i, query, snapshot)]
    offset = _Cursor.decode(query.page_token).offset if query.page_token else 0
    body = _envelope(snapshot, _seen(items[offset : offset + query.max_results], snapshot))
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
    body.update({"updated": updated, "timeZone": cal["timeZone"]})
    body["accessRole"] = snapshot.access_role
    body.update({"defaultReminders": [], "items": items})
    return body


def _select(snapshot: CalendarSnapshot, query: EventQuery, since: int | None) -> list[Json]:
    events = [e for e, seq in snapshot.events if since is None or seq > since]
    events = [e for e in events if _of_types(e, query.event_types)]
    if query.single_events:
        events = _expand(events, snapshot, query, incremental=since is not None)
    if since is None:
        events = [e for e in events if _visible(e, query) and _matches(e, query, snapshot)]
    return _ordered(events, query, snapshot)


def _seen(items: list[Json], snapshot: CalendarSnapshot) -> list[Json]:
    return [visible_part(item, snapshot.access_role) for item in items]


def _of_types(event: Json, wanted: frozenset[str]) -> bool:
    # An id-only cancelled item has no type left to filter on: a client must still see it.
    if not wanted or "start" not in event:
        return True
    return event.get("eventType", "default") in wanted


def _expand(
    events: list[Json], snapshot: CalendarSnapshot, query: EventQuery, *, incremental: bool
) -> list[Json]:
    """Replace each series by its instances; stored exceptions stand for themselves.

    A cancelled series becomes cancelled instances where a client could need them: in an
    incremental list, or when deleted entries are asked for; otherwise it is hidden anyway.
    """
    stored = {e["id"] for e, _ in snapshot.events}
    wants_deleted = incremental or query.show_deleted or query.updated_min is not None
    expanded: list[Json] = []
    for event in events:
        cancelled = event.get("status") == "cancelled"
        if not event.get("recurrence") or (cancelled and not wants_deleted):
            expanded.append(event)
            continue
        for occ in _window_occurrences(event, query, incremental):
            if instance_id(event["id"], occ) not in stored:
                instance = instance_of(event, occ, snapshot.calendar["id"])
                expanded.append(_cancelled_instance(instance) if cancelled else instance)
    return expanded


def _window_occurrences(event: Json, query: EventQuery, incremental: bool) -> list[Occurrence]:
    """The occurrences a listing could show; an incremental one has no window of its own,
    so it reaches a HORIZON back from now as well as ahead."""
    since = query.time_min
    if incremental and since is None:
        since = now_utc() - HORIZON
    return list(occurrences(event, query.time_max, since))


def _cancelled_instance(instance: Json) -> Json:
    """A cancelled instance as an incremental sync returns it (.../guides/sync)."""
    kept = ("kind", "etag", "id", "recurringEventId", "originalStartTime", "updated")
    return {**{k: instance[k] for k in kept if k in instance}, "status": "cancelled"}


def _visible(event: Json, query: EventQuery) -> bool:
    if event.get("status") != "cancelled" or query.show_deleted:
        return True
    if query.updated_min is not None:
        return True  # deleted since updatedMin: listed whatever showDeleted says
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
    if (query.time_min is None and query.time_max is None) or "start" not in event:
        return True
    tz = snapshot.calendar["timeZone"]
    if event.get("recurrence"):
        spans = [(o.start, o.end) for o in occurrences(event, query.time_max, query.time_min)]
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
        return sorted(events, key=lambda e: _start_key(e, tz))
    if query.order_by == "updated":
        return sorted(events, key=lambda e: str(e["updated"]))
    return events


def _start_key(event: Json, tz: str) -> datetime:
    when = event.get("start") or event.get("originalStartTime")
    return event_instant(when, tz) if when else datetime.min.replace(tzinfo=UTC)


def _check_range(time_min: datetime | None, time_max: datetime | None) -> None:
    if time_min is not None and time_max is not None and time_max <= time_min:
        raise ApiError.time_range_empty()


def _refuse_sync_token_filters(params: Params) -> None:
    for name in _NOT_WITH_SYNC_TOKEN:
        if name in params:
            raise ApiError.bad_request(
                f"Sync token cannot be used together with {name}.", parameter=name
            )


def _one(params: Params, name: str) -> str | None:
    values = params.get(name)
    return values[-1] if values else None


def _flag(params: Params, name: str) -> bool:
    value = _one(params, name)
    if value not in (None, "true", "false", "True", "False"):
        raise ApiError.invalid_value(name, value)
    return value in ("true", "True")


def _time(params: Params, name: str) -> datetime | None:
    value = _one(params, name)
    if value is None:
        return None
    try:
        return parse_rfc3339(value, name)
    except ApiError as err:
        raise ApiError.invalid_value(name, value) from err


def _order_by(params: Params) -> str | None:
    value = _one(params, "orderBy")
    if value not in (None, "startTime", "updated"):
        raise ApiError.invalid_value("orderBy", value)
    return value


def _max_results(params: Params) -> int:
    value = _one(params, "maxResults")
    try:
        number = DEFAULT_PAGE if value is None else int(value)
    except ValueError as err:
        raise ApiError.invalid_value("maxResults", value) from err
    if number < 1:
        raise ApiError.invalid_value("maxResults", value)
    return min(number, MAX_PAGE)


def _properties(params: Params, name: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for constraint in params.get(name, []):
        key, sep, value = constraint.partition("=")
        if not sep or not key:
            raise ApiError.invalid_value(name, constraint)
        pairs.append((key, value))
    return tuple(pairs)
