"""CalDAV against a real Radicale server: discovery, incremental sync, recurrences, flags."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from caldav.collection import Calendar
from caldav.davclient import DAVClient

from rules.flag import FlagPatch
from sync.ical.snapshot import decode_cursor, encode_cursor
from sync.sources.caldav import CalDavSource, CalendarGone
from sync.sources.port import EventChanged
from tests.caldav.conftest import NOW, put_event, vcalendar, vevent

MOVED = "\r\n".join(
    [
        "BEGIN:VEVENT",
        "UID:series",
        "DTSTAMP:20291201T000000Z",
        "RECURRENCE-ID:20300114T100000Z",
        "DTSTART:20300115T100000Z",
        "DURATION:PT1H",
        "SUMMARY:Botox moved",
        "END:VEVENT",
    ]
)
SERIES = vevent("series", "Botox", "20300107T100000Z", "RRULE:FREQ=WEEKLY;COUNT=3")


def test_discovery_finds_the_principals_calendars(
    caldav_source: CalDavSource, new_calendar: Callable[..., Calendar]
) -> None:
    made = new_calendar("Room 2", "Europe/Paris")
    found = {calendar.id: calendar for calendar in caldav_source.list_calendars()}
    room = found[str(made.url)]
    assert (room.summary, room.time_zone, room.writable) == ("Room 2", "Europe/Paris", True)


def test_first_pull_lists_events_on_the_calendars_days(
    caldav_source: CalDavSource, calendar: Calendar
) -> None:
    put_event(calendar, "botox-1", "Botox Jane Doe", "20300110T100000Z")
    put_event(calendar, "late", "Botox late", "20300111T233000Z")
    changes = caldav_source.pull(str(calendar.url), None)
    assert changes.full
    assert changes.window == (date(2029, 7, 6), date(2030, 12, 31))
    days = {event.booking.id: event.booking.day for event in changes.events}
    assert days == {"botox-1": date(2030, 1, 10), "late": date(2030, 1, 11)}
    assert {event.booking.calendar for event in changes.events} == {"Dr Smith"}
    assert all(event.etag for event in changes.events)


def test_second_pull_returns_nothing(caldav_source: CalDavSource, calendar: Calendar) -> None:
    put_event(calendar, "botox-1", "Botox Jane Doe", "20300110T100000Z")
    first = caldav_source.pull(str(calendar.url), None)
    second = caldav_source.pull(str(calendar.url), first.cursor)
    assert (second.events, second.removed, second.full) == ((), (), False)


def test_added_changed_and_deleted_events_come_back(
    caldav_source: CalDavSource, calendar: Calendar, dav_client: DAVClient
) -> None:
    gone = put_event(calendar, "mn-1", "Microneedling", "20300103T100000Z")
    put_event(calendar, "botox-1", "Botox", "20300110T100000Z")
    first = caldav_source.pull(str(calendar.url), None)
    put_event(calendar, "botox-1", "Botox 20u", "20300110T100000Z")
    put_event(calendar, "new", "Dysport", "20300120T100000Z")
    dav_client.delete(str(gone.url))
    second = caldav_source.pull(str(calendar.url), first.cursor)
    assert sorted(event.booking.summary for event in second.events) == ["Botox 20u", "Dysport"]
    assert second.removed == ("mn-1",)
    assert not second.full


def test_recurring_event_counts_per_instance_with_its_exception(
    caldav_source: CalDavSource, calendar: Calendar
) -> None:
    calendar.save_event(vcalendar(SERIES, MOVED))
    changes = caldav_source.pull(str(calendar.url), None)
    days = {event.booking.id: event.booking.day for event in changes.events}
    assert days == {
        "series@20300107T100000Z": date(2030, 1, 7),
        "series@20300114T100000Z": date(2030, 1, 15),
        "series@20300121T100000Z": date(2030, 1, 21),
    }


def test_instance_dropped_from_a_series_is_removed(
    caldav_source: CalDavSource, calendar: Calendar
) -> None:
    calendar.save_event(vcalendar(SERIES))
    first = caldav_source.pull(str(calendar.url), None)
    shorter = vevent("series", "Botox", "20300107T100000Z", "RRULE:FREQ=WEEKLY;COUNT=2")
    calendar.save_event(vcalendar(shorter))
    second = caldav_source.pull(str(calendar.url), first.cursor)
    assert second.removed == ("series@20300121T100000Z",)


def test_expired_sync_token_means_a_full_listing(dav_client: DAVClient, calendar: Calendar) -> None:
    source = CalDavSource(dav_client, now=lambda: NOW)
    put_event(calendar, "botox-1", "Botox", "20300110T100000Z")
    first = source.pull(str(calendar.url), None)

    state = decode_cursor("caldav1", first.cursor)
    assert state is not None
    state["token"] = "http://radicale.org/ns/sync/expired"
    changes = source.pull(str(calendar.url), encode_cursor("caldav1", state))
    assert changes.full
    assert [event.booking.id for event in changes.events] == ["botox-1"]


def test_missing_calendar_is_a_setup_error(caldav_source: CalDavSource, radicale_url: str) -> None:
    with pytest.raises(CalendarGone):
        caldav_source.get_calendar(f"{radicale_url}clinic/no-such-calendar/")


def _flag(description: str, color: str | None = "11") -> FlagPatch:
    return FlagPatch(
        description=description,
        color_id=color,
        private={"clinicSyncConflict": "c123", "clinicSyncPreviousColor": ""},
    )


def test_flag_is_written_into_the_event_and_reads_back(
    caldav_source: CalDavSource, calendar: Calendar
) -> None:
    put_event(calendar, "botox-1", "Botox", "20300110T100000Z", "DESCRIPTION:Staff note")
    before = caldav_source.get_event(str(calendar.url), "botox-1")
    assert before is not None
    assert before.flag_state.description == "Staff note"
    written = caldav_source.write_flag(
        str(calendar.url), "botox-1", _flag("Staff note\n\nFLAG"), etag=before.etag
    )
    after = caldav_source.get_event(str(calendar.url), "botox-1")
    assert after == written
    assert after.etag != before.etag
    assert after.flag_state.description == "Staff note\n\nFLAG"
    assert after.flag_state.color_id == "11"
    assert after.flag_state.private == {"clinicSyncConflict": "c123", "clinicSyncPreviousColor": ""}
    body = str(calendar.get_event_by_uid("botox-1").data)
    assert "COLOR:tomato" in body
    assert "X-CLINIC-SYNC-CONFLICT:c123" in body


def test_flag_comes_back_through_sync_as_private_properties(
    caldav_source: CalDavSource, calendar: Calendar
) -> None:
    put_event(calendar, "botox-1", "Botox", "20300110T100000Z")
    first = caldav_source.pull(str(calendar.url), None)
    current = caldav_source.get_event(str(calendar.url), "botox-1")
    assert current is not None
    caldav_source.write_flag(str(calendar.url), "botox-1", _flag("FLAG"), etag=current.etag)
    (event,) = caldav_source.pull(str(calendar.url), first.cursor).events
    assert event.private_properties["clinicSyncConflict"] == "c123"


def test_stale_etag_is_refused_by_the_server(
    caldav_source: CalDavSource, calendar: Calendar
) -> None:
    """A staff edit between reading and writing is never overwritten: the PUT gets 412."""
    put_event(calendar, "botox-1", "Botox", "20300110T100000Z")
    read = caldav_source.get_event(str(calendar.url), "botox-1")
    assert read is not None
    put_event(calendar, "botox-1", "Botox (moved room)", "20300110T100000Z")
    with pytest.raises(EventChanged, match="412"):
        caldav_source.write_flag(str(calendar.url), "botox-1", _flag("FLAG"), etag=read.etag)
    assert "Botox (moved room)" in str(calendar.get_event_by_uid("botox-1").data)


def test_flag_on_one_instance_goes_into_its_own_override(
    caldav_source: CalDavSource, calendar: Calendar
) -> None:
    calendar.save_event(vcalendar(SERIES))
    first = caldav_source.pull(str(calendar.url), None)
    instance = "series@20300121T100000Z"
    current = caldav_source.get_event(str(calendar.url), instance)
    assert current is not None
    caldav_source.write_flag(str(calendar.url), instance, _flag("FLAG"), etag=current.etag)
    changes = caldav_source.pull(str(calendar.url), first.cursor)
    flagged = {e.booking.id: e.booking.description for e in changes.events}
    assert flagged[instance] == "FLAG"
    assert flagged["series@20300107T100000Z"] == ""
    assert changes.removed == ()


def test_unflag_restores_no_colour(caldav_source: CalDavSource, calendar: Calendar) -> None:
    put_event(calendar, "botox-1", "Botox", "20300110T100000Z")
    read = caldav_source.get_event(str(calendar.url), "botox-1")
    assert read is not None
    flagged = caldav_source.write_flag(str(calendar.url), "botox-1", _flag("FLAG"), etag=read.etag)
    off = FlagPatch(
        description="",
        color_id=None,
        private={"clinicSyncConflict": None, "clinicSyncPreviousColor": None},
    )
    cleared = caldav_source.write_flag(str(calendar.url), "botox-1", off, etag=flagged.etag)
    assert (cleared.flag_state.description, cleared.flag_state.color_id) == ("", None)
    assert cleared.flag_state.private == {}


RANGE = vevent(
    "series", "Botox (room 2)", "20300114T120000Z",
    "RECURRENCE-ID;RANGE=THISANDFUTURE:20300114T100000Z",
)  # fmt: skip


def test_instances_after_a_this_and_future_override_keep_their_ids_and_take_flags(
    caldav_source: CalDavSource, calendar: Calendar
) -> None:
    """RFC 5545 §3.2.13: the range changes later instances' content, never their identity."""
    calendar.save_event(vcalendar(SERIES, RANGE))
    first = caldav_source.pull(str(calendar.url), None)
    summaries = {e.booking.id: e.booking.summary for e in first.events}
    assert summaries == {
        "series@20300107T100000Z": "Botox",
        "series@20300114T100000Z": "Botox (room 2)",
        "series@20300121T100000Z": "Botox (room 2)",
    }
    later = "series@20300121T100000Z"
    current = caldav_source.get_event(str(calendar.url), later)
    assert current is not None
    caldav_source.write_flag(str(calendar.url), later, _flag("FLAG"), etag=current.etag)
    changes = caldav_source.pull(str(calendar.url), first.cursor)
    flagged = {e.booking.id: e.booking.description for e in changes.events}
    assert flagged == {later: "FLAG", "series@20300107T100000Z": "", "series@20300114T100000Z": ""}
    assert changes.removed == ()
