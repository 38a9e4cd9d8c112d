"""One broken component costs only itself; events without a UID get a stable one (RFC 5545 §3.6)."""

from __future__ import annotations

from sync.ical.document import DERIVED_UID_PREFIX
from tests.ical.calendars import read, reasons, vcalendar, vevent

BOOKING = vevent("UID:ok", "DTSTART:20260301T100000Z", "SUMMARY:Botox - Jane Doe")
REVERSED_FREEBUSY = """BEGIN:VFREEBUSY
UID:fb
DTSTAMP:20260101T000000Z
FREEBUSY:20260305T100000Z/20260301T100000Z
END:VFREEBUSY"""
BAD_ALARM = vevent(
    "UID:alarmed",
    "DTSTART:20260302T100000Z",
    "SUMMARY:Microneedling - Jane Doe",
    "BEGIN:VALARM",
    "ACTION:DISPLAY",
    "TRIGGER:PT-2H",
    "END:VALARM",
)


def test_a_reversed_freebusy_period_does_not_reject_the_file() -> None:
    export = read(vcalendar(REVERSED_FREEBUSY, BOOKING))
    assert [b.id for b in export.bookings] == ["ok"]


def test_an_unreadable_alarm_is_dropped_with_a_note_and_its_event_kept() -> None:
    export = read(vcalendar(BAD_ALARM, BOOKING))
    assert sorted(b.id for b in export.bookings) == ["alarmed", "ok"]
    assert reasons(export)["alarmed"].startswith("VALARM ignored: ")


def test_an_unclosed_event_is_skipped_with_why_and_its_neighbours_read() -> None:
    unclosed = "BEGIN:VEVENT\nUID:unclosed\nDTSTART:20260301T100000Z"
    export = read(vcalendar(BOOKING, unclosed))
    assert [b.id for b in export.bookings] == ["ok"]
    assert reasons(export)["unclosed"] == "VEVENT is not closed (no END)"


def test_a_line_the_parser_cannot_read_is_noted_on_its_event() -> None:
    damaged = vevent("UID:d", "DTSTART:20260301T100000Z", 'LOCATION;X-P="unterminated:Room 2')
    export = read(vcalendar(damaged))
    assert [b.id for b in export.bookings] == ["d"]
    assert "unreadable, left out" in reasons(export)["d"]


OWA = [
    vevent("DTSTART:20260301T100000Z", "SUMMARY:Botox - Jane Doe"),
    vevent("DTSTART:20260302T100000Z", "SUMMARY:Botox - Ann Lee"),
]


def test_events_without_a_uid_get_distinct_ids_stable_across_reads() -> None:
    """Outlook Web App 2012 writes events with no UID; they are bookings all the same."""
    first = read(vcalendar(*OWA)).bookings
    again = read(vcalendar(*OWA)).bookings
    ids = [b.id for b in first]
    assert len(set(ids)) == 2
    assert all(i.startswith(DERIVED_UID_PREFIX) for i in ids)
    assert [b.id for b in again] == ids
    restamped = [e.replace("20260101T000000Z", "20260909T090909Z") for e in OWA]
    assert [b.id for b in read(vcalendar(*restamped)).bookings] == ids  # DTSTAMP is the file's
    edited = read(vcalendar(OWA[0].replace("Jane", "Jan"), OWA[1])).bookings
    assert edited[0].id != ids[0]
    assert edited[1].id == ids[1]


def test_a_recurring_event_without_a_uid_expands_with_distinct_instance_ids() -> None:
    series = vevent("DTSTART:20260301T100000Z", "RRULE:FREQ=WEEKLY;COUNT=3", "SUMMARY:Peel")
    ids = {b.id for b in read(vcalendar(series)).bookings}
    assert len(ids) == 3
