"""Expanding a recurring event into its instances.

Follows https://developers.google.com/calendar/api/concepts/events-calendars#recurring_events
and .../v3/reference/events/instances: RRULE/EXRULE/RDATE/EXDATE lines (RFC 5545) are expanded
in the series' ``start.timeZone`` so wall times survive DST; instance ids are
``{id}_{YYYYMMDDTHHMMSSZ}`` (UTC) or ``{id}_{YYYYMMDD}`` for all-day series; a series id may
itself hold ``_`` (Google's "this and following" splits: ``{id}_R{YYYYMMDDTHHMMSS}``), so the
suffix is what follows the last ``_``.

Google expands a series in any window, however long it has run
(.../v3/reference/events/instances), so there is no cap on the number of instances: the cost
is bounded by the window instead. Before a window that starts late in a long series, a rule
without COUNT is fast-forwarded: its DTSTART moves forward by whole periods of the rule
(``INTERVAL`` days, weeks, months or years), with the BYxxx parts it took from the original
DTSTART pinned, which yields exactly the same later occurrences (RFC 5545 §3.3.10). A COUNT
rule is bounded by its count. Without a window end, a HORIZON after now closes an endless rule.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

# python-dateutil ships no type information; the stubs (types-python-dateutil) are optional.
from dateutil.rrule import (  # type: ignore[import-untyped, unused-ignore]
    DAILY,
    HOURLY,
    MINUTELY,
    MONTHLY,
    SECONDLY,
    WEEKLY,
    YEARLY,
    rrule,
    rruleset,
    rrulestr,
)

from sync.emulator.errors import ApiError
from sync.emulator.resources import html_link
from sync.emulator.timefmt import event_datetime, format_event_time, parse_date, zone

__all__ = [
    "HORIZON",
    "Occurrence",
    "instance_id",
    "instance_of",
    "occurrences",
    "split_instance_id",
]

HORIZON = timedelta(days=730)
_DAY = timedelta(days=1)
_UNTIL = re.compile(r"UNTIL=(\d{8})(T\d{6})?(Z)?", re.IGNORECASE)


@dataclass(frozen=True)
class Occurrence:
    """One instance of a series: its original start and its start/end as event times."""

    original: datetime
    start: dict[str, str]
    end: dict[str, str]
    all_day: bool

    @property
    def suffix(self) -> str:
        """The part after ``_`` in the instance id."""
        if self.all_day:
            return self.original.strftime("%Y%m%d")
        return self.original.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def instance_id(series_id: str, occurrence: Occurrence) -> str:
    """``{id}_{suffix}``, the id Google gives an instance."""
    return f"{series_id}_{occurrence.suffix}"


def instance_of(series: dict[str, Any], occ: Occurrence, calendar_id: str) -> dict[str, Any]:
    """The virtual instance resource of ``series`` at ``occ`` (no exception applied)."""
    iid = instance_id(series["id"], occ)
    instance = {k: copy.deepcopy(v) for k, v in series.items() if k != "recurrence"}
    instance.update(
        {"id": iid, "recurringEventId": series["id"], "htmlLink": html_link(iid, calendar_id)}
    )
    instance.update({"originalStartTime": occ.start, "start": occ.start, "end": occ.end})
    return instance


def split_instance_id(event_id: str) -> tuple[str, str] | None:
    """``(series id, suffix)`` for an instance id, else None (base32hex has no ``_``)."""
    series, sep, suffix = event_id.rpartition("_")
    return (series, suffix) if sep and series else None


def occurrences(
    series: dict[str, Any], until: datetime | None = None, since: datetime | None = None
) -> Iterator[Occurrence]:
    """The series' occurrences starting before ``until`` and ending after ``since``.

    ``until`` defaults to HORIZON after the later of now and the first occurrence; ``since``
    to the first occurrence. The work done is bounded by that window, not by the series.
    """
    start, end = series["start"], series["end"]
    all_day = "date" in start
    first, length, tz = _first_and_length(start, end, all_day)
    limit = _limit(first, until, all_day)
    # A day's margin: all-day dates float, and callers apply the exact window themselves.
    floor = None if since is None else _as_series_time(since, all_day, tz) - length - _DAY
    rules = _ruleset(series.get("recurrence") or [], first, tz, floor)
    for moment in rules:
        if moment >= limit:
            return
        if floor is None or moment > floor:
            yield _occurrence(moment, length, all_day, tz)


def _as_series_time(moment: datetime, all_day: bool, tz: ZoneInfo | None) -> datetime:
    """``moment`` in the series' own terms: wall time in its zone, or floating for all-day."""
    if all_day:
        return moment.replace(tzinfo=None) if moment.tzinfo is None else _floating(moment)
    return moment.astimezone(tz)


