"""Reading is linear and bounded: hostile rules and sizes cost their size once, with a record.

Each of these hung ``audit`` past 120 s before. The checks are on counts (occurrences
kept, characters handed to the parser, lines read); the time bounds are generous backstops
for a busy machine, far below the old hang.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from sync.ical.document import MAX_COMPONENT_LINES
from sync.ical.expand import MAX_OCCURRENCES, SCAN_BUDGET
from sync.ical.lines import MAX_LINE_CHARS
from tests.ical.calendars import read, reasons, vcalendar, vevent

BACKSTOP_SECONDS = 30.0


@contextmanager
def finishes_quickly() -> Iterator[None]:
    started = time.monotonic()
    yield
    assert time.monotonic() - started < BACKSTOP_SECONDS


def test_an_endless_secondly_rule_is_cut_at_the_cap_with_a_note() -> None:
    series = vevent("UID:s", "DTSTART:20260105T100000Z", "RRULE:FREQ=SECONDLY", "SUMMARY:Botox")
    with finishes_quickly():
        export = read(vcalendar(series))
    assert len(export.bookings) == MAX_OCCURRENCES
    assert len({b.id for b in export.bookings}) == MAX_OCCURRENCES
    assert reasons(export)["s"].startswith(f"more than {MAX_OCCURRENCES:,} occurrences")


def test_a_dense_rule_that_starts_years_before_the_window_is_skipped_with_why() -> None:
    series = vevent("UID:s", "DTSTART:20200105T100000Z", "RRULE:FREQ=MINUTELY", "SUMMARY:Botox")
    with finishes_quickly():
        export = read(vcalendar(series, vevent("UID:ok", "DTSTART:20260301T100000Z")))
    assert [b.id for b in export.bookings] == ["ok"]
    assert f"more than {SCAN_BUDGET:,} times" in reasons(export)["s"]


def test_an_ordinary_long_series_is_read_whole() -> None:
    series = vevent("UID:d", "DTSTART:20200101T090000Z", "RRULE:FREQ=DAILY", "SUMMARY:Peel")
    export = read(vcalendar(series))
    assert len(export.bookings) == 546  # every day of the window, none cut
    assert "d" not in reasons(export)


def test_400k_folded_lines_are_unfolded_once_and_the_field_cut_with_a_note() -> None:
    description = "DESCRIPTION:" + "\r\n ".join(["x" * 74] * 400_000)
    with finishes_quickly():
        export = read(vcalendar(vevent("UID:f", "DTSTART:20260301T100000Z", description)))
    (booking,) = export.bookings
    assert len(booking.description) == MAX_LINE_CHARS - len("DESCRIPTION:")
    assert reasons(export)["f"] == (
        f"DESCRIPTION of {12 + 74 * 400_000:,} characters cut to {MAX_LINE_CHARS:,}"
    )


def test_a_20_mb_one_line_summary_is_cut_with_a_note() -> None:
    summary = "SUMMARY:Botox " + "A" * 20_000_000
    with finishes_quickly():
        export = read(vcalendar(vevent("UID:big", "DTSTART:20260301T100000Z", summary)))
    (booking,) = export.bookings
    assert booking.summary.startswith("Botox AAA")
    assert len(booking.summary) == MAX_LINE_CHARS - len("SUMMARY:")
    assert "SUMMARY of 20,000,014 characters cut" in reasons(export)["big"]


def test_an_event_of_400k_properties_reads_only_what_a_booking_needs_past_the_limit() -> None:
    padding = [f"X-PAD-{n}:{'y' * 40}" for n in range(400_000)]
    event = vevent("UID:p", *padding, "DTSTART:20260301T100000Z", "SUMMARY:Botox - Jane Doe")
    with finishes_quickly():
        export = read(vcalendar(event))
    (booking,) = export.bookings
    assert booking.summary == "Botox - Jane Doe"
    dropped = 400_000 - (MAX_COMPONENT_LINES - 3)  # BEGIN, DTSTAMP and UID come first
    assert reasons(export)["p"] == (
        f"{dropped:,} lines past the first {MAX_COMPONENT_LINES:,} left unread"
    )
