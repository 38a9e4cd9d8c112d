"""The Calendar API v3 methods, routed from a transport-neutral request.

Both the HTTP app and the batch endpoint feed :class:`ApiRequest` objects here, so a call
behaves the same inside and outside a batch. Paths are accepted at the root and under
``/calendar/v3`` (the client's ``api_endpoint`` option replaces the whole base URL).
Method semantics: https://developers.google.com/calendar/api/v3/reference; errors:
https://developers.google.com/calendar/api/guides/errors; conditional requests:
https://developers.google.com/calendar/api/guides/version-resources.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sync.emulator.errors import ApiError, error_body
from sync.emulator.faults import FaultInjector
from sync.emulator.listing import EventQuery, list_events, list_instances
from sync.emulator.push import PushNotifier
from sync.emulator.quota import QuotaLimiter
from sync.emulator.stats import RequestStats
from sync.emulator.store import CalendarStore

__all__ = ["ApiRequest", "ApiResponse", "CalendarApi"]

Json = dict[str, Any]
_PREFIX = ("calendar", "v3")
_CALENDAR_LIST_PAGE = (100, 250)  # default and maximum of calendarList.list maxResults


@dataclass(frozen=True)
class ApiRequest:
    """One API call: method, raw (percent-encoded) path, query, lower-cased headers, body."""

    method: str
    path: str
    params: dict[str, list[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    base_url: str = "http://127.0.0.1/"

    def json(self) -> Json:
        """The body as a JSON object, or 400 parseError."""
        try:
            data = json.loads(self.body or b"{}")
        except ValueError as err:
            raise ApiError(400, "parseError", "Parse Error") from err
        if not isinstance(data, dict):
            raise ApiError(400, "parseError", "Parse Error")
        return data


@dataclass(frozen=True)
class ApiResponse:
    """What the API answers: status, body bytes and extra headers."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of_json(cls, payload: Json, status: int = 200) -> ApiResponse:
        """A JSON response."""
        return cls(status, json.dumps(payload).encode(), {"Content-Type": _JSON})

    @classmethod
    def of_error(cls, error: ApiError) -> ApiResponse:
        """Google's JSON error body for ``error``."""
        return cls(error.status, error_body(error), {"Content-Type": _JSON, **error.headers})


_JSON = "application/json; charset=UTF-8"
_Handler = Callable[["CalendarApi", ApiRequest, list[str]], ApiResponse]


class CalendarApi:
    """Routes API calls to the store and the push notifier, counting and faulting them."""

    def __init__(
        self,
        store: CalendarStore,
        notifier: PushNotifier,
        faults: FaultInjector,
        stats: RequestStats,
    ) -> None:
        self.store = store
        self.notifier = notifier
        self.faults = faults
        self.stats = stats
        self.quota = QuotaLimiter()

    def handle(self, request: ApiRequest) -> ApiResponse:
        """Answer one call, turning ApiError into Google's error response."""
        try:
            name, handler, args = _route(request.method, request.path)
            self.quota.admit(request.headers.get("authorization") or "anonymous")
            self.admit(name)
            return handler(self, request, args)
        except ApiError as error:
            return ApiResponse.of_error(error)

    def admit(self, method: str) -> None:
        """Count a call of ``method`` and serve it an injected fault, if one is armed."""
        self.stats.record(method)
        fault = self.faults.take(method)
        if fault is None:
            return
        if fault.delay:
            time.sleep(fault.delay)
        error = fault.error()
        if error is not None:
            raise error

    # calendarList and calendars ----------------------------------------------------------

    def _calendar_list(self, request: ApiRequest, args: list[str]) -> ApiResponse:
        entries = [_list_entry(c, self.store.owner) for c in self.store.list_calendars()]
        size = _page_size(request.params, *_CALENDAR_LIST_PAGE)
        offset = _offset(_one(request.params, "pageToken"))
        body: Json = {"kind": "calendar#calendarList", "etag": f'"{len(entries)}"'}
        body["items"] = entries[offset : offset + size]
        if offset + size < len(entries):
            body["nextPageToken"] = str(offset + size)
        return ApiResponse.of_json(body)

    def _calendar_entry(self, request: ApiRequest, args: list[str]) -> ApiResponse:
        return ApiResponse.of_json(_list_entry(self.store.get_calendar(args[0]), self.store.owner))

    def _calendar_insert(self, request: ApiRequest, args: list[str]) -> ApiResponse:
        return ApiResponse.of_json(self.store.insert_calendar(request.json()))

    def _calendar_get(self, request: ApiRequest, args: list[str]) -> ApiResponse:
        return ApiResponse.of_json(self.store.get_calendar(args[0]))

    def _calendar_delete(self, request: ApiRequest, args: list[str]) -> ApiResponse:
        self.store.delete_calendar(args[0])
        return ApiResponse(204)

    # events -------------------------------------------------------------------------------

    def _events_list(self, request: ApiRequest, args: list[str]) -> ApiResponse:
        query = EventQuery.from_params(request.params)
        return ApiResponse.of_json(list_events(self.store, args[0], query))

    def _series(self, request: ApiRequest, args: list[str]) -> ApiResponse:
        return ApiResponse.of_json(list_instances(self.store, args[0], args[1], request.params))

    def _events_insert(self, request: ApiRequest, args: list[str]) -> ApiResponse:
        return ApiResponse.of_json(self.store.insert_event(args[0], request.json()))

    def _events_get(self, request: ApiRequest, args: list[str]) -> ApiResponse:
        event = self.store.get_event(args[0], args[1])
        if request.headers.get("if-none-match") in (event["etag"], "*"):
            return ApiResponse(304, headers={"ETag": event["etag"]})
        return ApiResponse.of_json(event)

    def _events_patch(self, request: ApiRequest, args: list[str]) -> ApiResponse:
        if_match = request.headers.get("if-match")
        return ApiResponse.of_json(
            self.store.patch_event(args[0], args[1], request.json(), if_match)
        )

    def _events_update(self, request: ApiRequest, args: list[str]) -> ApiResponse:
        if_match = request.headers.get("if-match")
        return ApiResponse.of_json(
            self.store.update_event(args[0], args[1], request.json(), if_match)
        )

    def _events_delete(self, request: ApiRequest, args: list[str]) -> ApiResponse:
        self.store.delete_event(args[0], args[1], request.headers.get("if-match"))
        return ApiResponse(204)

    # push ---------------------------------------------------------------------------------

    def _events_watch(self, request: ApiRequest, args: list[str]) -> ApiResponse:
        calendar_id = self.store.resolve(args[0])
        quoted = urllib.parse.quote(calendar_id, safe="@")
        uri = f"{request.base_url.rstrip('/')}/calendar/v3/calendars/{quoted}/events?alt=json"
        return ApiResponse.of_json(self.notifier.watch(calendar_id, request.json(), uri))

    def _channels_stop(self, request: ApiRequest, args: list[str]) -> ApiResponse:
        self.notifier.stop_channel(request.json())
        return ApiResponse(204)


