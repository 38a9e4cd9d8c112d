"""The emulator's state: calendars, their events, the change log and sync tokens.

Everything lives behind one re-entrant lock, so HTTP handlers, batch parts and the admin API may
call in from any thread. Semantics follow Google's reference pages:

- calendars: https://developers.google.com/calendar/api/v3/reference/calendars
- events insert/get/patch/update/delete:
  https://developers.google.com/calendar/api/v3/reference/events
- deleted events stay readable with ``status: "cancelled"`` and surface in incremental syncs;
  a second delete answers 410 (https://developers.google.com/calendar/api/guides/sync).
- instances of a series are virtual until patched or deleted, which stores an exception
  (https://developers.google.com/calendar/api/guides/recurringevents).
- ETags and ``If-Match``: https://developers.google.com/calendar/api/guides/version-resources
- each calendar has the account's ``accessRole`` (seedable); writes below ``writer`` answer
  403 requiredAccessLevel (:mod:`sync.emulator.access`);
- event times come back as RFC 3339 with their offset, in the event's ``timeZone`` or else the
  calendar's (https://developers.google.com/calendar/api/v3/reference/events: "dateTime ... A
  time zone offset is required unless a time zone is explicitly specified in timeZone");
- the calendar list changes (a calendar added or removed) are numbered too, so calendarList
  has sync tokens and lists removed calendars as ``deleted`` entries
  (https://developers.google.com/calendar/api/v3/reference/calendarList/list);
- a seed may hold what real exports hold: ids outside base32hex (``_``-prefixed imports,
  ``{id}_R{...}`` splits) and cancelled items with nothing but an id.
"""

from __future__ import annotations

import copy
import itertools
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sync.emulator.access import ROLES, require
from sync.emulator.errors import ApiError
from sync.emulator.event_types import check_event_type
from sync.emulator.recurrence import (
    Occurrence,
    instance_id,
    instance_of,
    occurrences,
    split_instance_id,
)
from sync.emulator.resources import (
    WRITABLE_FIELDS,
    check_event,
    html_link,
    localise_times,
    mark_people,
    merge_patch,
    new_etag,
    new_id,
    next_sequence,
    validate_id,
    validate_imported_id,
    writable_part,
)
from sync.emulator.timefmt import format_ms, now_utc, zone

__all__ = ["DEFAULT_OWNER", "CalendarEntry", "CalendarSnapshot", "CalendarStore"]

Json = dict[str, Any]
DEFAULT_OWNER = "owner@clinic.example"
# Fields a seed (an export of real Google data) may carry besides the writable ones.
_IMPORTED_FIELDS = ("created", "updated", "iCalUID", "organizer", "creator", "recurringEventId")


@dataclass
class _Record:
    resource: Json
    seq: int
    order: int


@dataclass
class _Calendar:
    resource: Json
    access_role: str = "owner"
    seq: int = 0  # change number of its calendarList entry
    events: dict[str, _Record] = field(default_factory=dict)


@dataclass(frozen=True)
class CalendarEntry:
    """A calendar as the account's calendar list holds it; ``deleted`` once it is removed."""

    resource: Json
    access_role: str
    primary: bool
    deleted: bool = False


@dataclass(frozen=True)
class CalendarSnapshot:
    """A consistent copy of one calendar: its resource and its events with their change numbers."""

    calendar: Json
    events: tuple[tuple[Json, int], ...]
    seq: int
    access_role: str = "owner"


