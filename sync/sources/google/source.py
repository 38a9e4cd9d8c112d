"""Google Calendar as a calendar source: full and incremental sync (SPEC §9).

Follows https://developers.google.com/calendar/api/guides/sync:

- the first sync lists the scan horizon (``timeMin``/``timeMax`` from the settings'
  ``scan_days_back``/``scan_days_ahead``) with ``singleEvents=true`` (each instance of a
  recurring event on its own, .../guides/recurringevents) and ``maxResults=2500``, page
  by page (``pageToken``) to the ``nextSyncToken`` on the last page
  (https://developers.google.com/calendar/api/v3/reference/events/list);
- later syncs send only ``syncToken`` (Google answers 400 when it is combined with
  ``timeMin``, ``timeMax``, ``q``... ) and get what changed, deletions included;
- HTTP 410 means the token is gone: the source drops it and lists in full, in the same
  pull (the :class:`~sync.sources.port.ChangeSet` then says ``full``).

Flags (SPEC §6) are read with events.get and written with events.patch carrying
``If-Match`` (https://developers.google.com/calendar/api/guides/version-resources):
412 becomes :class:`~sync.sources.port.EventChanged`, 403 ``requiredAccessLevel``
:class:`~sync.sources.port.CalendarReadOnly`. A calendar the account may only read
(``accessRole`` reader or freeBusyReader, which every events.list page and calendarList entry
states: https://developers.google.com/calendar/api/v3/reference/events/list) is refused
before any write is sent. In a patch ``null`` removes a field or a
private property, which is how a flag comes off.

When a calendar is busy (for the free slots a flag offers, SPEC §6) comes from
freebusy.query (https://developers.google.com/calendar/api/v3/reference/freebusy/query),
which needs one of its own scopes (``calendar.events.freebusy`` is the narrowest); a
calendar the answer lists with ``errors`` is a :class:`GoogleProviderError`.

Every request goes through :func:`sync.sources.google.retry.call_with_retry` and is counted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rules.flag import EventFlagState, FlagPatch
from rules.slots import BusyPeriod
from sync.errors import ClinicSyncError
from sync.sources.google.client import CalendarClient
from sync.sources.google.errors import GoogleProviderError, GoogleSetupError, SyncTokenExpired
from sync.sources.google.mapping import (
    CalendarView,
    MalformedEvent,
    event_id,
    is_removed,
    not_a_booking,
    read_event,
    zone_named,
)
from sync.sources.google.retry import RetryPolicy, call_with_retry
from sync.sources.port import (
    CalendarReadOnly,
    ChangeSet,
    EventChanged,
    RemoteCalendar,
    RemoteEvent,
    SkippedEvent,
)
from sync.store.events import StoredEvent

__all__ = ["PAGE_SIZE", "GoogleCalendarSource"]

_log = logging.getLogger(__name__)
PAGE_SIZE = 2500  # the most events.list returns per page
_CALENDAR_LIST_PAGE = 250
Json = dict[str, Any]
_UTC = ZoneInfo("UTC")


@dataclass
class _Tally:
    """The HTTP requests one operation made, retries included."""

    requests: int = 0

    def count(self) -> None:
        self.requests += 1


@dataclass
class _Listing:
    """The pages of one events.list run, read into records."""

    events: dict[str, StoredEvent] = field(default_factory=dict)
    removed: dict[str, None] = field(default_factory=dict)
    skipped: list[SkippedEvent] = field(default_factory=list)
    ignored: list[SkippedEvent] = field(default_factory=list)
    cursor: str | None = None
    time_zone: str | None = None


class GoogleCalendarSource:
    """The :class:`~sync.sources.port.CalendarSource` of one Google account."""

    def __init__(
        self,
        client: CalendarClient,
        *,
        scan_days_back: int = 180,
        scan_days_ahead: int = 365,
        patient_id_property: str = "patient_id",
        retry: RetryPolicy | None = None,
        now: Callable[[], datetime] | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.client = client
        self.scan_days_back = scan_days_back
        self.scan_days_ahead = scan_days_ahead
        self.patient_id_property = patient_id_property
        self.retry = retry or RetryPolicy()
        self._now = now or (lambda: datetime.now(UTC))
        self.page_size = page_size
        self._seen: dict[str, RemoteCalendar] = {}  # each calendar as Google last described it

    def close(self) -> None:
        """Close the client's connections (every thread's)."""
        self.client.close()

    def list_calendars(self) -> list[RemoteCalendar]:
        """Every calendar in the account's calendarList, following its pages."""
        calendars: list[RemoteCalendar] = []
        token: str | None = None
        while True:
            request = self.client.resource("calendarList").list(
                maxResults=_CALENDAR_LIST_PAGE, pageToken=token
            )
            page = self._execute(request, "listing calendars", _Tally())
            calendars += [self._saw(_remote_calendar(item)) for item in page.get("items", [])]
            token = page.get("nextPageToken")
            if not token:
                return calendars

    def get_calendar(self, calendar_id: str) -> RemoteCalendar:
        """The calendarList entry of ``calendar_id`` (404 → :class:`CalendarNotFound`)."""
        request = self.client.resource("calendarList").get(calendarId=calendar_id)
        item = self._execute(request, f"reading calendar {calendar_id}", _Tally())
        return self._saw(_remote_calendar(item))

    def pull(self, calendar_id: str, cursor: str | None) -> ChangeSet:
        """Changes since ``cursor``; a full listing when there is none or it expired."""
        tally = _Tally()
        if cursor is not None:
            try:
                listing = self._list(calendar_id, {"syncToken": cursor}, tally)
                return _change_set(listing, tally, full=False)
            except SyncTokenExpired:
                _log.info("sync token of %s expired; listing it in full", calendar_id)
        time_min, time_max = self._horizon()
        params = {"timeMin": _rfc3339(time_min), "timeMax": _rfc3339(time_max)}
        listing = self._list(calendar_id, params, tally)
        zone = zone_named(listing.time_zone) or UTC
        window = (
            time_min.astimezone(zone).date() + timedelta(days=1),
            time_max.astimezone(zone).date() - timedelta(days=1),
        )
        return _change_set(listing, tally, full=True, window=window)

    def get_event(self, calendar_id: str, event_id: str) -> RemoteEvent | None:
        """events.get; ``None`` when the event is gone (404, 410 or ``status: cancelled``)."""
        request = self.client.resource("events").get(calendarId=calendar_id, eventId=event_id)
        try:
            item = self._execute(request, f"reading event {event_id} of {calendar_id}", _Tally())
        except ClinicSyncError as err:
            if _status(err) in (404, 410):
                return None
            raise
        return None if is_removed(item) else _remote_event(item)

    def write_flag(
        self, calendar_id: str, event_id: str, patch: FlagPatch, *, etag: str
    ) -> RemoteEvent:
        """events.patch with ``If-Match: etag``: the flag's description, colour and properties."""
        self._refuse_read_only(calendar_id)
        request = self.client.resource("events").patch(
            calendarId=calendar_id, eventId=event_id, body=_patch_body(patch)
        )
        request.headers["If-Match"] = etag
        what = f"writing the flag of event {event_id} on {calendar_id}"
        try:
            return _remote_event(self._execute(request, what, _Tally()))
        except ClinicSyncError as err:
            raise _write_error(err) from err

    def free_busy(self, calendar_id: str, start: datetime, end: datetime) -> list[BusyPeriod]:
        """freebusy.query for ``calendar_id`` between ``start`` and ``end``."""
        body = {
            "timeMin": _rfc3339(start),
            "timeMax": _rfc3339(end),
            "items": [{"id": calendar_id}],
        }
        request = self.client.resource("freebusy").query(body=body)
        answer = self._execute(request, f"reading when {calendar_id} is busy", _Tally())
        return _busy_periods(answer, calendar_id)

    def _refuse_read_only(self, calendar_id: str) -> None:
        calendar = self._seen.get(calendar_id) or self.get_calendar(calendar_id)
        if not calendar.writable:
            raise CalendarReadOnly(
                f"the connected Google account has {calendar.access_role} access to "
                f"{calendar_id}; writing a flag needs writer or owner access"
            )

    def _saw(self, calendar: RemoteCalendar) -> RemoteCalendar:
        self._seen[calendar.id] = calendar
        return calendar

    def _horizon(self) -> tuple[datetime, datetime]:
        now = self._now()
        return now - timedelta(days=self.scan_days_back), now + timedelta(days=self.scan_days_ahead)

    def _list(self, calendar_id: str, params: dict[str, str], tally: _Tally) -> _Listing:
        listing = _Listing()
        for page in self._pages(calendar_id, params, tally):
            view = self._view(calendar_id, page, listing)
            for item in page.get("items", []):
                _take(listing, item, view)
            listing.cursor = page.get("nextSyncToken") or listing.cursor
        return listing

    def _pages(self, calendar_id: str, params: dict[str, str], tally: _Tally) -> Iterator[Json]:
        events = self.client.resource("events")
        token: str | None = None
        while True:
            request = events.list(
                calendarId=calendar_id,
                singleEvents=True,
                maxResults=self.page_size,
                pageToken=token,
                **params,
            )
            page = self._execute(request, f"listing events of {calendar_id}", tally)
            yield page
            token = page.get("nextPageToken")
            if not token:
                return

    def _view(self, calendar_id: str, page: Json, listing: _Listing) -> CalendarView:
        listing.time_zone = listing.time_zone or page.get("timeZone")
        if page.get("accessRole"):
            self._saw(_remote_calendar({**page, "id": calendar_id}))
        zone = zone_named(listing.time_zone)
        if zone is None:
            _log.warning("calendar %s has time zone %r; using UTC", calendar_id, listing.time_zone)
        return CalendarView(
            id=calendar_id,
            name=str(page.get("summary") or calendar_id),
            zone=zone or _UTC,
            patient_id_property=self.patient_id_property,
        )

    def _execute(self, request: Any, what: str, tally: _Tally) -> Json:
        page = call_with_retry(request.execute, what, self.retry, on_attempt=tally.count)
        return dict(page)