_ROUTES: list[tuple[str, tuple[str, ...], str, _Handler]] = [
    ("GET", ("users", "me", "calendarList"), "calendarList.list", CalendarApi._calendar_list),
    ("GET", ("users", "me", "calendarList", "*"), "calendarList.get", CalendarApi._calendar_entry),
    ("POST", ("calendars",), "calendars.insert", CalendarApi._calendar_insert),
    ("GET", ("calendars", "*"), "calendars.get", CalendarApi._calendar_get),
    ("DELETE", ("calendars", "*"), "calendars.delete", CalendarApi._calendar_delete),
    ("GET", ("calendars", "*", "events"), "events.list", CalendarApi._events_list),
    ("POST", ("calendars", "*", "events"), "events.insert", CalendarApi._events_insert),
    ("POST", ("calendars", "*", "events", "watch"), "events.watch", CalendarApi._events_watch),
    (
        "GET",
        ("calendars", "*", "events", "*", "instances"),
        "events.instances",
        CalendarApi._series,
    ),
    ("GET", ("calendars", "*", "events", "*"), "events.get", CalendarApi._events_get),
    ("PATCH", ("calendars", "*", "events", "*"), "events.patch", CalendarApi._events_patch),
    ("PUT", ("calendars", "*", "events", "*"), "events.update", CalendarApi._events_update),
    ("DELETE", ("calendars", "*", "events", "*"), "events.delete", CalendarApi._events_delete),
    ("POST", ("channels", "stop"), "channels.stop", CalendarApi._channels_stop),
]


def method_name(method: str, path: str) -> str | None:
    """The API method (``events.list``...) a call would reach, or None."""
    try:
        return _route(method, path)[0]
    except ApiError:
        return None


def _route(method: str, path: str) -> tuple[str, _Handler, list[str]]:
    segments = _segments(path)
    for verb, pattern, name, handler in _ROUTES:
        if verb == method.upper() and len(pattern) == len(segments):
            args = _match(pattern, segments)
            if args is not None:
                return name, handler, args
    raise ApiError.not_found()


def _segments(path: str) -> list[str]:
    raw = [s for s in path.split("?", 1)[0].split("/") if s]
    if tuple(raw[:2]) == _PREFIX:
        raw = raw[2:]
    return [urllib.parse.unquote(s) for s in raw]


def _match(pattern: tuple[str, ...], segments: list[str]) -> list[str] | None:
    args = []
    for want, got in zip(pattern, segments, strict=True):
        if want == "*":
            args.append(got)
        elif want != got:
            return None
    return args


def _list_entry(calendar: Json, owner: str) -> Json:
    """A calendarList entry for a calendar the account owns."""
    entry = {**calendar, "kind": "calendar#calendarListEntry", "accessRole": "owner"}
    entry.update({"defaultReminders": [], "selected": True, "colorId": "14"})
    entry.update({"backgroundColor": "#9fe1e7", "foregroundColor": "#000000"})
    if calendar["id"] == owner:
        entry["primary"] = True
    return entry


def _one(params: Mapping[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[-1] if values else None


def _offset(token: str | None) -> int:
    if token is None:
        return 0
    if not token.isdigit():
        raise ApiError.bad_request("Invalid page token value.")
    return int(token)


def _page_size(params: Mapping[str, list[str]], default: int, maximum: int) -> int:
    value = _one(params, "maxResults")
    try:
        size = default if value is None else int(value)
    except ValueError as err:
        raise ApiError.bad_request(f"Invalid value for maxResults: {value!r}") from err
    if size < 1:
        raise ApiError.bad_request(f"Invalid value for maxResults: {value!r}")
    return min(size, maximum)
