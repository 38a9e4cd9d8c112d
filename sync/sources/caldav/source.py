"""A CalDAV account (iCloud, Fastmail, Nextcloud…) as a calendar source (SPEC §9).

Through the ``caldav`` package:

- discovery follows RFC 4791 §6 (principal → calendar home set → calendars); a calendar's
  id is its collection URL, its zone the TZID of ``CALDAV:calendar-timezone`` (§5.2.2)
  when that is an IANA name, else ``default_zone``;
- pulls are incremental with ``DAV:sync-collection`` (RFC 6578) where the server supports
  it: the cursor holds the sync token, and an expired token (``DAV:valid-sync-token``,
  §3.2) means a full listing in the same pull. With ``use_sync_collection=False`` (a
  server without RFC 6578) the cursor holds the collection's CTag and each resource's
  ETag; a pull compares them with a depth-1 PROPFIND. Changed resources are fetched in
  one ``calendar-multiget`` REPORT (RFC 4791 §7.9);
- each resource is mapped by :mod:`sync.ical.mapping`; the cursor also keeps the booking
  ids each resource produced (:mod:`sync.ical.snapshot`), so an instance that an
  exception cancelled or a shortened RRULE dropped comes back as removed;
- flags are written into the booking's VEVENT (an instance gets its own override) with a
  conditional PUT (``If-Match``, RFC 4791 §5.3.4 and RFC 9110 §13.1.1): 412 means staff
  changed the event meanwhile → :class:`~sync.sources.port.EventChanged`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from caldav.collection import Calendar
from caldav.davclient import DAVClient
from caldav.elements import cdav, dav
from caldav.elements.base import ValuedBaseElement
from caldav.lib import error as dav_error
from caldav.lib.url import URL

from rules.flag import FlagPatch
from rules.slots import BusyPeriod
from sync.ical.mapping import (
    CalendarView,
    MalformedCalendar,
    ResourceEvents,
    parse_calendar,
    read_document,
    read_events,
    scan_window,
)
from sync.ical.snapshot import decode_cursor, encode_cursor
from sync.sources.caldav.errors import CalendarGone, translate
from sync.sources.caldav.flags import apply_patch, flag_state
from sync.sources.caldav.resource import event_component, event_id_parts
from sync.sources.port import (
    ChangeSet,
    EventChanged,
    RemoteCalendar,
    RemoteEvent,
    SkippedEvent,
    busy_of_events,
)
from sync.store.events import StoredEvent

__all__ = ["CURSOR_KIND", "CalDavSource"]

CURSOR_KIND = "caldav1"
_TZID = re.compile(r"^TZID:(.+?)\s*$", re.MULTILINE)


class _GetCtag(ValuedBaseElement):
    """CalendarServer's collection tag: changes whenever anything in the calendar does."""

    tag = "{http://calendarserver.org/ns/}getctag"


@dataclass
class _Listing:
    """What a pull found out: resources changed (href → ETag) and gone, the next markers."""

    changed: dict[str, str] = field(default_factory=dict)
    gone: list[str] = field(default_factory=list)
    token: str | None = None
    ctag: str | None = None
    full: bool = False
    requests: int = 0


