"""Feed events to iCalendar bytes (RFC 5545, with the RFC 7986 calendar properties).

The calendar carries ``PRODID``, ``VERSION``, ``CALSCALE``, ``METHOD:PUBLISH`` (RFC 5545
§3.7), ``NAME`` (RFC 7986 §5.1) with its older twin ``X-WR-CALNAME``, and how often to
refetch: ``REFRESH-INTERVAL;VALUE=DURATION`` (RFC 7986 §5.7) and ``X-PUBLISHED-TTL``.
Every event is all-day (``VALUE=DATE``), so no ``VTIMEZONE`` is needed (RFC 5545
§3.6.5); ``DTSTAMP`` is UTC. All text goes through the ``icalendar`` library's TEXT
type (RFC 5545 §3.3.11), which escapes ``;``, ``,``, ``\\`` and line breaks, so text
from calendars cannot add properties or components. Same input, same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from icalendar import Calendar, Event, vDuration, vText

from sync.feeds.events import FeedEvent, clean_text

__all__ = ["PRODID", "FeedHeader", "render_feed"]

PRODID = "-//clinic-sync//Eligibility feed 1.0//EN"


@dataclass(frozen=True, slots=True)
class FeedHeader:
    """What the calendar as a whole says: its name, a description, how often to refetch."""

    name: str
    description: str
    refresh: timedelta


def render_feed(
    header: FeedHeader, events: Sequence[FeedEvent], sequences: Mapping[str, int]
) -> bytes:
    """The feed as an iCalendar stream; ``sequences`` gives each UID's ``SEQUENCE``."""
    calendar = _calendar(header)
    for event in events:
        calendar.add_component(_event(event, sequences.get(event.uid, 0)))
    body: bytes = calendar.to_ical(sorted=False)
    return body


def _calendar(header: FeedHeader) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    # icalendar knows NAME and the X- properties only as raw values: wrap them as TEXT.
    calendar.add("name", vText(clean_text(header.name)))
    calendar.add("x-wr-calname", vText(clean_text(header.name)))
    calendar.add("x-wr-caldesc", vText(clean_text(header.description)))
    calendar.add("refresh-interval", vDuration(header.refresh), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(header.refresh))
    return calendar


def _event(event: FeedEvent, sequence: int) -> Event:
    component = Event()
    component.add("uid", event.uid)
    component.add("dtstamp", event.stamp)
    component.add("dtstart", event.start)
    component.add("dtend", event.end)
    component.add("sequence", sequence)
    component.add("summary", vText(event.summary))
    component.add("description", vText(event.description))
    component.add("transp", "TRANSPARENT")
    return component
