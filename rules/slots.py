"""A safe date to rebook: the first free slots from the earliest eligible day (SPEC §6, §7).

A flag tells staff that a booking comes too soon; to rebook on the phone they need a day
that is allowed *and* a time the calendar has free. This module finds both from plain
records:

- :func:`search_days` is where to look: the rule's ideal window from the earliest eligible
  day on, or, when the ideal window ends before that day (a policy can say so), the
  :data:`FALLBACK_DAYS` days from the earliest eligible day;
- :func:`free_slots` walks that window day by day in the clinic's opening hours, in slots
  of the clinic's length, and returns the first ``count`` that no busy period touches and
  that begin at or after ``not_before``.

:class:`SafeDate` is the answer as the flag, the conflict page and the notification show
it; :func:`render_safe_date` and :func:`read_safe_date` turn it into the flag's one line
and back, so the line written once can be kept as it is (see :mod:`sync.usecases.safe_date`).

Pure: busy periods, opening hours, the zone and "now" are all passed in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

__all__ = [
    "DEFAULT_HOURS",
    "FALLBACK_DAYS",
    "SAFE_DATE_LINE",
    "BusyPeriod",
    "OpeningHours",
    "SafeDate",
    "free_slots",
    "read_opening_hours",
    "read_safe_date",
    "render_safe_date",
    "search_days",
]

BusyPeriod = tuple[datetime, datetime]
"""A busy time on a calendar: aware start and end."""

FALLBACK_DAYS = 14
"""Days searched from the earliest eligible day when there is no ideal window after it."""

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """When a clinic books appointments: the days of the week, the hours and a slot's length.

    ``days`` are ISO weekday numbers less one (0 is Monday); a slot starts at ``opens``
    plus a whole number of slots and ends by ``closes``, on the clinic's clock.
    """

    days: frozenset[int] = frozenset(range(6))
    opens: time = time(9)
    closes: time = time(18)
    slot_minutes: int = 30

    def __post_init__(self) -> None:
        if not self.days or not self.days <= frozenset(range(7)):
            raise ValueError("opening days are weekdays 0 (Monday) to 6 (Sunday), at least one")
        if self.closes <= self.opens:
            raise ValueError("a clinic closes after it opens")
        if not 5 <= self.slot_minutes <= 480:
            raise ValueError("a slot is 5 to 480 minutes")

    @property
    def slot(self) -> timedelta:
        return timedelta(minutes=self.slot_minutes)

    def __str__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        """The hours as a setting spells them: ``Mon-Sat 09:00-18:00/30``."""
        days = ",".join(_WEEKDAYS[d] for d in sorted(self.days))
        if self.days == frozenset(range(min(self.days), max(self.days) + 1)) and len(self.days) > 1:
            days = f"{_WEEKDAYS[min(self.days)]}-{_WEEKDAYS[max(self.days)]}"
        hours = f"{self.opens:%H:%M}-{self.closes:%H:%M}"
        return f"{days} {hours}/{self.slot_minutes}"


_HOURS = re.compile(
    r"(?P<days>[A-Za-z,\-]+) (?P<opens>\d{1,2}:\d{2})-(?P<closes>\d{1,2}:\d{2})"
    r"(?:/(?P<slot>\d{1,3}))?"
)


def read_opening_hours(text: str) -> OpeningHours:
    """The hours ``Mon-Sat 09:00-18:00/30`` spells (days, a range or a list; ``/minutes``
    a slot, 30 when left out); :class:`ValueError` for anything else."""
    found = _HOURS.fullmatch(" ".join(text.split()))
    if found is None:
        raise ValueError(
            f"{text!r} is not opening hours like 'Mon-Sat 09:00-18:00/30' "
            "(days, opening and closing time, slot minutes)"
        )
    days = frozenset(d for part in found["days"].split(",") for d in _day_range(part))
    return OpeningHours(
        days=days,
        opens=_clock(found["opens"]),
        closes=_clock(found["closes"]),
        slot_minutes=int(found["slot"] or 30),
    )


def _day_range(part: str) -> range:
    names = [name.strip().capitalize()[:3] for name in part.split("-")]
    if len(names) > 2 or any(name not in _WEEKDAYS for name in names):
        raise ValueError(f"{part!r} is not a weekday or a range of them (Mon-Sat)")
    first, last = _WEEKDAYS.index(names[0]), _WEEKDAYS.index(names[-1])
    if last < first:
        raise ValueError(f"{part!r}: a range of weekdays runs from Monday towards Sunday")
    return range(first, last + 1)


def _clock(text: str) -> time:
    hours, minutes = (int(part) for part in text.split(":"))
    return time(hours, minutes)


DEFAULT_HOURS = OpeningHours()
"""09:00–18:00 Monday to Saturday, 30-minute slots: a new clinic's hours."""