def _take(listing: _Listing, item: Json, view: CalendarView) -> None:
    identifier = event_id(item)
    ignored = not_a_booking(item)
    if identifier and (is_removed(item) or ignored):
        listing.events.pop(identifier, None)
        listing.removed[identifier] = None
        if ignored and not is_removed(item):
            listing.ignored.append(SkippedEvent(identifier, ignored))
        return
    try:
        event = read_event(item, view)
    except (MalformedEvent, TypeError, ValueError) as err:
        # TypeError/ValueError: JSON of a shape the resource never has (a list for a
        # summary...). It costs that event, recorded, never the rest of the listing.
        listing.skipped.append(SkippedEvent(identifier, _reason(err)))
        return
    listing.removed.pop(identifier, None)
    listing.events[identifier] = event


def _reason(err: Exception) -> str:
    return str(err) if isinstance(err, MalformedEvent) else f"unreadable event ({err})"


def _change_set(
    listing: _Listing, tally: _Tally, *, full: bool, window: tuple[date, date] | None = None
) -> ChangeSet:
    return ChangeSet(
        events=tuple(listing.events.values()),
        removed=tuple(listing.removed),
        cursor=listing.cursor,
        full=full,
        window=window,
        skipped=tuple(listing.skipped),
        ignored=tuple(listing.ignored),
        requests=tally.requests,
        time_zone=listing.time_zone,
    )


