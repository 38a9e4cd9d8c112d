"""RECURRENCE-ID;RANGE=THISANDFUTURE: every later instance keeps its own identity.

RFC 5545 §3.2.13 and §3.8.4.4: the override applies to "the instance specified by the
recurrence identifier and all subsequent recurrence instances"; each instance is still
identified by its own original start. A booking system's export lost 184 of 193 bookings
when every later instance got the override's id.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tests.ical.calendars import WINDOW, audit, read, vcalendar, vevent

SERIES = vevent(
    "UID:weekly@booking.example",
    "DTSTART:20260105T100000Z",
    "DURATION:PT1H",
    "RRULE:FREQ=WEEKLY;COUNT=193",
    "SUMMARY:Microneedling - Jane Doe",
)
FROM_THE_THIRD = vevent(
    "UID:weekly@booking.example",
    "RECURRENCE-ID;RANGE=THISANDFUTURE:20260119T100000Z",
    "DTSTART:20260119T120000Z",
    "DURATION:PT1H",
    "SUMMARY:Microneedling - Jane Doe",
    "DESCRIPTION:Room 2 from now on",
)


def test_every_instance_after_a_this_and_future_override_is_read_with_its_own_id() -> None:
    export = read(vcalendar(SERIES, FROM_THE_THIRD))
    in_window = [b for b in export.bookings if WINDOW[0] <= b.day <= WINDOW[1]]
    assert len(in_window) == len(export.bookings) == 78  # 5 Jan 2026 … 28 Jun 2027, weekly
    assert len({b.id for b in export.bookings}) == 78
    by_id = {b.id: b for b in export.bookings}
    assert by_id["weekly@booking.example@20260112T100000Z"].description == ""
    # Later instances: the override's content, their own original start as their id.
    later = by_id["weekly@booking.example@20260126T100000Z"]
    assert later.description == "Room 2 from now on"
    assert by_id["weekly@booking.example@20260119T100000Z"].day == date(2026, 1, 19)
    assert {b.uid for b in export.bookings} == {"weekly@booking.example"}


def test_a_later_single_override_still_wins_over_the_range() -> None:
    moved = vevent(
        "UID:weekly@booking.example",
        "RECURRENCE-ID:20260202T100000Z",
        "DTSTART:20260204T090000Z",
        "SUMMARY:Microneedling (moved) - Jane Doe",
    )
    export = read(vcalendar(SERIES, FROM_THE_THIRD, moved))
    by_id = {b.id: b for b in export.bookings}
    assert len(by_id) == 78
    instance = by_id["weekly@booking.example@20260202T100000Z"]
    assert (instance.summary, instance.day) == (
        "Microneedling (moved) - Jane Doe",
        date(2026, 2, 4),
    )


def test_a_conflict_13_days_after_a_this_and_future_instance_is_found(tmp_path: Path) -> None:
    """Weekly from 5 Jan, moved by the range from 19 Jan on; Botox on 8 Mar is 13 days late."""
    botox = vevent("UID:b1", "DTSTART:20260308T100000Z", "SUMMARY:Botox - Jane Doe")
    series = SERIES.replace("COUNT=193", "COUNT=8")  # the last instance is 23 February
    result = audit(tmp_path, vcalendar(series, FROM_THE_THIRD, botox))
    found = {(c.earlier.id, c.later.id, c.gap_days) for c in result.conflicts}
    assert found == {("weekly@booking.example@20260223T100000Z", "b1", 13)}