class CalendarStore:
    """All calendars and events of one emulated Google account."""

    def __init__(self, owner: str = DEFAULT_OWNER) -> None:
        self.owner = owner
        self._lock = threading.RLock()
        self._listeners: list[Callable[[str], None]] = []
        self._calendars: dict[str, _Calendar] = {}
        self._tokens: dict[str, tuple[str, int]] = {}
        self._removed: dict[str, CalendarEntry] = {}
        self._list_seq: dict[str, int] = {}
        self._seq = 0
        self._order = itertools.count()
        self.reset()

    def add_listener(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(calendar_id)`` after every change to a calendar's events."""
        self._listeners.append(listener)

    def reset(self) -> None:
        """Forget every calendar, event and sync token; keep only the primary calendar."""
        with self._lock:
            self._calendars.clear()
            self._tokens.clear()
            self._removed.clear()
            self._list_seq.clear()
            self.insert_calendar({"summary": self.owner}, calendar_id=self.owner)

    # Calendars -------------------------------------------------------------------------

    def insert_calendar(
        self, body: Json, calendar_id: str | None = None, access_role: str = "owner"
    ) -> Json:
        """calendars.insert; seeds may name their calendars and the account's access to them."""
        if access_role not in ROLES:
            raise ApiError.bad_request(f"Invalid accessRole: {access_role!r}")
        if not body.get("summary"):
            raise ApiError.bad_request("Missing title.", "required")
        tz = str(body.get("timeZone") or "UTC")
        zone(tz)
        cid = calendar_id or f"{new_id()}@group.calendar.google.com"
        resource = {"kind": "calendar#calendar", "etag": new_etag(), "id": cid, "timeZone": tz}
        resource.update({k: body[k] for k in ("summary", "description", "location") if k in body})
        with self._lock:
            if cid in self._calendars:
                raise ApiError.duplicate()
            self._seq += 1
            self._calendars[cid] = _Calendar(resource, access_role, self._seq)
            self._removed.pop(cid, None)
            return copy.deepcopy(resource)

    def get_calendar(self, calendar_id: str) -> Json:
        """calendars.get."""
        with self._lock:
            return copy.deepcopy(self._calendar(calendar_id).resource)

    def delete_calendar(self, calendar_id: str) -> None:
        """calendars.delete; the primary calendar cannot be deleted, only cleared."""
        with self._lock:
            cal = self._calendar(calendar_id)
            cid = cal.resource["id"]
            if cid == self.owner:
                raise ApiError.bad_request(
                    "Cannot delete primary calendar.", "cannotDeletePrimaryCalendar"
                )
            require(cal.access_role, "owner")
            del self._calendars[cid]
            self._tokens = {t: v for t, v in self._tokens.items() if v[0] != cid}
            self._seq += 1
            self._removed[cid] = CalendarEntry(
                {"id": cid, "etag": new_etag()}, cal.access_role, False, True
            )
            self._list_seq[cid] = self._seq

    def list_calendars(self) -> list[Json]:
        """Every calendar resource, primary first."""
        with self._lock:
            return [copy.deepcopy(c.resource) for c in self._calendars.values()]

    def calendar_entries(
        self, since: int | None = None, *, removed: bool = False
    ) -> tuple[list[CalendarEntry], int]:
        """The calendar list and its change number: every entry (with the removed ones when
        ``removed``), or what changed after change ``since``, removals always included."""
        with self._lock:
            live = [
                (c.seq, CalendarEntry(copy.deepcopy(c.resource), c.access_role, cid == self.owner))
                for cid, c in self._calendars.items()
            ]
            gone = [(self._list_seq.get(cid, 0), e) for cid, e in self._removed.items()]
            if since is None:
                return [e for _, e in live + (gone if removed else [])], self._seq
            changed = sorted((item for item in live + gone if item[0] > since), key=_first)
            return [e for _, e in changed], self._seq

    def calendar_entry(self, calendar_id: str) -> CalendarEntry:
        """One calendar's entry in the account's calendar list."""
        with self._lock:
            cal = self._calendar(calendar_id)
            primary = cal.resource["id"] == self.owner
            return CalendarEntry(copy.deepcopy(cal.resource), cal.access_role, primary)

    def resolve(self, calendar_id: str) -> str:
        """The real id for ``calendar_id`` (``primary`` is the owner's calendar)."""
        with self._lock:
            return str(self._calendar(calendar_id).resource["id"])

    # Events ----------------------------------------------------------------------------

    def insert_event(self, calendar_id: str, body: Json, *, imported: bool = False) -> Json:
        """events.insert; ``imported`` keeps server fields from exported Google JSON (seeds)."""
        with self._lock:
            cal = self._calendar(calendar_id)
            if not imported:
                require(cal.access_role, "writer")
            event_id = str(body.get("id") or new_id())
            self._check_new_id(cal, event_id, imported)
            resource = writable_part(body)
            if imported:
                resource.update({k: copy.deepcopy(body[k]) for k in _IMPORTED_FIELDS if k in body})
                if _is_bare(resource):
                    return self._write_bare(cal, resource, event_id)
            # A new event's created and updated are one instant, as Google reports them.
            stamp = format_ms(now_utc())
            resource.setdefault("updated", stamp)
            resource.update({"id": event_id, "created": resource.get("created") or stamp})
            return self._write(cal, resource, creating=True, imported=imported)

    def get_event(self, calendar_id: str, event_id: str) -> Json:
        """events.get; deleted events are still returned, with status cancelled."""
        with self._lock:
            return copy.deepcopy(self._find(self._calendar(calendar_id), event_id))

    def patch_event(
        self, calendar_id: str, event_id: str, body: Json, if_match: str | None
    ) -> Json:
        """events.patch: merge ``body`` into the event (an instance becomes an exception)."""
        with self._lock:
            cal = self._calendar(calendar_id)
            current = self._matching(cal, event_id, if_match)
            return self._write(cal, merge_patch(current, writable_part(body)))

    def update_event(
        self, calendar_id: str, event_id: str, body: Json, if_match: str | None
    ) -> Json:
        """events.update: replace every writable field, keeping the server-owned ones."""
        with self._lock:
            cal = self._calendar(calendar_id)
            current = self._matching(cal, event_id, if_match)
            replaced = {k: v for k, v in current.items() if k not in WRITABLE_FIELDS}
            replaced.update(writable_part(body))
            if "originalStartTime" in current:
                replaced["originalStartTime"] = current["originalStartTime"]
            return self._write(cal, {k: v for k, v in replaced.items() if v is not None})

    def delete_event(self, calendar_id: str, event_id: str, if_match: str | None) -> None:
        """events.delete: the event (and a series' exceptions) become cancelled."""
        with self._lock:
            cal = self._calendar(calendar_id)
            current = self._matching(cal, event_id, if_match)
            if current.get("status") == "cancelled":
                raise ApiError.deleted()
            self._write(cal, {**current, "status": "cancelled"})
            for record in list(cal.events.values()):
                if record.resource.get("recurringEventId") == event_id:
                    self._write(cal, {**record.resource, "status": "cancelled"})

    def instances(
        self, calendar_id: str, event_id: str, until: datetime | None, since: datetime | None
    ) -> list[Json]:
        """The instances of a series between ``since`` and ``until``, exceptions applied."""
        with self._lock:
            cal = self._calendar(calendar_id)
            series = self._find(cal, event_id)
            if not series.get("recurrence"):
                return [copy.deepcopy(series)]
            spans = occurrences(series, until, since)
            return [self._instance(cal, series, occ) for occ in spans]

    def set_access_role(self, calendar_id: str, access_role: str) -> None:
        """Change the account's role on a calendar, as when its owner edits the sharing.

        The calendar list entry changes, and the calendar's sync tokens stop working: Google
        invalidates them on "changes in related ACLs" (.../guides/sync), answering 410.
        """
        if access_role not in ROLES:
            raise ApiError.bad_request(f"Invalid accessRole: {access_role!r}")
        with self._lock:
            cal = self._calendar(calendar_id)
            cid = cal.resource["id"]
            self._seq += 1
            cal.access_role, cal.seq = access_role, self._seq
            cal.resource["etag"] = new_etag()
            self._tokens = {t: v for t, v in self._tokens.items() if v[0] != cid}

    def access_role(self, calendar_id: str) -> str:
        """The account's accessRole on the calendar."""
        with self._lock:
            return self._calendar(calendar_id).access_role

    def snapshot(self, calendar_id: str) -> CalendarSnapshot:
        """The calendar and its events (insertion order) with their change numbers.

        Stored event resources are never changed in place — every write stores a new
        dict — so the snapshot shares them instead of copying a whole calendar for each
        list call; readers must not mutate them either.
        """
        with self._lock:
            cal = self._calendar(calendar_id)
            records = sorted(cal.events.values(), key=lambda r: r.order)
            events = tuple((r.resource, r.seq) for r in records)
            primary = cal.resource["id"] == self.owner
            entry = CalendarEntry(copy.deepcopy(cal.resource), cal.access_role, primary)
            return CalendarSnapshot(entry.resource, events, self._seq, entry.access_role)

    # Sync tokens (https://developers.google.com/calendar/api/guides/sync) -----------------

    def issue_sync_token(self, calendar_id: str | None, seq: int) -> str:
        """An opaque token meaning "changes of this calendar (None: the list) after ``seq``"."""
        token = secrets.token_urlsafe(18)
        with self._lock:
            scope = _LIST_SCOPE if calendar_id is None else self.resolve(calendar_id)
            self._tokens[token] = (scope, seq)
        return token

    def sync_token_seq(self, calendar_id: str | None, token: str) -> int:
        """The change number behind ``token``; 410 fullSyncRequired when unknown or expired."""
        with self._lock:
            found = self._tokens.get(token)
            scope = _LIST_SCOPE if calendar_id is None else self.resolve(calendar_id)
            if found is None or found[0] != scope:
                raise ApiError.sync_token_gone()
            return found[1]

    def expire_sync_tokens(self) -> None:
        """Invalidate every sync token, forcing clients into a full sync."""
        with self._lock:
            self._tokens.clear()

    # Internals --------------------------------------------------------------------------

    def _calendar(self, calendar_id: str) -> _Calendar:
        cid = self.owner if calendar_id == "primary" else calendar_id
        cal = self._calendars.get(cid)
        if cal is None:
            raise ApiError.not_found()
        return cal

    def _check_new_id(self, cal: _Calendar, event_id: str, imported: bool) -> None:
        (validate_imported_id if imported else validate_id)(event_id)
        if event_id in cal.events:
            raise ApiError.duplicate()

    def _find(self, cal: _Calendar, event_id: str) -> Json:
        record = cal.events.get(event_id)
        if record is not None:
            return record.resource
        parts = split_instance_id(event_id)
        series = cal.events.get(parts[0]) if parts else None
        if parts is None or series is None or not series.resource.get("recurrence"):
            raise ApiError.not_found()
        return self._virtual_instance(cal, series.resource, parts[1])

    def _virtual_instance(self, cal: _Calendar, series: Json, suffix: str) -> Json:
        moment = _suffix_instant(suffix)
        for occ in occurrences(series, moment + timedelta(days=1), moment - timedelta(days=1)):
            if occ.suffix == suffix:
                return self._instance(cal, series, occ)
        raise ApiError.not_found()

    def _instance(self, cal: _Calendar, series: Json, occ: Occurrence) -> Json:
        iid = instance_id(series["id"], occ)
        stored = cal.events.get(iid)
        if stored is not None:
            return copy.deepcopy(stored.resource)
        return instance_of(series, occ, cal.resource["id"])

    def _matching(self, cal: _Calendar, event_id: str, if_match: str | None) -> Json:
        require(cal.access_role, "writer")
        current = self._find(cal, event_id)
        if if_match not in (None, "*", current.get("etag")):
            raise ApiError.precondition_failed()
        return current

    def _write(
        self, cal: _Calendar, resource: Json, *, creating: bool = False, imported: bool = False
    ) -> Json:
        cid = str(cal.resource["id"])
        check_event(resource, cal.resource["timeZone"])
        previous = cal.events.get(resource["id"])
        old = previous.resource if previous else None
        # A stored exception keeps its series' type: compare with the instance it replaces.
        before = old or (self._series_type(cal, resource) if not creating else None)
        check_event_type(resource, before, primary=cid == self.owner, imported=imported)
        full = self._decorate(cid, resource, old, imported_updated=creating)
        localise_times(full, cal.resource["timeZone"])
        return self._store(cal, full, previous)

    def _write_bare(self, cal: _Calendar, resource: Json, event_id: str) -> Json:
        """A cancelled item an export holds with nothing but its id (and maybe its series)."""
        full = {**resource, "id": event_id, "kind": "calendar#event", "etag": new_etag()}
        full.setdefault("updated", format_ms(now_utc()))
        return self._store(cal, full, cal.events.get(event_id))

    def _store(self, cal: _Calendar, full: Json, previous: _Record | None) -> Json:
        self._seq += 1
        order = previous.order if previous else next(self._order)
        cal.events[full["id"]] = _Record(full, self._seq, order)
        for listener in self._listeners:
            listener(str(cal.resource["id"]))
        return copy.deepcopy(full)

    def _series_type(self, cal: _Calendar, resource: Json) -> Json | None:
        series = cal.events.get(str(resource.get("recurringEventId") or ""))
        return series.resource if series else None

    def _decorate(self, cid: str, resource: Json, old: Json | None, imported_updated: bool) -> Json:
        full = copy.deepcopy(resource)
        full.update(
            {
                "kind": "calendar#event",
                "etag": new_etag(),
                "status": full.get("status", "confirmed"),
            }
        )
        full["htmlLink"] = html_link(full["id"], cid)
        updated = full.get("updated") if imported_updated else None
        full["updated"] = updated or format_ms(now_utc())
        full.setdefault("iCalUID", f"{full['id']}@google.com")
        full.setdefault("creator", {"email": self.owner})
        full.setdefault("organizer", {"email": cid})
        full.setdefault("eventType", "default")
        full.setdefault("reminders", {"useDefault": True})
        full["sequence"] = next_sequence(full, old)
        mark_people(full, cid, self.owner)
        return full


_LIST_SCOPE = ""  # the sync-token scope of calendarList (no calendar has an empty id)


def _first(item: tuple[int, CalendarEntry]) -> int:
    return item[0]


def _is_bare(resource: Json) -> bool:
    return resource.get("status") == "cancelled" and "start" not in resource


def _suffix_instant(suffix: str) -> datetime:
    """The original start an instance-id suffix names, or 404 when it is not one."""
    try:
        if len(suffix) == 8:
            return datetime.strptime(suffix, "%Y%m%d").replace(tzinfo=UTC)
        return datetime.strptime(suffix, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError as err:
        raise ApiError.not_found() from err