def _remote_calendar(item: Json) -> RemoteCalendar:
    return RemoteCalendar(
        id=str(item["id"]),
        summary=str(item.get("summaryOverride") or item.get("summary") or item["id"]),
        time_zone=str(item.get("timeZone") or "UTC"),
        access_role=str(item.get("accessRole") or "reader"),
        primary=item.get("primary") is True,
    )


def _busy_periods(answer: Json, calendar_id: str) -> list[BusyPeriod]:
    calendar = answer.get("calendars", {}).get(calendar_id)
    if not isinstance(calendar, dict) or calendar.get("errors"):
        reasons = ", ".join(
            str(e.get("reason")) for e in (calendar or {}).get("errors", []) if isinstance(e, dict)
        )
        raise GoogleProviderError(
            f"Google gave no free/busy for {calendar_id}: {reasons or 'calendar missing'}"
        )
    return [
        (_instant(period["start"]), _instant(period["end"])) for period in calendar.get("busy", [])
    ]


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _status(err: ClinicSyncError) -> int | None:
    return err.status if isinstance(err, GoogleProviderError | GoogleSetupError) else None


def _write_error(err: ClinicSyncError) -> ClinicSyncError:
    if _status(err) == 412:
        return EventChanged(str(err))
    if isinstance(err, GoogleSetupError) and err.reason in _READ_ONLY_REASONS:
        return CalendarReadOnly(str(err))
    return err


_READ_ONLY_REASONS = frozenset({"requiredAccessLevel", "forbiddenForNonOrganizer"})


def _patch_body(patch: FlagPatch) -> Json:
    return {
        "description": patch.description,
        "colorId": patch.color_id,
        "extendedProperties": {"private": dict(patch.private)},
    }


def _remote_event(item: Json) -> RemoteEvent:
    properties = item.get("extendedProperties") or {}
    private = properties.get("private") or {}
    return RemoteEvent(
        event_id=str(item.get("id") or ""),
        etag=str(item.get("etag") or ""),
        flag_state=EventFlagState(
            description=str(item.get("description") or ""),
            color_id=str(item["colorId"]) if item.get("colorId") else None,
            private={str(k): str(v) for k, v in private.items() if isinstance(v, str)},
        ),
    )
