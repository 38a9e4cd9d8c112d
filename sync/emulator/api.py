"""The Calendar API v3 methods, routed from a transport-neutral request.

Both the HTTP app and the batch endpoint feed :class:`ApiRequest` objects here, so a call
behaves the same inside and outside a batch. Paths are accepted at the root and under
``/calendar/v3`` (the client's ``api_endpoint`` option replaces the whole base URL).
Method semantics: https://developers.google.com/calendar/api/v3/reference; errors:
https://developers.google.com/calendar/api/guides/errors; conditional requests:
https://developers.google.com/calendar/api/guides/version-resources. calendarList follows
https://developers.google.com/calendar/api/v3/reference/calendarList/list: ``minAccessRole``,
``showDeleted``, pages, and ``nextSyncToken`` on the last page; with ``syncToken`` the list
holds what changed since, removed calendars included (``deleted: true``), ``minAccessRole``
may not be given and ``showDeleted`` is implied. colors.get:
https://developers.google.com/calendar/api/v3/reference/colors/get; freebusy.query:
:mod:`sync.emulator.freebusy`. When the authorization server requires it, each call needs
a live access token holding a scope its method accepts (:mod:`sync.emulator.oauth`),
checked before quotas and faults as Google authenticates a request before serving it.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sync.emulator.access import ROLES, role_at_least, visible_part
from sync.emulator.colors import colors_resource
from sync.emulator.errors import ApiError, error_body
from sync.emulator.faults import FaultInjector
from sync.emulator.freebusy import query_free_busy
from sync.emulator.listing import EventQuery, list_events, list_instances
from sync.emulator.oauth import AuthorizationServer
from sync.emulator.push import PushNotifier
from sync.emulator.quota import QuotaLimiter
from sync.emulator.stats import RequestStats
from sync.emulator.store import CalendarEntry, CalendarStore

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
        oauth: AuthorizationServer | None = None,
    ) -> None:
        self.store = store
        self.oauth = oauth if oauth is not None else AuthorizationServer(store.owner)
        self.notifier = notifier
        self.faults = faults
        self.stats = stats
        self.quota = QuotaLimiter()

    def handle(self, request: ApiRequest) -> ApiResponse:
        """Answer one call, turning ApiError into Google's error response."""
        try:
            name, handler, args = _route(request.method, request.path)
            authorization = request.headers.get("authorization")
            user = self.oauth.check_call(authorization, name)
            self.quota.admit(user or authorization or "anonymous")
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
        params = request.params
        size = _page_size(params, *_CALENDAR_LIST_PAGE)
        offset, seq, since = _list_cursor(self.store, params)
        entries = [_list_entry(e) for e in self._entries(params, since)]
        body: Json = {"kind": "calendar#calendarList", "etag": f'"{seq}"'}
        body["items"] = entries[offset : offset + size]
        if offset + size < len(entries):
            body["nextPageToken"] = _encode_list_page(offset + size, seq, since)
        else:
            body["nextSyncToken"] = self.store.issue_sync_token(None, seq)
        return ApiResponse.of_json(body)

    def _entries(self, params: Mapping[str, list[str]], since: int | None) -> list[CalendarEntry]:
        show_deleted = _one(params, "showDeleted") == "true"
        entries, _ = self.store.calendar_entries(since, removed=show_deleted)
        if since is not None:
            return entries  # removals always come with an incremental list
        least = _min_access_role(params)
        return [e for e in entries if role_at_least(e.access_role, least)]

    def _calendar_entry(self, request: ApiRequest, args: list[str]) -> ApiResponse:
        return ApiResponse.of_json(_list_entry(self.store.calendar_entry(args[0])))

    def _colors(self, request: ApiRequest, args: list[str]) -> ApiResponse:
        return ApiResponse.of_json(colors_resource())

    def _free_busy(self, request: ApiRequest, args: list[str]) -> ApiResponse:
        return ApiResponse.of_json(query_free_busy(self.store, request.json()))

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
        role = self.store.access_role(args[0])
        event = visible_part(self.store.get_event(args[0], args[1]), role)
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
    ("GET", ("colors",), "colors.get", CalendarApi._colors),
    ("POST", ("freeBusy",), "freebusy.query", CalendarApi._free_busy),
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


def _list_entry(entry: CalendarEntry) -> Json:
    """The calendarList resource of ``entry``; a removed calendar keeps only its id."""
    base = {"kind": "calendar#calendarListEntry", **entry.resource}
    if entry.deleted:
        return {**base, "deleted": True}
    body = {**base, "accessRole": entry.access_role, "defaultReminders": []}
    body.update({"selected": True, "colorId": "14"})
    body.update({"backgroundColor": "#9fe1e7", "foregroundColor": "#000000"})
    if entry.primary:
        body["primary"] = True
    return body


def _min_access_role(params: Mapping[str, list[str]]) -> str:
    value = _one(params, "minAccessRole") or ROLES[0]
    if value not in ROLES:
        raise ApiError.invalid_value("minAccessRole", value)
    return value


def _list_cursor(
    store: CalendarStore, params: Mapping[str, list[str]]
) -> tuple[int, int, int | None]:
    """(offset, snapshot seq, since) of a calendarList page."""
    page, token = _one(params, "pageToken"), _one(params, "syncToken")
    if token is not None and "minAccessRole" in params:
        message = "Sync token cannot be used together with minAccessRole."
        raise ApiError.bad_request(message, parameter="minAccessRole")
    if page is not None:
        return _decode_list_page(page)
    _, seq = store.calendar_entries()
    since = None if token is None else store.sync_token_seq(None, token)
    return 0, seq, since


def _encode_list_page(offset: int, seq: int, since: int | None) -> str:
    return f"{offset}.{seq}.{'' if since is None else since}"


def _decode_list_page(token: str) -> tuple[int, int, int | None]:
    parts = token.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts[:2]):
        raise ApiError.bad_request("Invalid page token value.", parameter="pageToken")
    since = parts[2]
    if since and not since.isdigit():
        raise ApiError.bad_request("Invalid page token value.", parameter="pageToken")
    return int(parts[0]), int(parts[1]), int(since) if since else None


def _one(params: Mapping[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[-1] if values else None


def _page_size(params: Mapping[str, list[str]], default: int, maximum: int) -> int:
    value = _one(params, "maxResults")
    try:
        size = default if value is None else int(value)
    except ValueError as err:
        raise ApiError.invalid_value("maxResults", value) from err
    if size < 1:
        raise ApiError.invalid_value("maxResults", value)
    return min(size, maximum)