@dataclass(frozen=True, slots=True)
class SafeDate:
    """The first free slots from ``first_day`` (the search start) up to ``last_day``.

    ``known`` is false when the calendar's free/busy could not be read: then only the day
    is named. ``slots`` are the slots' starts on the clinic's clock, earliest first.
    """

    first_day: date
    last_day: date
    slots: tuple[datetime, ...] = ()
    known: bool = True


def search_days(earliest: date, ideal: tuple[date, date]) -> tuple[date, date]:
    """The days to look for free slots on: the ideal window from ``earliest`` on (SPEC §7)."""
    low, high = ideal
    if high >= earliest:
        return max(low, earliest), high
    return earliest, earliest + timedelta(days=FALLBACK_DAYS - 1)


def free_slots(
    days: tuple[date, date],
    busy: Sequence[BusyPeriod],
    hours: OpeningHours,
    zone: tzinfo,
    *,
    not_before: datetime,
    count: int = 3,
) -> tuple[datetime, ...]:
    """The first ``count`` slots in ``days`` that overlap no busy period, earliest first.

    A slot overlaps a period when it starts before the period ends and ends after it
    starts, so a booking ending at 10:00 leaves the 10:00 slot free.
    """
    spans = sorted((a.astimezone(UTC), b.astimezone(UTC)) for a, b in busy if b > a)
    found: list[datetime] = []
    for start in _slot_starts(days, hours, zone):
        begin = start.astimezone(UTC)
        if begin < not_before.astimezone(UTC):
            continue
        if not _overlaps(spans, begin, begin + hours.slot):
            found.append(start)
            if len(found) >= count:
                break
    return tuple(found)


def _slot_starts(days: tuple[date, date], hours: OpeningHours, zone: tzinfo) -> Iterator[datetime]:
    day = days[0]
    while day <= days[1]:
        if day.weekday() in hours.days:
            yield from _day_slots(day, hours, zone)
        day += timedelta(days=1)


def _day_slots(day: date, hours: OpeningHours, zone: tzinfo) -> Iterator[datetime]:
    moment = datetime.combine(day, hours.opens)
    closes = datetime.combine(day, hours.closes)
    while moment + hours.slot <= closes:
        local = moment.replace(tzinfo=zone)
        # A wall time the clock skips (the spring change) is no slot anyone can book.
        if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == moment:
            yield local
        moment += hours.slot


def _overlaps(spans: Sequence[BusyPeriod], begin: datetime, end: datetime) -> bool:
    return any(a < end and b > begin for a, b in spans)


SAFE_DATE_LINE = re.compile(
    r"First free slots \(from (?P<first>\d{4}-\d{2}-\d{2}) to (?P<last>\d{4}-\d{2}-\d{2})\): "
    r"(?P<rest>.+)"
)
"""The flag's line for a :class:`SafeDate`."""
_NOT_KNOWN = "not known (the calendar's free/busy could not be read)"
_NONE_FREE = "none free"
_SLOT = re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (\d{4}-\d{2}-\d{2} \d{2}:\d{2})")


def render_safe_date(safe: SafeDate) -> str:
    """The flag's line: ``First free slots (from D to D): Mon 2026-03-02 09:00, …``."""
    head = f"First free slots (from {safe.first_day.isoformat()} to {safe.last_day.isoformat()})"
    if not safe.known:
        return f"{head}: {_NOT_KNOWN}"
    if not safe.slots:
        return f"{head}: {_NONE_FREE}"
    return f"{head}: " + ", ".join(
        f"{_WEEKDAYS[s.weekday()]} {s:%Y-%m-%d %H:%M}" for s in safe.slots
    )


def read_safe_date(line: str, zone: tzinfo) -> SafeDate | None:
    """The :class:`SafeDate` a flag's line names (slots on ``zone``'s clock); ``None`` if none."""
    found = SAFE_DATE_LINE.fullmatch(line.strip())
    if found is None:
        return None
    first, last = date.fromisoformat(found["first"]), date.fromisoformat(found["last"])
    rest = found["rest"]
    if rest == _NOT_KNOWN:
        return SafeDate(first, last, known=False)
    slots = tuple(
        datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=zone)
        for text in _SLOT.findall(rest)
    )
    return SafeDate(first, last, slots)
