"""iCalendar data read component by component: a broken part costs only itself (RFC 5545 §3.6).

The whole object is never handed to a parser at once: a VFREEBUSY with a reversed period
or a VALARM whose TRIGGER is ``PT-2H`` would reject every booking beside it. Instead the
logical lines (:mod:`sync.ical.lines`) are cut into the top-level components of each
VCALENDAR and only those a booking needs — VEVENT and VTIMEZONE — are parsed, each on its
own. A VEVENT's alarms are parsed apart too and an unreadable one is dropped with a note:
reminders are not bookings. What cannot be read is skipped with its reason.

An event without a UID (Outlook Web App 2012 writes them) gets one derived from its own
content lines, the stamp left out: the same bytes give the same id on every read and two
different events two different ids. RFC 5545 §3.8.4.7 makes UID required
(https://icalendar.org/iCalendar-RFC-5545/3-8-4-7-unique-identifier.html); dropping the
event instead would hide a booking.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import icalendar

from sync.ical.lines import content_lines, cut_line
from sync.ical.parser import parse_component
from sync.ical.properties import first_line
from sync.sources.port import SkippedEvent

__all__ = [
    "DERIVED_UID_PREFIX",
    "MAX_COMPONENT_LINES",
    "CalendarDocument",
    "MalformedCalendar",
    "read_document",
]

DERIVED_UID_PREFIX = "derived-uid-"
MAX_COMPONENT_LINES = 5_000
"""Lines of one component read in full (a booking has tens; its guests a few hundred)."""

_READ = frozenset({"VEVENT", "VTIMEZONE"})
_IDENTIFYING = frozenset({"DTSTART", "RECURRENCE-ID"})
_RULES = frozenset({"RRULE", "EXRULE"})
# What a booking is read from (sync.ical.mapping), kept however long the component is.
_BOOKING_PROPERTIES = frozenset(
    {
        "BEGIN", "END", "UID", "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE",
        "RECURRENCE-ID", "SUMMARY", "DESCRIPTION", "STATUS", "ORGANIZER", "SEQUENCE",
        "X-CLINIC-PATIENT-ID", "TZID", "TZOFFSETFROM", "TZOFFSETTO",
    }
)  # fmt: skip
_STAMPS = ("DTSTAMP",)  # when the file was written, not what the event is


class MalformedCalendar(ValueError):
    """The data holds no VCALENDAR; the message says why."""


@dataclass(slots=True)
class CalendarDocument:
    """The readable parts of one piece of iCalendar data."""

    header: icalendar.Calendar
    """The calendar's own properties (``X-WR-CALNAME``, ``X-WR-TIMEZONE``…), no components."""
    timezones: list[Any] = field(default_factory=list)
    events: list[Any] = field(default_factory=list)
    """Every VEVENT that could be parsed, each with a UID."""
    skipped: list[SkippedEvent] = field(default_factory=list)
    notes: list[SkippedEvent] = field(default_factory=list)
    """What was repaired to read an event (a cut field, a dropped alarm), by event id."""
    repairs: list[str] = field(default_factory=list)
    """What was repaired in the data as a whole (its charset)."""


@dataclass(slots=True)
class _Block:
    """The lines of one top-level component, nested components included."""

    name: str
    lines: list[str] = field(default_factory=list)
    closed: bool = False


def read_document(data: bytes | str, source: str) -> CalendarDocument:
    """The readable parts of ``data``; :class:`MalformedCalendar` names ``source`` if none."""
    read = content_lines(data)
    header: list[str] = []
    blocks: list[_Block] = []
    if not _scan(read.lines, header, blocks):
        raise MalformedCalendar(f"{source}: not iCalendar data (no VCALENDAR)")
    document = CalendarDocument(header=_header(_bounded(header)[0]), repairs=read.notes)
    for block in blocks:
        _read_block(block, document)
    return document


def _scan(lines: list[str], header: list[str], blocks: list[_Block]) -> bool:
    """Sort the lines of every VCALENDAR into its properties and its components' blocks."""
    found, depth, block = False, 0, None
    for line in lines:
        marker, _, value = line.partition(":")
        marker = marker.strip().upper()
        name = value.strip().upper()
        if depth == 0:
            if marker == "BEGIN" and name == "VCALENDAR":
                found, depth = True, 1
            continue
        if block is None:
            if marker == "END" and name == "VCALENDAR":
                depth = 0
            elif marker == "BEGIN":
                block = _Block(name, [line])
                blocks.append(block)
                depth = 2
            else:
                header.append(line)
            continue
        block.lines.append(line)
        depth += (marker == "BEGIN") - (marker == "END")
        if depth == 1:
            block.closed, block = name == block.name, None
    return found


def _header(lines: list[str]) -> icalendar.Calendar:
    """The calendar's properties: all at once, or line by line when one of them is broken."""
    try:
        return _calendar_of(lines)
    except (ValueError, KeyError, IndexError, TypeError):
        calendar = icalendar.Calendar()
    for line in lines:
        try:
            read = _calendar_of([line])
        except (ValueError, KeyError, IndexError, TypeError):
            continue  # a calendar property nobody can read names nothing a booking needs
        for name, value in read.property_items(recursive=False):
            if name not in ("BEGIN", "END"):
                calendar.add(name, value, encode=False)
    return calendar


