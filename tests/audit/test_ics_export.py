"""Reading calendar exports into bookings: zones, recurrences, broken input (SPEC §5, §8)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from sync.errors import ExportError
from sync.usecases.ics_export import parse_export

WINDOW = (date(2026, 1, 1), date(2027, 12, 31))


def ics(*events: str, header: str = "X-WR-CALNAME:Dr Smith\nX-WR-TIMEZONE:Europe/London") -> bytes:
    body = "\n".join(
        f"BEGIN:VEVENT\nDTSTAMP:20260101T000000Z\n{e.strip()}\nEND:VEVENT" for e in events
    )
    text = f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n{header}\n{body}\nEND:VCALENDAR\n"
    return text.replace("\n", "\r\n").encode()


def days(data: bytes) -> dict[str, date]:
    return {b.id: b.day for b in parse_export(data, "t.ics", WINDOW).bookings}


def test_calendar_name_comes_from_x_wr_calname_else_the_file() -> None:
    assert parse_export(ics("UID:a\nDTSTART:20260301T100000Z"), "x.ics", WINDOW).name == "Dr Smith"
    unnamed = ics("UID:a\nDTSTART:20260301T100000Z", header="")
    assert parse_export(unnamed, "x.ics", WINDOW, default_name="room-1").name == "room-1"


def test_late_evening_utc_time_falls_on_the_calendars_local_day() -> None:
    # 23:30Z on 10 June is 00:30 on 11 June in London (BST) but still 10 June in New York.
    event = "UID:a\nDTSTART:20260610T233000Z\nSUMMARY:Botox"
    assert days(ics(event)) == {"a": date(2026, 6, 11)}
    new_york = "X-WR-CALNAME:NY\nX-WR-TIMEZONE:America/New_York"
    assert days(ics(event, header=new_york)) == {"a": date(2026, 6, 10)}


def test_without_calendar_zone_each_event_keeps_its_own_zone() -> None:
    event = "UID:a\nDTSTART;TZID=Australia/Sydney:20260301T080000"
    assert days(ics(event, header="X-WR-CALNAME:Syd")) == {"a": date(2026, 3, 1)}


def test_dst_change_nights_keep_the_local_day() -> None:
    # London clocks go forward at 01:00Z on 29 March 2026 and back at 01:00Z on 25 October.
    spring = "UID:s\nDTSTART;TZID=Europe/London:20260329T003000"
    autumn = "UID:f\nDTSTART:20261024T233000Z"
    assert days(ics(spring, autumn)) == {"s": date(2026, 3, 29), "f": date(2026, 10, 25)}


def test_all_day_events_use_their_date() -> None:
    assert days(ics("UID:a\nDTSTART;VALUE=DATE:20261201\nDTEND;VALUE=DATE:20261202")) == {
        "a": date(2026, 12, 1)
    }


def test_recurring_events_expand_with_exdate_rdate_and_overrides() -> None:
    series = """UID:r
DTSTART;TZID=Europe/London:20260105T100000
RRULE:FREQ=WEEKLY;COUNT=4
EXDATE;TZID=Europe/London:20260112T100000
RDATE;TZID=Europe/London:20260301T090000
SUMMARY:Botox - Jane Doe"""
    moved = """UID:r
RECURRENCE-ID;TZID=Europe/London:20260119T100000
DTSTART;TZID=Europe/London:20260121T100000
SUMMARY:Botox (moved) - Jane Doe"""
    export = parse_export(ics(series, moved), "t.ics", WINDOW)
    got = sorted((b.day.isoformat(), b.summary) for b in export.bookings)
    assert got == [
        ("2026-01-05", "Botox - Jane Doe"),
        ("2026-01-21", "Botox (moved) - Jane Doe"),
        ("2026-01-26", "Botox - Jane Doe"),
        ("2026-03-01", "Botox - Jane Doe"),
    ]
    assert {b.uid for b in export.bookings} == {"r"}
    assert len({b.id for b in export.bookings}) == 4


def test_infinite_series_is_bounded_by_the_window() -> None:
    export = parse_export(ics("UID:r\nDTSTART:20260105T100000Z\nRRULE:FREQ=DAILY"), "t", WINDOW)
    assert len(export.bookings) == (WINDOW[1] - date(2026, 1, 5)).days + 1


def test_attendees_organizer_status_and_patient_id_are_read() -> None:
    event = """UID:a
DTSTART:20260301T100000Z
STATUS:CANCELLED
ORGANIZER:mailto:Dr.Smith@clinic.example
ATTENDEE;PARTSTAT=DECLINED:mailto:Jane@Example.com
ATTENDEE;CUTYPE=ROOM:mailto:room1@clinic.example
X-CLINIC-PATIENT-ID:P-42"""
    (b,) = parse_export(ics(event), "t.ics", WINDOW).bookings
    assert b.cancelled
    assert b.organizer_email == "dr.smith@clinic.example"
    assert b.patient_id == "P-42"
    assert [(a.email, a.response, a.resource) for a in b.attendees] == [
        ("jane@example.com", "declined", False),
        ("room1@clinic.example", "needsAction", True),
    ]


def test_unreadable_events_are_skipped_with_their_reason_and_the_rest_is_read() -> None:
    export = parse_export(
        ics(
            "UID:ok\nDTSTART:20260301T100000Z",
            "UID:nostart\nSUMMARY:Botox",
            "UID:baddate\nDTSTART:2026XX01",
        ),
        "t.ics",
        WINDOW,
    )
    assert [b.id for b in export.bookings] == ["ok"]
    reasons = {s.uid: s.reason for s in export.skipped}
    assert reasons["nostart"] == "event has no DTSTART"
    assert reasons["baddate"].startswith("unreadable date")


def test_unknown_calendar_zone_is_recorded_and_event_zones_used() -> None:
    data = ics(
        "UID:a\nDTSTART;TZID=Europe/Paris:20260301T003000",
        header="X-WR-CALNAME:X\nX-WR-TIMEZONE:Mars/Olympus",
    )
    export = parse_export(data, "t.ics", WINDOW)
    assert [b.day for b in export.bookings] == [date(2026, 3, 1)]
    assert "Mars/Olympus" in export.skipped[0].reason


@pytest.mark.parametrize(
    "data", [b"", b"hello world", b"BEGIN:VCARD\r\nEND:VCARD\r\n", b"\xff\xfe"]
)
def test_a_file_that_is_not_icalendar_is_a_clear_error(data: bytes) -> None:
    with pytest.raises(ExportError, match=r"t\.ics: not an iCalendar file"):
        parse_export(data, "t.ics", WINDOW)


def test_outlook_style_export_with_windows_zone_names() -> None:
    """Outlook writes its own VTIMEZONE under a Windows name; the event's offset comes from it."""
    header = """X-WR-CALNAME:Outlook
BEGIN:VTIMEZONE
TZID:Pacific Standard Time
BEGIN:STANDARD
DTSTART:16010101T020000
TZOFFSETFROM:-0700
TZOFFSETTO:-0800
RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:-0800
TZOFFSETTO:-0700
RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE"""
    data = ics("UID:o\nDTSTART;TZID=Pacific Standard Time:20260715T220000", header=header)
    (b,) = parse_export(data, "t.ics", WINDOW).bookings
    assert b.day == date(2026, 7, 15)
    assert b.day - timedelta(days=0) == date(2026, 7, 15)
