"""The safe date a flag names: when to rebook, read once from the calendar (SPEC §6, §7).

A flag names, for each of its conflicts, the first free slots on the booking's calendar
from the earliest eligible day, within the rule's ideal window
(:func:`rules.slots.search_days`, :func:`rules.slots.free_slots`). The busy time comes from
the calendar source (:meth:`~sync.sources.port.CalendarSource.free_busy`: Google's
freebusy.query, the calendar's own events elsewhere).

The flag's text is compared with what the event holds to decide whether to write
(:func:`rules.flag.flag_patch`), so slots that move with every new booking on the calendar
would rewrite every flag on every cycle. They are therefore read once: when a conflict's
flag is first written, or when the days to search change (the earlier booking moved, the
policy changed). Otherwise the line the event's flag already carries is kept as it is
(:func:`kept_safe_dates`) — a flag written by the admin app, which asks no free/busy,
keeps it too. The conflict page and the notification show what the flag names
(:func:`stored_safe_date`), so all three say the same.

A failure to read free/busy never stops a flag: its line then names only the days
(``not known``), and that line is kept like any other until the days change.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from rules.flag import conflict_id, flag_safe_lines
from rules.model import Conflict
from rules.slots import (
    DEFAULT_HOURS,
    BusyPeriod,
    OpeningHours,
    SafeDate,
    free_slots,
    read_safe_date,
    search_days,
)
from sync.errors import ClinicSyncError
from sync.sources.port import CalendarSource
from sync.store.tables import BookingRow

__all__ = [
    "SLOT_COUNT",
    "SafeDateFinder",
    "conflict_days",
    "kept_safe_dates",
    "stored_safe_date",
]

_log = logging.getLogger(__name__)

SLOT_COUNT = 3
"""How many free slots a flag names: enough to offer a choice on the phone."""


def conflict_days(conflict: Conflict) -> tuple[date, date]:
    """The days to look for a free slot on for ``conflict``."""
    return search_days(conflict.earliest_eligible, conflict.ideal_window)


def kept_safe_dates(
    description: str, conflicts: Sequence[Conflict], zone: ZoneInfo
) -> dict[str, SafeDate]:
    """The safe dates the flag in ``description`` already names and that still hold:
    those of ``conflicts`` whose days to search are the ones the line was read for."""
    lines = flag_safe_lines(description)
    kept: dict[str, SafeDate] = {}
    for conflict in conflicts:
        line = lines.get(conflict_id(conflict))
        safe = read_safe_date(line, zone) if line is not None else None
        if safe is not None and (safe.first_day, safe.last_day) == conflict_days(conflict):
            kept[conflict_id(conflict)] = safe
    return kept


@dataclass
class SafeDateFinder:
    """Reads the calendars' busy time and finds the first free slots.

    One free/busy query per calendar in a cycle: the days every flag about to be written
    will search are announced first (:meth:`expect`), and the first search on a calendar
    reads them all at once; a failed read is not repeated in the cycle.
    """

    source: CalendarSource
    zone: ZoneInfo
    now: datetime
    hours: OpeningHours = DEFAULT_HOURS
    count: int = SLOT_COUNT
    _wanted: dict[str, tuple[date, date]] = field(default_factory=dict, repr=False)
    _busy: dict[str, tuple[tuple[date, date], list[BusyPeriod] | None]] = field(
        default_factory=dict, repr=False
    )

    def expect(self, calendar_id: str, days: tuple[date, date]) -> None:
        """Announce that ``days`` of ``calendar_id`` will be searched in this cycle."""
        held = self._wanted.get(calendar_id, days)
        self._wanted[calendar_id] = (min(held[0], days[0]), max(held[1], days[1]))

    def find(self, calendar_id: str, days: tuple[date, date]) -> SafeDate:
        """The first free slots on ``calendar_id`` in ``days``; ``known`` false on failure."""
        busy = self._busy_over(calendar_id, days)
        if busy is None:
            return SafeDate(days[0], days[1], known=False)
        slots = free_slots(days, busy, self.hours, self.zone, not_before=self.now, count=self.count)
        return SafeDate(days[0], days[1], slots)

    def for_conflicts(
        self, calendar_id: str, conflicts: Sequence[Conflict], kept: Mapping[str, SafeDate]
    ) -> dict[str, SafeDate]:
        """Each conflict's safe date: the one ``kept``, or one read now."""
        return {
            conflict_id(c): kept.get(conflict_id(c)) or self.find(calendar_id, conflict_days(c))
            for c in conflicts
        }

    def _busy_over(self, calendar_id: str, days: tuple[date, date]) -> list[BusyPeriod] | None:
        held = self._busy.get(calendar_id)
        if held is not None and (held[1] is None or held[0][0] <= days[0] <= days[1] <= held[0][1]):
            return held[1]
        self.expect(calendar_id, days)
        span = self._wanted[calendar_id]
        self._busy[calendar_id] = (span, self._read(calendar_id, span))
        return self._busy[calendar_id][1]

    def _read(self, calendar_id: str, days: tuple[date, date]) -> list[BusyPeriod] | None:
        start, end = self._instant(days[0]), self._instant(days[1] + timedelta(days=1))
        try:
            return self.source.free_busy(calendar_id, start, end)
        except ClinicSyncError as err:
            _log.warning("free/busy of %s not read, the flag names days only: %s", calendar_id, err)
            return None

    def _instant(self, day: date) -> datetime:
        return datetime.combine(day, time(), tzinfo=self.zone).astimezone(UTC)


def stored_safe_date(
    session: Session, later_row_id: int, public_id: str, zone: ZoneInfo
) -> SafeDate | None:
    """The safe date the flag on a conflict's later booking names, as last stored;
    ``None`` when it carries none (not flagged, or flagged before slots were offered)."""
    row = session.get(BookingRow, later_row_id)
    line = flag_safe_lines(row.description).get(public_id) if row is not None else None
    return read_safe_date(line, zone) if line is not None else None
