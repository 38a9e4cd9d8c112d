"""free_busy of the CalDAV source: the calendar's own events are its busy time (SPEC §6)."""

from __future__ import annotations

from datetime import UTC, datetime

from caldav.collection import Calendar

from sync.sources.caldav import CalDavSource
from tests.caldav.conftest import put_event

START = datetime(2030, 1, 10, tzinfo=UTC)
END = datetime(2030, 1, 11, tzinfo=UTC)


def test_the_calendars_own_events_are_its_busy_periods(
    caldav_source: CalDavSource, calendar: Calendar
) -> None:
    put_event(calendar, "a@test", "Botox Jane Doe", "20300110T100000Z")
    put_event(calendar, "b@test", "Filler Ann Lee", "20300110T103000Z")
    put_event(calendar, "c@test", "Peel Bo Kim", "20300112T100000Z")
    put_event(calendar, "d@test", "Peel Al Roe", "20300110T150000Z", "STATUS:CANCELLED")

    busy = caldav_source.free_busy(str(calendar.url), START, END)

    assert busy == [
        (datetime(2030, 1, 10, 10, tzinfo=UTC), datetime(2030, 1, 10, 11, 30, tzinfo=UTC))
    ]
