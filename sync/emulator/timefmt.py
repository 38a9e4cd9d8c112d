"""Time values as the Calendar API writes and reads them.

Timestamps are RFC 3339 (https://developers.google.com/calendar/api/v3/reference/events):
``created``/``updated`` in UTC with milliseconds and ``Z``; event times are
``{"date": "YYYY-MM-DD"}`` (all-day) or ``{"dateTime": ..., "timeZone": ...}``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sync.emulator.errors import ApiError

__all__ = [
    "event_datetime",
    "event_instant",
    "format_event_time",
    "format_ms",
    "now_utc",
    "parse_rfc3339",
    "zone",
]


def now_utc() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)


def format_ms(moment: datetime) -> str:
    """``2025-03-01T10:00:00.123Z``, the form of ``created`` and ``updated``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def format_event_time(moment: datetime) -> str:
    """An event's dateTime: RFC 3339 with the offset of its zone, ``Z`` for a zero offset."""
    text = moment.isoformat(timespec="seconds")
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def parse_rfc3339(value: str, what: str = "time") -> datetime:
    """An aware datetime from an RFC 3339 string; naive values are rejected like Google does."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as err:
        raise ApiError.bad_request(f"Invalid {what}: {value!r}") from err
    if parsed.tzinfo is None:
        raise ApiError.bad_request(f"Invalid {what}: {value!r} has no UTC offset")
    return parsed


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``, or 400 when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ApiError.bad_request(f"Invalid time zone definition: {name!r}", "timeZone") from err


def parse_date(value: str) -> date:
    """A ``YYYY-MM-DD`` all-day date, or 400."""
    try:
        return date.fromisoformat(value)
    except ValueError as err:
        raise ApiError.bad_request(f"Invalid date: {value!r}") from err


def event_instant(when: dict[str, Any], calendar_tz: str) -> datetime:
    """The instant an event time denotes; all-day dates start at midnight in the calendar's zone."""
    if "date" in when and when["date"] is not None:
        day = parse_date(str(when["date"]))
        return datetime.combine(day, time(), tzinfo=zone(calendar_tz))
    return event_datetime(when)


def event_datetime(when: dict[str, Any]) -> datetime:
    """A timed event time; the offset may be left out when ``timeZone`` names the zone."""
    value = str(when.get("dateTime", ""))
    if when.get("timeZone"):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as err:
            raise ApiError.bad_request(f"Invalid dateTime: {value!r}") from err
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=zone(str(when["timeZone"])))
    return parse_rfc3339(value, "dateTime")
