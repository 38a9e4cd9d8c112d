"""A calendar's own address is never a patient's e-mail (SPEC §4).

Google exports a primary calendar with its e-mail as X-WR-CALNAME and writes the
calendar itself as ORGANIZER (CN = the calendar's name) on its other calendars. Taken
for a patient's e-mail, that address linked two different patients into one.
"""

from __future__ import annotations

from pathlib import Path

from tests.ical.calendars import audit, read, vcalendar, vevent

OWNER = "dr.smith@gmail.com"


def bookings_with_guest(guest: str, *lines: str) -> tuple[str, str]:
    return (
        vevent("UID:m", "DTSTART:20260301T100000Z", "SUMMARY:Microneedling - Jane Doe",
               f"ATTENDEE:mailto:{guest}", *lines),
        vevent("UID:b", "DTSTART:20260305T100000Z", "SUMMARY:Botox - Ann Lee",
               f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{guest.upper()}", *lines),
    )  # fmt: skip


def test_a_primary_calendars_address_links_no_two_patients(tmp_path: Path) -> None:
    calendar = vcalendar(*bookings_with_guest(OWNER), header=f"X-WR-CALNAME:{OWNER}")
    assert audit(tmp_path, calendar).conflicts == []
    attendees = [a for b in read(calendar).bookings for a in b.attendees]
    assert [a.is_self for a in attendees] == [True, True]


def test_the_calendar_as_organizer_of_another_event_is_its_own_address(tmp_path: Path) -> None:
    room = "c_9f1e@group.calendar.google.com"
    created_here = vevent(
        "UID:o", "DTSTART:20260310T100000Z", f"ORGANIZER;CN=Room 1:mailto:{room}", "SUMMARY:Peel"
    )
    calendar = vcalendar(*bookings_with_guest(room), created_here, header="X-WR-CALNAME:Room 1")
    assert audit(tmp_path, calendar).conflicts == []


def test_one_calendars_address_names_no_patient_on_another(tmp_path: Path) -> None:
    primary = vcalendar(vevent("UID:x", "DTSTART:20260101T100000Z"), header=f"X-WR-CALNAME:{OWNER}")
    room = vcalendar(*bookings_with_guest(OWNER), header="X-WR-CALNAME:Room 1")
    assert audit(tmp_path, primary, room).conflicts == []


def test_a_real_patient_email_still_links(tmp_path: Path) -> None:
    calendar = vcalendar(*bookings_with_guest("pat@example.com"), header=f"X-WR-CALNAME:{OWNER}")
    (conflict,) = audit(tmp_path, calendar).conflicts
    assert conflict.match.value == "email"
