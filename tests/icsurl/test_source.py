"""An .ics subscription as a calendar source: conditional GET, snapshot diff, read-only."""

from __future__ import annotations

import codecs
from datetime import date

import pytest

from rules.flag import FlagPatch
from sync.sources.icsurl import FeedRejected, FeedUnavailable, IcsUrlSource, ReadOnlySource
from sync.sources.port import CalendarReadOnly
from tests.icsurl.conftest import FeedServer, vevent

BOTOX = vevent("botox-1", "Botox Jane Doe", "20300110T100000Z")
MICRO = vevent("mn-1", "Microneedling Jane Doe", "20300103T100000Z")


def test_first_pull_lists_every_event_in_the_calendars_zone(
    feed: FeedServer, ics_source: IcsUrlSource
) -> None:
    feed.serve(BOTOX, vevent("late", "Botox late", "20300111T233000Z"))
    changes = ics_source.pull(feed.url, None)
    assert changes.full
    assert changes.time_zone == "Europe/London"
    assert changes.window == (date(2029, 7, 6), date(2030, 12, 31))
    days = {event.booking.id: event.booking.day for event in changes.events}
    assert days == {"botox-1": date(2030, 1, 10), "late": date(2030, 1, 11)}
    (botox,) = (event for event in changes.events if event.booking.id == "botox-1")
    assert botox.booking.calendar == "Dr Smith"
    assert botox.booking.calendar_email == feed.url


def test_unchanged_file_is_answered_304_and_changes_nothing(
    feed: FeedServer, ics_source: IcsUrlSource
) -> None:
    feed.serve(BOTOX)
    first = ics_source.pull(feed.url, None)
    second = ics_source.pull(feed.url, first.cursor)
    assert feed.requests[-1]["If-None-Match"] == feed.etag
    assert "If-Modified-Since" in feed.requests[-1]
    assert (second.events, second.removed, second.full) == ((), (), False)
    assert second.cursor == first.cursor


def test_changed_and_deleted_events_come_from_the_snapshot_diff(
    feed: FeedServer, ics_source: IcsUrlSource
) -> None:
    feed.serve(BOTOX, MICRO)
    first = ics_source.pull(feed.url, None)
    feed.serve(vevent("botox-1", "Botox 20u Jane Doe", "20300110T100000Z"))
    second = ics_source.pull(feed.url, first.cursor)
    assert [event.booking.summary for event in second.events] == ["Botox 20u Jane Doe"]
    assert second.removed == ("mn-1",)
    assert not second.full


def test_server_without_validators_still_yields_no_changes(
    feed: FeedServer, ics_source: IcsUrlSource
) -> None:
    feed.validators = False
    feed.serve(BOTOX, MICRO)
    first = ics_source.pull(feed.url, None)
    second = ics_source.pull(feed.url, first.cursor)
    assert "If-None-Match" not in feed.requests[-1]
    assert (second.events, second.removed) == ((), ())


def test_recurring_series_counts_per_instance_with_its_exception(
    feed: FeedServer, ics_source: IcsUrlSource
) -> None:
    moved = "\r\n".join(
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
    feed.serve(vevent("series", "Botox", "20300107T100000Z", "RRULE:FREQ=WEEKLY;COUNT=3"), moved)
    changes = ics_source.pull(feed.url, None)
    days = {event.booking.id: event.booking.day for event in changes.events}
    assert days == {
        "series@20300107T100000Z": date(2030, 1, 7),
        "series@20300114T100000Z": date(2030, 1, 15),
        "series@20300121T100000Z": date(2030, 1, 21),
    }
    assert {event.recurring_event_id for event in changes.events} == {"series"}


def test_cancelled_event_is_removed(feed: FeedServer, ics_source: IcsUrlSource) -> None:
    feed.serve(BOTOX)
    first = ics_source.pull(feed.url, None)
    feed.serve(vevent("botox-1", "Botox Jane Doe", "20300110T100000Z", "STATUS:CANCELLED"))
    second = ics_source.pull(feed.url, first.cursor)
    assert (second.events, second.removed) == ((), ("botox-1",))


def test_damaged_cursor_means_a_full_listing(feed: FeedServer, ics_source: IcsUrlSource) -> None:
    feed.serve(BOTOX)
    changes = ics_source.pull(feed.url, "ics1:not-base64!")
    assert changes.full
    assert [event.booking.id for event in changes.events] == ["botox-1"]


def test_calendar_is_named_by_the_file_and_not_writable(
    feed: FeedServer, ics_source: IcsUrlSource
) -> None:
    feed.serve(BOTOX)
    calendar = ics_source.get_calendar(feed.url)
    assert (calendar.id, calendar.summary, calendar.time_zone) == (
        feed.url,
        "Dr Smith",
        "Europe/London",
    )
    assert not calendar.writable
    assert IcsUrlSource([feed.url]).list_calendars() == [calendar]


def test_flags_cannot_be_written(feed: FeedServer, ics_source: IcsUrlSource) -> None:
    patch = FlagPatch(description="flag", color_id="11", private={})
    with pytest.raises(ReadOnlySource, match="read-only subscription"):
        ics_source.write_flag(feed.url, "botox-1", patch, etag='"x"')
    with pytest.raises(CalendarReadOnly):
        ics_source.get_event(feed.url, "botox-1")


@pytest.mark.parametrize(("status", "error"), [(404, FeedRejected), (503, FeedUnavailable)])
def test_http_errors_say_who_must_act(
    feed: FeedServer, ics_source: IcsUrlSource, status: int, error: type[Exception]
) -> None:
    feed.status = status
    with pytest.raises(error, match=f"HTTP {status}"):
        ics_source.pull(feed.url, None)


def test_a_page_that_is_not_icalendar_is_rejected(
    feed: FeedServer, ics_source: IcsUrlSource
) -> None:
    feed.body, feed.content_type = b"<html>login</html>", "text/html"
    with pytest.raises(FeedRejected, match="not iCalendar"):
        ics_source.pull(feed.url, None)


def test_unreachable_server_is_retried_later(ics_source: IcsUrlSource) -> None:
    with pytest.raises(FeedUnavailable, match="cannot be fetched"):
        ics_source.pull("http://127.0.0.1:9/clinic.ics", None)


def test_a_utf16_feed_with_a_range_override_and_its_own_address_is_read_whole(
    feed: FeedServer, ics_source: IcsUrlSource
) -> None:
    """The subscription reads through the one shared reader: bytes, ranges, own address."""
    series = vevent(
        "w", "Botox - Zoë Brontë", "20300107T100000Z", "RRULE:FREQ=WEEKLY;COUNT=3",
        "ATTENDEE:mailto:dr.smith@gmail.com",
    )  # fmt: skip
    moved = vevent(
        "w", "Botox (room 2) - Zoë Brontë", "20300114T120000Z",
        "RECURRENCE-ID;RANGE=THISANDFUTURE:20300114T100000Z",
        "ATTENDEE:mailto:dr.smith@gmail.com",
    )  # fmt: skip
    feed.serve(series, moved, name="dr.smith@gmail.com")
    feed.body = codecs.BOM_UTF16_LE + feed.body.decode().encode("utf-16-le")
    changes = ics_source.pull(feed.url, None)
    summaries = {e.booking.id: e.booking.summary for e in changes.events}
    assert summaries == {
        "w@20300107T100000Z": "Botox - Zoë Brontë",
        "w@20300114T100000Z": "Botox (room 2) - Zoë Brontë",
        "w@20300121T100000Z": "Botox (room 2) - Zoë Brontë",
    }
    guests = {a.is_self for e in changes.events for a in e.booking.attendees}
    assert guests == {True}
