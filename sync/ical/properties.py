"""Reading the properties of one iCalendar VEVENT (RFC 5545 §3.8), shared by every reader.

Calendar exports (:mod:`sync.usecases.ics_export`), CalDAV resources and subscribed .ics feeds
(:mod:`sync.ical.mapping`) read attendees, addresses, text and recurrence ids the same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from rules.model import Attendee

__all__ = [
    "PATIENT_ID_PROPERTY",
    "address",
    "attendees",
    "first_line",
    "plain_properties",
    "recurrence_key",
    "text",
]

PATIENT_ID_PROPERTY = "X-CLINIC-PATIENT-ID"
"""The explicit patient id of a booking in iCalendar data (SPEC §4)."""

_PARTSTAT = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative"}
_RESOURCE_TYPES = {"ROOM", "RESOURCE"}
_UTC = ZoneInfo("UTC")


def attendees(
    component: Any, organizer: str, own: frozenset[str] = frozenset()
) -> Iterator[Attendee]:
    """The ATTENDEEs that have an e-mail address, with PARTSTAT and CUTYPE read.

    An attendee whose address is in ``own`` — the calendar's own — is the calendar
    itself, like Google's ``self``.
    """
    raw = component.get("ATTENDEE", [])
    for prop in raw if isinstance(raw, list) else [raw]:
        email = address(prop)
        if not email:
            continue
        params: Mapping[str, Any] = getattr(prop, "params", {})
        yield Attendee(
            email=email,
            organizer=email == organizer,
            is_self=email in own,
            resource=str(params.get("CUTYPE", "")).upper() in _RESOURCE_TYPES,
            response=_PARTSTAT.get(str(params.get("PARTSTAT", "")).upper(), "needsAction"),
        )


def plain_properties(component: Any) -> dict[str, Any]:
    """A component's own properties as a plain dict, read without case folding.

    icalendar keeps property names upper-cased, yet folds the name again on every lookup;
    reading one booking takes a few dozen lookups.
    """
    return dict(dict.items(component))


def address(prop: object) -> str:
    """A ``mailto:`` calendar address as a case-folded e-mail, or "" when it is none."""
    if prop is None:
        return ""
    value = str(prop).strip()
    if value.lower().startswith("mailto:"):
        value = value[len("mailto:") :]
    return value.casefold() if "@" in value else ""


def text(value: object) -> str:
    """A TEXT property as a string; a repeated one joined by lines."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n".join(str(item) for item in value)
    return str(value)


def recurrence_key(value: date) -> str:
    """How an instance id names its RECURRENCE-ID: UTC ``YYYYMMDDTHHMMSSZ``, or ``YYYYMMDD``."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_UTC)
        return value.strftime("%Y%m%dT%H%M%S") + ("Z" if value.tzinfo else "")
    return value.strftime("%Y%m%d")


def first_line(err: BaseException) -> str:
    """An error's first line, short enough for a skip record."""
    lines = str(err).strip().splitlines()
    return lines[0][:200] if lines else type(err).__name__
