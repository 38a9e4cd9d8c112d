"""What a feed says (SPEC §7), read back by two independent parsers: icalendar and ical."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest
from ical.calendar_stream import IcsCalendarStream

from rules.model import Policy
from sync.feeds.service import FeedService
from tests.feeds.conftest import TODAY, ClinicData, service_for

MN = "Microneedling - Jane Doe"


def render(service: FeedService, secret: str) -> bytes:
    answer = service.answer(secret)
    assert answer.feed is not None
    return answer.feed.body


def events(body: bytes) -> list[icalendar.Event]:
    return list(icalendar.Calendar.from_ical(body).walk("VEVENT"))


def summaries(body: bytes) -> list[str]:
    return [str(event["SUMMARY"]) for event in events(body)]


def strict(body: bytes) -> object:
    """The stricter, independent ``ical`` parser must accept the feed as it is."""
    return IcsCalendarStream.calendar_from_ics(body.decode("utf-8"))


def test_eligible_day_and_ideal_window_as_all_day_events(
    clinic: ClinicData, default_policy: Policy
) -> None:
    clinic.book("mn1", "2026-11-20", MN)
    _, secret = clinic.issue("patient", "name:Jane Doe")
    body = render(service_for(clinic), secret)
    parsed = strict(body)
    found = {(e.summary, e.dtstart, e.dtend) for e in parsed.events}  # type: ignore[attr-defined]
    assert found == {
        ("Eligible for Botox from 2026-12-04 (Jane Doe)", date(2026, 12, 4), date(2026, 12, 5)),
        ("Ideal window for Botox (Jane Doe)", date(2026, 12, 4), date(2026, 12, 19)),
    }


def test_calendar_properties_follow_rfc_5545_and_7986(
    clinic: ClinicData, default_policy: Policy
) -> None:
    clinic.book("mn1", "2026-11-20", MN)
    _, secret = clinic.issue("clinic", label="Rivera feed")
    body = render(service_for(clinic), secret)
    calendar = icalendar.Calendar.from_ical(body)
    assert calendar["VERSION"] == "2.0"
    assert calendar["CALSCALE"] == "GREGORIAN"
    assert calendar["METHOD"] == "PUBLISH"
    assert str(calendar["PRODID"]).startswith("-//clinic-sync//")
    assert str(calendar["NAME"]) == str(calendar["X-WR-CALNAME"]) == "Rivera feed"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in body
    assert b"X-PUBLISHED-TTL:PT1H\r\n" in body
    assert b"VTIMEZONE" not in body, "all-day events need no time zone"
    parsed = strict(body)
    assert parsed.refresh_interval == timedelta(hours=1)  # type: ignore[attr-defined]
    for event in events(body):
        assert event["DTSTART"].params.get("VALUE") == "DATE"
        assert event["DTSTAMP"].dt.tzinfo is not None


def test_dtstamp_is_the_bookings_last_change_not_the_clock(
    clinic: ClinicData, default_policy: Policy
) -> None:
    booked_at = clinic.clock.now
    clinic.book("mn1", "2026-11-20", MN)
    clinic.clock.now = booked_at + timedelta(hours=5)
    _, secret = clinic.issue("clinic")
    body = render(service_for(clinic), secret)
    assert {event["DTSTAMP"].dt for event in events(body)} == {booked_at}


def test_same_data_renders_the_same_bytes_and_uids(
    clinic: ClinicData, default_policy: Policy
) -> None:
    clinic.book("mn1", "2026-11-20", MN, patient_email="jane@example.com")
    clinic.book("mn2", "2026-11-22", "Microneedling - Tom Reed", calendar="Nurse Kim")
    _, secret = clinic.issue("clinic")
    first = render(service_for(clinic), secret)
    clinic.clock.now += timedelta(minutes=30)  # same day, a fresh process: same feed
    second = render(service_for(clinic), secret)
    assert first == second
    uids = [str(event["UID"]) for event in events(first)]
    assert len(uids) == len(set(uids)) == 2, "one stretch of days per patient"
    assert all(uid.endswith("@clinic-sync") for uid in uids)
    assert not any("jane" in uid.lower() or "reed" in uid.lower() for uid in uids)


def test_sequence_rises_when_an_event_changes(clinic: ClinicData, default_policy: Policy) -> None:
    clinic.book("mn1", "2026-11-20", MN)
    _, secret = clinic.issue("patient", "name:Jane Doe")
    before = {str(e["UID"]): e for e in events(render(service_for(clinic), secret))}
    clinic.clock.now += timedelta(minutes=1)
    clinic.book("mn1", "2026-11-21", MN)  # moved by a day: same UIDs, new dates
    after = {str(e["UID"]): e for e in events(render(service_for(clinic), secret))}
    assert before.keys() == after.keys()
    for uid, event in after.items():
        assert int(event["SEQUENCE"]) == int(before[uid]["SEQUENCE"]) + 1
        assert event["DTSTAMP"].dt > before[uid]["DTSTAMP"].dt


def test_unchanged_events_keep_their_sequence_when_others_change(
    clinic: ClinicData, default_policy: Policy
) -> None:
    clinic.book("mn1", "2026-11-20", MN)
    clinic.book("mn2", "2026-11-21", "Microneedling - Tom Reed")
    _, secret = clinic.issue("clinic")
    render(service_for(clinic), secret)
    clinic.book("mn2", "2026-11-23", "Microneedling - Tom Reed")
    body = render(service_for(clinic), secret)
    sequences = {str(e["SUMMARY"]): int(e["SEQUENCE"]) for e in events(body)}
    assert sequences["Botox: Jane Doe"] == 0
    assert sequences["Botox: Tom Reed"] == 1


def test_coinciding_events_are_published_once(clinic: ClinicData, default_policy: Policy) -> None:
    """Two microneedlings whose blocked days end together give one eligible day, not two."""
    clinic.book("mn1", "2026-11-20", MN)
    clinic.book("mn2", "2026-11-20", "Microneedling touch-up - Jane Doe", calendar="Nurse Kim")
    _, secret = clinic.issue("patient", "name:Jane Doe")
    found = summaries(render(service_for(clinic), secret))
    assert found.count("Eligible for Botox from 2026-12-04 (Jane Doe)") == 1
    assert found.count("Ideal window for Botox (Jane Doe)") == 1


def test_calendar_feed_has_only_the_patients_booked_there(
    clinic: ClinicData, default_policy: Policy
) -> None:
    clinic.book("mn1", "2026-11-20", MN)
    clinic.book("mn2", "2026-11-21", "Microneedling - Tom Reed", calendar="Nurse Kim")
    clinic.book("bx", "2026-12-30", "Botox - Tom Reed", calendar="Dr Smith")
    service = service_for(clinic)
    _, smith = clinic.issue("calendar", str(clinic.sources["Dr Smith"]))
    _, kim = clinic.issue("calendar", str(clinic.sources["Nurse Kim"]))
    _, whole = clinic.issue("clinic")
    smith_patients = summaries(render(service, smith))
    assert smith_patients == ["Botox: Jane Doe", "Botox: Tom Reed"], "Tom is on Dr Smith's too"
    assert summaries(render(service, kim)) == ["Botox: Tom Reed"]
    assert len(summaries(render(service, whole))) == 2
    assert str(icalendar.Calendar.from_ical(render(service, kim))["NAME"]).endswith("Nurse Kim")


def test_patient_feed_finds_the_patient_by_email_or_id(
    clinic: ClinicData, default_policy: Policy
) -> None:
    clinic.book("mn1", "2026-11-20", MN, patient_email="Jane@Example.com", patient_id="P-17")
    clinic.book("mn2", "2026-11-20", "Microneedling - Tom Reed")
    service = service_for(clinic)
    for key in ("email:JANE@example.com", "id:P-17", "name:doe jane"):
        _, secret = clinic.issue("patient", key)
        assert {s.split("(")[-1] for s in summaries(render(service, secret))} == {"Jane Doe)"}


def test_today_is_the_clinics_local_date(clinic: ClinicData, default_policy: Policy) -> None:
    """At 23:30 UTC on the 25th it is already the 26th in Auckland: the window starts there."""
    clinic.book("mn1", "2026-11-10", MN)  # ideal window 24 Nov – 8 Dec, clipped to today
    _, secret = clinic.issue("patient", "name:Jane Doe")
    clinic.clock.now = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)
    window = "Ideal window for Botox (Jane Doe)"
    starts = {}
    # The zone is the clinic's, in the store: each is set, then its feed rendered.
    for name, zone in (("utc", "UTC"), ("auckland", "Pacific/Auckland")):
        service = service_for(clinic, time_zone=zone)
        found = events(render(service, secret))
        starts[name] = next(e["DTSTART"].dt for e in found if e["SUMMARY"] == window)
    assert starts == {"utc": date(2026, 11, 25), "auckland": date(2026, 11, 26)}


@pytest.mark.parametrize(
    ("mode", "shown"),
    [("full", "Jane Doe"), ("initials", "J. D."), ("id", "P-17")],
)
def test_patient_label_setting(
    clinic: ClinicData, default_policy: Policy, mode: str, shown: str
) -> None:
    clinic.book("mn1", "2026-11-20", MN, patient_id="P-17")
    _, secret = clinic.issue("patient", "id:P-17")
    body = render(service_for(clinic, feed_patient_label=mode), secret)
    assert summaries(body)[0] == f"Eligible for Botox from 2026-12-04 ({shown})"
    if mode != "full":
        assert b"Jane" not in body


def test_id_label_without_an_id_hides_the_email(clinic: ClinicData, default_policy: Policy) -> None:
    clinic.book("mn1", "2026-11-20", MN, patient_email="jane@example.com")
    _, secret = clinic.issue("patient", "email:jane@example.com")
    body = render(service_for(clinic, feed_patient_label="id"), secret)
    assert b"jane" not in body.lower()
    assert summaries(body)[0].endswith(")")
    assert "(#" in summaries(body)[0]


HOSTILE = "Eve\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:evil;X-EVIL=1:2,3\x00\x1b[31m\\"


def test_text_from_calendars_cannot_inject_properties_or_components(
    clinic: ClinicData, default_policy: Policy
) -> None:
    clinic.sources[HOSTILE] = clinic.sources["Dr Smith"]
    clinic.book(
        "mn1",
        "2026-11-20",
        "Microneedling",
        calendar=HOSTILE,
        description=f"Patient: Eve Adams;X-EVIL:1,BEGIN:VALARM\nService: Microneedling\n{HOSTILE}",
    )
    _, secret = clinic.issue("clinic", label=HOSTILE)
    body = render(service_for(clinic), secret)
    parsed = icalendar.Calendar.from_ical(body)
    assert [c.name for c in parsed.walk()] == ["VCALENDAR", "VEVENT"]
    allowed = {"UID", "DTSTAMP", "DTSTART", "DTEND", "SEQUENCE", "SUMMARY", "DESCRIPTION", "TRANSP"}
    for event in parsed.walk("VEVENT"):
        assert set(event.keys()) == allowed
        assert "X-EVIL:1,BEGIN:VALARM" in str(event["SUMMARY"])
        assert "END:VEVENT" in str(event["DESCRIPTION"])
    assert not any(line.startswith((b"X-EVIL", b"UID:evil")) for line in body.split(b"\r\n"))
    assert b"\x00" not in body
    assert b"\x1b" not in body
    # icalendar reads NAME raw; ical decodes it as TEXT, the way RFC 7986 types it.
    names = strict(body).name  # type: ignore[attr-defined]
    assert len(names) == 1
    assert names[0].startswith("Eve\nEND:VEVENT\nBEGIN:VEVENT")


def test_no_eligibility_gives_a_valid_empty_calendar(
    clinic: ClinicData, default_policy: Policy
) -> None:
    _, secret = clinic.issue("patient", "email:nobody@example.com")
    body = render(service_for(clinic), secret)
    assert events(body) == []
    strict(body)


def test_past_windows_leave_the_feed(clinic: ClinicData, default_policy: Policy) -> None:
    clinic.book("mn1", "2026-11-20", MN)
    _, secret = clinic.issue("clinic")
    service = service_for(clinic)
    assert summaries(render(service, secret))
    clinic.clock.now = datetime.combine(TODAY + timedelta(days=40), datetime.min.time(), UTC)
    assert summaries(render(service, secret)) == []


def test_initials_tag_tells_apart_two_patients_with_the_same_initials(
    clinic: ClinicData, default_policy: Policy
) -> None:
    clinic.book("mn1", "2026-11-20", MN)
    clinic.book("mn2", "2026-11-20", "Microneedling - Jim Dale")
    _, secret = clinic.issue("calendar", str(clinic.sources["Dr Smith"]))
    service = service_for(clinic, feed_patient_label="initials-tag")
    body = render(service, secret)
    shown = summaries(body)
    assert len(shown) == len(set(shown)) == 2
    assert all(s.startswith("Botox: J. D. ·") for s in shown)
    assert b"Jane" not in body
    assert b"Jim" not in body
    strict(body)
    again = render(service_for(clinic, feed_patient_label="initials-tag"), secret)
    assert summaries(again) == shown, "the same tags in a fresh process"