class CalDavSource:
    """The :class:`~sync.sources.port.CalendarSource` of one CalDAV account."""

    def __init__(
        self,
        client: DAVClient,
        *,
        scan_days_back: int = 180,
        scan_days_ahead: int = 365,
        default_zone: str = "UTC",
        use_sync_collection: bool = True,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.client = client
        self.scan_days_back = scan_days_back
        self.scan_days_ahead = scan_days_ahead
        self.default_zone = default_zone
        self.use_sync_collection = use_sync_collection
        self._now = now or (lambda: datetime.now(UTC))

    def close(self) -> None:
        """Close the HTTP connections."""
        self.client.close()

    def list_calendars(self) -> list[RemoteCalendar]:
        """Every calendar in the principal's calendar home set."""
        with _translated("discovering calendars"):
            principal = self.client.principal()  # type: ignore[no-untyped-call]
            urls = [str(calendar.url) for calendar in principal.calendars()]
        return [self.get_calendar(url) for url in urls]

    def get_calendar(self, calendar_id: str) -> RemoteCalendar:
        """The calendar at URL ``calendar_id``; :class:`CalendarGone` when there is none."""
        props = self._properties(
            self._calendar(calendar_id), [dav.DisplayName(), cdav.CalendarTimeZone()]
        )
        return RemoteCalendar(
            id=calendar_id,
            summary=str(props.get(dav.DisplayName.tag) or calendar_id),
            time_zone=str(self._zone(props.get(cdav.CalendarTimeZone.tag))),
            access_role="owner",
        )

    def pull(self, calendar_id: str, cursor: str | None) -> ChangeSet:
        """Changes since ``cursor``; a full listing when there is none or it expired."""
        calendar = self._calendar(calendar_id)
        remote = self.get_calendar(calendar_id)
        state = decode_cursor(CURSOR_KIND, cursor)
        listing = self._list(calendar, state)
        zone = ZoneInfo(remote.time_zone)
        view = CalendarView(
            id=calendar_id,
            name=remote.summary,
            zone=zone,
            window=scan_window(self._now(), self.scan_days_back, self.scan_days_ahead, zone),
        )
        return self._change_set(calendar, view, listing, {} if listing.full else _resources(state))

    def get_event(self, calendar_id: str, event_id: str) -> RemoteEvent | None:
        """The booking's VEVENT as it is now with its resource's ETag; ``None`` when gone."""
        found = self._resource(self._calendar(calendar_id), event_id)
        if found is None:
            return None
        href, etag, body = found
        component = event_component(parse_calendar(body, href), event_id, create=False)
        if component is None:
            return None
        return RemoteEvent(event_id=event_id, etag=etag, flag_state=flag_state(component))

    def free_busy(self, calendar_id: str, start: datetime, end: datetime) -> list[BusyPeriod]:
        """When the calendar is busy, from its own events: a full listing of it, read now."""
        return busy_of_events(self.pull(calendar_id, None).events, start, end)

    def write_flag(
        self, calendar_id: str, event_id: str, patch: FlagPatch, *, etag: str
    ) -> RemoteEvent:
        """PUT the patched resource with ``If-Match: etag``; 412 → :class:`EventChanged`."""
        found = self._resource(self._calendar(calendar_id), event_id)
        if found is None:
            raise EventChanged(f"event {event_id} of {calendar_id} is gone")
        href, _, body = found
        document = parse_calendar(body, href)
        component = event_component(document, event_id, create=True)
        assert component is not None, "create=True always yields a component"
        apply_patch(component, patch)
        new_etag = self._put(href, document.to_ical().decode("utf-8"), etag)
        return RemoteEvent(event_id=event_id, etag=new_etag, flag_state=flag_state(component))

    # -- listing ---------------------------------------------------------------------------

    def _list(self, calendar: Any, state: dict[str, Any] | None) -> _Listing:
        if self.use_sync_collection:
            return self._sync_collection(calendar, state)
        return self._compare_etags(calendar, state)

    def _sync_collection(self, calendar: Any, state: dict[str, Any] | None) -> _Listing:
        token = state.get("token") if state else None
        try:
            return self._report_changes(calendar, token, full=token is None)
        except dav_error.AuthorizationError as err:
            if token is None or dav.ValidSyncToken.tag not in (err.preconditions or ()):
                raise translate(err, f"syncing {calendar.url}") from err
        return self._report_changes(calendar, None, full=True)

    def _report_changes(self, calendar: Any, token: str | None, *, full: bool) -> _Listing:
        collection = calendar.get_objects_by_sync_token(
            token, load_objects=False, disable_fallback=True
        )
        gone = {str(url) for url in collection.deleted_urls}
        changed = {
            str(obj.url): str(obj.props.get(dav.GetEtag.tag) or "")
            for obj in collection
            if str(obj.url) not in gone
        }
        return _Listing(
            changed=changed, gone=sorted(gone), token=collection.sync_token, full=full, requests=1
        )

    def _compare_etags(self, calendar: Any, state: dict[str, Any] | None) -> _Listing:
        ctag = self._properties(calendar, [_GetCtag()]).get(_GetCtag.tag)
        if state is not None and ctag and state.get("ctag") == ctag:
            return _Listing(ctag=ctag, requests=1)
        seen = {href: entry[0] for href, entry in _resources(state).items()}
        etags = self._etags(calendar)
        changed = {href: etag for href, etag in etags.items() if seen.get(href) != etag}
        gone = sorted(set(seen) - set(etags))
        return _Listing(changed=changed, gone=gone, ctag=ctag, full=state is None, requests=2)

    def _etags(self, calendar: Any) -> dict[str, str]:
        with _translated(f"listing the events of {calendar.url}"):
            response = calendar.get_properties([dav.GetEtag()], depth=1, parse_response_xml=False)
            found = response.expand_simple_props([dav.GetEtag()])
        return {
            str(calendar.url.join(href)): str(props[dav.GetEtag.tag])
            for href, props in found.items()
            if props.get(dav.GetEtag.tag)
        }

    def _change_set(
        self, calendar: Any, view: CalendarView, listing: _Listing, before: dict[str, list[Any]]
    ) -> ChangeSet:
        resources = dict(before)
        removed: list[str] = []
        for href in listing.gone:
            removed += resources.pop(href, ["", []])[1]
        events: list[StoredEvent] = []
        skipped: list[SkippedEvent] = []
        for href, etag, body in self._fetch(calendar, listing.changed):
            read = _read(body, href, view, etag)
            events += read.events
            skipped += read.skipped
            ids = [event.booking.id for event in read.events]
            removed += [old for old in resources.get(href, ["", []])[1] if old not in ids]
            resources[href] = [etag, ids]
        cursor = encode_cursor(
            CURSOR_KIND, {"token": listing.token, "ctag": listing.ctag, "resources": resources}
        )
        first, last = view.window
        return ChangeSet(
            events=tuple(events),
            removed=tuple(removed),
            cursor=cursor,
            full=listing.full,
            window=(first + timedelta(days=1), last - timedelta(days=1)) if listing.full else None,
            skipped=tuple(skipped),
            requests=listing.requests + 2 + bool(listing.changed),
            time_zone=str(view.zone),
        )

    def _fetch(self, calendar: Any, changed: dict[str, str]) -> Iterator[tuple[str, str, str]]:
        if not changed:
            return
        with _translated(f"reading events of {calendar.url}"):
            objects = calendar.multiget([URL.objectify(href) for href in changed])
        for obj in objects:
            href = str(obj.url)
            etag = str(obj.props.get(dav.GetEtag.tag) or changed.get(href, ""))
            yield href, etag, str(obj.data)

    # -- single resources --------------------------------------------------------------------

    def _resource(self, calendar: Any, event_id: str) -> tuple[str, str, str] | None:
        uid, _ = event_id_parts(event_id)
        try:
            with _translated(f"finding event {uid} in {calendar.url}"):
                href = str(calendar.get_object_by_uid(uid).url)
        except CalendarGone:
            return None
        with _translated(f"reading {href}"):
            response = self.client.request(href, "GET")
        if response.status == 404:
            return None
        return href, str(response.headers.get("ETag") or ""), str(response.raw)

    def _put(self, href: str, body: str, etag: str) -> str:
        headers = {"If-Match": etag, "Content-Type": "text/calendar; charset=utf-8"}
        with _translated(f"writing the flag into {href}"):
            response = self.client.put(href, body, headers)
        if response.status == 412:
            raise EventChanged(f"{href} changed since it was read (HTTP 412); read it again")
        if response.status >= 300:
            raise translate(
                dav_error.PutError(f"{response.status} {response.reason}"), f"writing {href}"
            )
        new_etag = response.headers.get("ETag")
        return str(new_etag) if new_etag else self._etag_of(href)

    def _etag_of(self, href: str) -> str:
        with _translated(f"reading {href}"):
            return str(self.client.request(href, "HEAD").headers.get("ETag") or "")

    # -- calendars -------------------------------------------------------------------------

    def _calendar(self, calendar_id: str) -> Any:
        return Calendar(client=self.client, url=calendar_id)

    def _properties(self, calendar: Any, props: list[Any]) -> dict[str, Any]:
        with _translated(f"reading calendar {calendar.url}"):
            return dict(calendar.get_properties(props))

    def _zone(self, timezone_data: Any) -> ZoneInfo:
        match = _TZID.search(str(timezone_data or ""))
        for name in (match.group(1) if match else None, self.default_zone):
            try:
                return ZoneInfo(str(name))
            except (ZoneInfoNotFoundError, ValueError):
                continue
        return ZoneInfo("UTC")


def _resources(state: dict[str, Any] | None) -> dict[str, list[Any]]:
    resources = state.get("resources") if state else None
    return dict(resources) if isinstance(resources, dict) else {}


def _read(body: str, href: str, view: CalendarView, etag: str) -> ResourceEvents:
    try:
        return read_events(read_document(body, href), view, etag)
    except MalformedCalendar as err:
        return ResourceEvents(skipped=(SkippedEvent(href, str(err)),))


@contextmanager
def _translated(what: str) -> Iterator[None]:
    try:
        yield
    except (dav_error.DAVError, OSError, ConnectionError) as err:
        raise translate(err, what) from err
    except Exception as err:  # the HTTP library's own transport errors
        if type(err).__module__.split(".")[0] in (
            "niquests",
            "requests",
            "urllib3",
            "urllib3_future",
        ):
            raise translate(err, what) from err
        raise