def _floating(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _limit(first: datetime, until: datetime | None, all_day: bool) -> datetime:
    if until is None:
        now = datetime.now(UTC)
        until = max(now, first.replace(tzinfo=UTC) if all_day else first) + HORIZON
    return until.replace(tzinfo=None) if all_day else until


def _first_and_length(
    start: dict[str, Any], end: dict[str, Any], all_day: bool
) -> tuple[datetime, timedelta, ZoneInfo | None]:
    if all_day:
        first = datetime.combine(parse_date(start["date"]), time())
        return first, datetime.combine(parse_date(end["date"]), time()) - first, None
    tz = zone(start.get("timeZone") or "UTC")
    first = event_datetime(start).astimezone(tz)
    return first, event_datetime(end) - first, tz


def _occurrence(
    moment: datetime, length: timedelta, all_day: bool, tz: ZoneInfo | None
) -> Occurrence:
    if all_day:
        day = moment.date()
        return Occurrence(
            moment, {"date": day.isoformat()}, {"date": (day + length).isoformat()}, True
        )
    name = str(tz)
    stop = (moment.astimezone(UTC) + length).astimezone(tz)
    return Occurrence(
        moment,
        {"dateTime": format_event_time(moment), "timeZone": name},
        {"dateTime": format_event_time(stop), "timeZone": name},
        False,
    )


def _ruleset(
    lines: list[str], first: datetime, tz: ZoneInfo | None, floor: datetime | None
) -> rruleset:
    rules = rruleset()
    rules.rdate(first)
    for line in lines:
        name, params, value = _split_line(line)
        if name in {"RRULE", "EXRULE"}:
            rule = _fast_forward(_rule(value, first), value, first, floor)
            (rules.rrule if name == "RRULE" else rules.exrule)(rule)
        else:
            for moment in _moments(params, value, tz):
                (rules.rdate if name == "RDATE" else rules.exdate)(moment)
    return rules


def _fast_forward(rule: rrule, value: str, first: datetime, floor: datetime | None) -> rrule:
    """``rule`` restarted at a whole number of periods before ``floor``, when that is exact."""
    parts = _rule_parts(value)
    freq = _FREQUENCIES.get(parts.get("FREQ", ""))
    if floor is None or freq is None or "COUNT" in parts or floor <= first:
        return rule
    interval = int(parts["INTERVAL"]) if parts.get("INTERVAL", "").isdigit() else 1
    start = _restart(freq, max(interval, 1), first, floor)
    if start is None:
        return rule
    return rule.replace(dtstart=start, **_pinned_parts(freq, parts, first))


def _rule_parts(value: str) -> dict[str, str]:
    pairs = (p.partition("=") for p in value.split(";"))
    return {k.strip().upper(): v.strip() for k, _, v in pairs if k.strip()}


def _restart(freq: int, interval: int, first: datetime, floor: datetime) -> datetime | None:
    """A DTSTART one period or more before ``floor`` on the rule's own grid of periods."""
    wall = floor.replace(tzinfo=None) - first.replace(tzinfo=None)
    if freq in _FIXED_PERIOD:
        period = _FIXED_PERIOD[freq] * interval
        steps = wall // period - 1
        return first + steps * period if steps > 0 else None
    months = (floor.year - first.year) * 12 + floor.month - first.month
    unit = 12 if freq == YEARLY else 1
    steps = months // (unit * interval) - 1
    if steps <= 0:
        return None
    index = first.year * 12 + first.month - 1 + steps * unit * interval
    return first.replace(year=index // 12, month=index % 12 + 1, day=1)


_FREQUENCIES = {
    "YEARLY": YEARLY,
    "MONTHLY": MONTHLY,
    "WEEKLY": WEEKLY,
    "DAILY": DAILY,
    "HOURLY": HOURLY,
    "MINUTELY": MINUTELY,
    "SECONDLY": SECONDLY,
}
_FIXED_PERIOD = {
    WEEKLY: timedelta(weeks=1),
    DAILY: timedelta(days=1),
    HOURLY: timedelta(hours=1),
    MINUTELY: timedelta(minutes=1),
    SECONDLY: timedelta(seconds=1),
}
_DAY_PARTS = ("BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY", "BYEASTER")


def _pinned_parts(freq: int, parts: dict[str, str], first: datetime) -> dict[str, Any]:
    """The BYxxx values a rule takes from its original DTSTART (RFC 5545 §3.3.10)."""
    pinned: dict[str, Any] = {}
    if not any(part in parts for part in _DAY_PARTS):
        if freq == YEARLY and "BYMONTH" not in parts:
            pinned["bymonth"] = first.month
        if freq in (YEARLY, MONTHLY):
            pinned["bymonthday"] = first.day
        if freq == WEEKLY:
            pinned["byweekday"] = first.weekday()
    return pinned


def _split_line(line: str) -> tuple[str, dict[str, str], str]:
    head, _, value = line.partition(":")
    name, *raw_params = head.split(";")
    params = dict(p.split("=", 1) for p in raw_params if "=" in p)
    return name.upper(), {k.upper(): v for k, v in params.items()}, value


def _rule(value: str, first: datetime) -> rrule:
    aware = first.tzinfo is not None
    try:
        rule = rrulestr(_UNTIL.sub(lambda m: _until(m, aware), value), dtstart=first)
    except (ValueError, TypeError) as err:
        raise ApiError.bad_request(f"Invalid recurrence rule: {value!r}") from err
    if not isinstance(rule, rrule):
        raise ApiError.bad_request(f"Invalid recurrence rule: {value!r}")
    return rule


def _until(match: re.Match[str], aware: bool) -> str:
    """UNTIL in the form dateutil accepts for this DTSTART (UTC when aware, floating when not)."""
    day, clock = match.group(1), match.group(2) or "T235959"
    return f"UNTIL={day}{clock}Z" if aware else f"UNTIL={day}{clock}"


def _moments(params: dict[str, str], value: str, tz: ZoneInfo | None) -> list[datetime]:
    return [_moment(part.strip(), params, tz) for part in value.split(",") if part.strip()]


def _moment(text: str, params: dict[str, str], tz: ZoneInfo | None) -> datetime:
    try:
        if len(text) == 8:
            day = date(int(text[:4]), int(text[4:6]), int(text[6:8]))
            return datetime.combine(day, time(), tzinfo=tz)
        naive = datetime.strptime(text.rstrip("Zz"), "%Y%m%dT%H%M%S")
    except ValueError as err:
        raise ApiError.bad_request(f"Invalid date in recurrence: {text!r}") from err
    if tz is None:
        return naive
    if text.upper().endswith("Z"):
        return naive.replace(tzinfo=UTC)
    return naive.replace(tzinfo=zone(params["TZID"]) if "TZID" in params else tz)