def _calendar_of(lines: list[str]) -> icalendar.Calendar:
    calendar = _parse(["BEGIN:VCALENDAR", *lines, "END:VCALENDAR"])
    if not isinstance(calendar, icalendar.Calendar):
        raise ValueError("not a VCALENDAR")
    return calendar


def _read_block(block: _Block, document: CalendarDocument) -> None:
    if block.name not in _READ:
        return  # VTODO, VJOURNAL, VFREEBUSY, VAVAILABILITY, X- components: not bookings
    uid = _uid(block.lines) if block.name == "VEVENT" else ""
    if not block.closed:
        document.skipped.append(SkippedEvent(uid, f"{block.name} is not closed (no END)"))
        return
    lines, notes = _bounded(block.lines)
    # A time zone's STANDARD and DAYLIGHT parts are the zone: it is read whole.
    own, nested = _split(lines) if block.name == "VEVENT" else (lines, [])
    if block.name == "VEVENT" and not uid:
        uid = _derived_uid(own)
        own.insert(1, f"UID:{uid}")
    try:
        component = _parse(own)
    except (ValueError, KeyError, IndexError, TypeError) as err:
        document.skipped.append(SkippedEvent(uid, f"unreadable {block.name}: {first_line(err)}"))
        return
    notes.extend(_attach(component, nested))
    notes.extend(_errors(component))
    if block.name == "VTIMEZONE":
        document.timezones.append(component)
    else:
        document.events.append(component)
        document.notes.extend(SkippedEvent(uid, note) for note in notes)


def _bounded(lines: list[str]) -> tuple[list[str], list[str]]:
    """Each line cut to length; past :data:`MAX_COMPONENT_LINES`, only what a booking reads."""
    kept: list[str] = []
    notes: list[str] = []
    dropped = 0
    for number, line in enumerate(lines):
        if number >= MAX_COMPONENT_LINES and _property(line) not in _BOOKING_PROPERTIES:
            dropped += 1
            continue
        bounded, note = cut_line(line)
        kept.append(_repaired(bounded))
        if note:
            notes.append(note)
    if dropped:
        notes.append(f"{dropped:,} lines past the first {MAX_COMPONENT_LINES:,} left unread")
    return kept, notes


def _property(line: str) -> str:
    return line[:80].partition(":")[0].partition(";")[0].strip().upper()


def _split(lines: list[str]) -> tuple[list[str], list[list[str]]]:
    """A component's own lines (BEGIN and END included) and each nested component's lines."""
    own: list[str] = []
    nested: list[list[str]] = []
    depth = 0
    for line in lines:
        marker = line.partition(":")[0].strip().upper()
        depth += marker == "BEGIN"
        if depth == 1:
            own.append(line)
        else:
            if depth == 2 and marker == "BEGIN":
                nested.append([])
            nested[-1].append(line)
        depth -= marker == "END"
    return own, nested


def _parse(lines: list[str]) -> Any:
    return parse_component(lines)


def _attach(component: Any, nested: list[list[str]]) -> Iterator[str]:
    for lines in nested:
        try:
            component.add_component(_parse(lines))
        except (ValueError, KeyError, IndexError, TypeError) as err:
            name = lines[0].partition(":")[2].strip().upper()
            yield f"{name} ignored: {first_line(err)}"


def _errors(component: Any) -> Iterator[str]:
    """The lines the parser could not read, taken out of the component.

    A broken DTSTART or RECURRENCE-ID stays: without it the event is unreadable, and
    :mod:`sync.ical.mapping` skips it saying so.
    """
    for name, error in getattr(component, "errors", ()):
        if name and name not in _IDENTIFYING:
            component.pop(name, None)
        yield f"{name or 'a line'} unreadable, left out: {str(error)[:200]}"


def _repaired(line: str) -> str:
    """A recurrence rule without the spaces some writers put after its commas.

    RFC 5545 §3.3.10 has no white space in a RECUR value; Microsoft CDO writes
    ``BYDAY=MO, TU, WE`` and the strict parser would lose the whole rule.
    """
    name, colon, value = line.partition(":")
    if colon and name.strip().upper() in _RULES and (" " in value or "\t" in value):
        return f"{name}:{''.join(value.split())}"
    return line


def _uid(lines: list[str]) -> str:
    """The UID written on the component itself (not on one of its alarms)."""
    depth = 0
    for line in lines:
        name, _, value = line.partition(":")
        name = name.partition(";")[0].strip().upper()
        depth += (name == "BEGIN") - (name == "END")
        if depth == 1 and name == "UID":
            return value.strip()
    return ""


def _derived_uid(lines: list[str]) -> str:
    content = "\n".join(
        line for line in lines if line.partition(":")[0].partition(";")[0].upper() not in _STAMPS
    )
    return DERIVED_UID_PREFIX + hashlib.sha256(content.encode("utf-8", "replace")).hexdigest()[:32]
