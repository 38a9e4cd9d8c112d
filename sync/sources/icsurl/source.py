"""A read-only .ics URL as a calendar source (SPEC §9 "read-only ICS URLs").

Each pull is one conditional GET (RFC 9110 §13: ``If-None-Match`` with the last ETag,
``If-Modified-Since`` with the last ``Last-Modified``). A 304 means nothing changed. A
200 is read whole (RFC 5545, recurrences expanded by :mod:`sync.ical.mapping`) and
compared with the snapshot of event hashes kept in the cursor
(:mod:`sync.ical.snapshot`): new or changed events come back as changes, events that are
no longer served as removed ids. Without a cursor the pull is a full listing.

The calendar id is the URL. ``X-WR-CALNAME`` names the calendar and ``X-WR-TIMEZONE``
gives its zone (else ``default_zone``). The account may only read:
:class:`~sync.sources.port.RemoteCalendar` says ``reader`` (so ``writable`` is false)
and the flag methods raise :class:`~sync.sources.icsurl.errors.ReadOnlySource`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from rules.flag import FlagPatch
from rules.slots import BusyPeriod
from sync.ical.document import CalendarDocument, MalformedCalendar, read_document
from sync.ical.mapping import CalendarView, read_events, scan_window
from sync.ical.snapshot import decode_cursor, diff_events, encode_cursor
from sync.sources.icsurl.errors import FeedRejected, FeedUnavailable, ReadOnlySource
from sync.sources.port import ChangeSet, RemoteCalendar, RemoteEvent, busy_of_events

__all__ = ["CURSOR_KIND", "IcsUrlSource"]

CURSOR_KIND = "ics1"
_log = logging.getLogger(__name__)
_USER_AGENT = "clinic-sync (calendar safety net; read-only subscription)"


@dataclass(frozen=True, slots=True)
class _Fetched:
    """One answer of the server: ``calendar`` is ``None`` on 304 Not Modified."""

    calendar: CalendarDocument | None
    etag: str | None
    last_modified: str | None


class IcsUrlSource:
    """The :class:`~sync.sources.port.CalendarSource` of read-only .ics subscriptions."""

    def __init__(
        self,
        subscriptions: Sequence[str] = (),
        *,
        client: httpx.Client | None = None,
        timeout: float = 30.0,
        scan_days_back: int = 180,
        scan_days_ahead: int = 365,
        default_zone: str = "UTC",
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.subscriptions = tuple(subscriptions)
        self.client = client or httpx.Client(
            timeout=timeout, follow_redirects=True, headers={"User-Agent": _USER_AGENT}
        )
        self.scan_days_back = scan_days_back
        self.scan_days_ahead = scan_days_ahead
        self.default_zone = default_zone
        self._now = now or (lambda: datetime.now(UTC))

    def close(self) -> None:
        """Close the HTTP connections."""
        self.client.close()

    def list_calendars(self) -> list[RemoteCalendar]:
        """Each subscribed URL, read once for its name and zone."""
        return [self.get_calendar(url) for url in self.subscriptions]

    def get_calendar(self, calendar_id: str) -> RemoteCalendar:
        """The calendar the URL serves; :class:`FeedRejected` when it serves none."""
        fetched = self._fetch(calendar_id, {})
        assert fetched.calendar is not None, "an unconditional GET is never answered 304"
        return RemoteCalendar(
            id=calendar_id,
            summary=_name(fetched.calendar) or calendar_id,
            time_zone=str(self._zone(fetched.calendar)),
            access_role="reader",
        )

    def pull(self, calendar_id: str, cursor: str | None) -> ChangeSet:
        """What changed since the snapshot in ``cursor``; everything when there is none."""
        state = decode_cursor(CURSOR_KIND, cursor)
        fetched = self._fetch(calendar_id, _conditions(state))
        if fetched.calendar is None:
            assert state is not None, "a 304 answers a conditional GET only"
            return ChangeSet(events=(), removed=(), cursor=cursor, full=False, requests=1)
        zone = self._zone(fetched.calendar)
        view = CalendarView(
            id=calendar_id,
            name=_name(fetched.calendar) or calendar_id,
            zone=zone,
            window=scan_window(self._now(), self.scan_days_back, self.scan_days_ahead, zone),
        )
        read = read_events(fetched.calendar, view)
        for note in read.notes:
            _log.warning("%s: event %s: %s", calendar_id, note.event_id, note.reason)
        diff = diff_events(state["events"] if state else {}, read.events)
        next_cursor = encode_cursor(
            CURSOR_KIND,
            {"etag": fetched.etag, "modified": fetched.last_modified, "events": diff.hashes},
        )
        first, last = view.window
        return ChangeSet(
            events=diff.changed,
            removed=diff.removed,
            cursor=next_cursor,
            full=state is None,
            window=(first + timedelta(days=1), last - timedelta(days=1)),
            skipped=read.skipped,
            requests=1,
            time_zone=str(zone),
        )

    def get_event(self, calendar_id: str, event_id: str) -> RemoteEvent | None:
        """Never: flags are not read or written on a subscription (:class:`ReadOnlySource`)."""
        raise ReadOnlySource(f"{calendar_id} is a read-only subscription; no flag is written")

    def free_busy(self, calendar_id: str, start: datetime, end: datetime) -> list[BusyPeriod]:
        """When the calendar is busy, from its own events: a full listing of it, read now."""
        return busy_of_events(self.pull(calendar_id, None).events, start, end)

    def write_flag(
        self, calendar_id: str, event_id: str, patch: FlagPatch, *, etag: str
    ) -> RemoteEvent:
        """Never: a subscription cannot be written (:class:`ReadOnlySource`)."""
        raise ReadOnlySource(f"{calendar_id} is a read-only subscription; no flag is written")

    def _zone(self, calendar: CalendarDocument) -> ZoneInfo:
        for name in (calendar.header.get("X-WR-TIMEZONE"), self.default_zone):
            try:
                return ZoneInfo(str(name))
            except (ZoneInfoNotFoundError, ValueError):
                continue
        return ZoneInfo("UTC")

    def _fetch(self, url: str, headers: dict[str, str]) -> _Fetched:
        try:
            response = self.client.get(url, headers=headers)
        except httpx.InvalidURL as err:
            raise FeedRejected(f"{url}: not a URL that can be fetched ({err})") from err
        except httpx.HTTPError as err:
            raise FeedUnavailable(
                f"{url}: cannot be fetched ({type(err).__name__}: {err})"
            ) from err
        _check(url, response)
        if response.status_code == httpx.codes.NOT_MODIFIED:
            return _Fetched(None, None, None)
        return _Fetched(
            _calendar(url, response),
            response.headers.get("ETag"),
            response.headers.get("Last-Modified"),
        )


def _conditions(state: dict[str, Any] | None) -> dict[str, str]:
    if state is None:
        return {}
    headers = {"If-None-Match": state.get("etag"), "If-Modified-Since": state.get("modified")}
    return {name: str(value) for name, value in headers.items() if value}


def _check(url: str, response: httpx.Response) -> None:
    status = response.status_code
    if status == httpx.codes.NOT_MODIFIED or httpx.codes.is_success(status):
        return
    what = f"{url}: HTTP {status} {response.reason_phrase}".rstrip()
    if status == httpx.codes.TOO_MANY_REQUESTS or status >= 500:
        raise FeedUnavailable(f"{what} (retrying at the next poll)", status=status)
    raise FeedRejected(f"{what} (check the subscription address)", status=status)


def _name(calendar: CalendarDocument) -> str:
    return str(calendar.header.get("X-WR-CALNAME") or "").strip()


def _calendar(url: str, response: httpx.Response) -> CalendarDocument:
    try:
        return read_document(response.content, url)
    except MalformedCalendar as err:
        raise FeedRejected(str(err), status=response.status_code) from err
