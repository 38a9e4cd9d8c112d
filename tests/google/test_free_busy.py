"""free_busy of the Google source: freebusy.query through the real client, against the emulator."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sync.emulator import EmulatorServer
from sync.errors import ClinicSyncError
from sync.sources.google import GoogleCalendarSource

START = datetime(2030, 3, 4, tzinfo=UTC)
END = datetime(2030, 3, 6, tzinfo=UTC)


def _event(service: Any, calendar: str, start: str, end: str, **extra: Any) -> None:
    body = {"summary": "Botox - Jane Doe", "start": {"dateTime": start}, "end": {"dateTime": end}}
    service.events().insert(calendarId=calendar, body={**body, **extra}).execute()


def test_busy_periods_come_merged_sorted_and_cut_to_the_window(
    source: GoogleCalendarSource, service: Any, london: str
) -> None:
    _event(service, london, "2030-03-04T10:00:00Z", "2030-03-04T10:30:00Z")
    _event(service, london, "2030-03-04T10:15:00Z", "2030-03-04T11:00:00Z")
    _event(service, london, "2030-03-03T23:00:00Z", "2030-03-04T01:00:00Z")
    _event(service, london, "2030-03-05T09:00:00Z", "2030-03-05T09:30:00Z")

    busy = source.free_busy(london, START, END)

    assert busy == [
        (START, datetime(2030, 3, 4, 1, tzinfo=UTC)),
        (datetime(2030, 3, 4, 10, tzinfo=UTC), datetime(2030, 3, 4, 11, tzinfo=UTC)),
        (datetime(2030, 3, 5, 9, tzinfo=UTC), datetime(2030, 3, 5, 9, 30, tzinfo=UTC)),
    ]


def test_an_event_marked_free_leaves_its_time_free(
    source: GoogleCalendarSource, service: Any, london: str
) -> None:
    _event(
        service, london, "2030-03-04T10:00:00Z", "2030-03-04T11:00:00Z", transparency="transparent"
    )
    assert source.free_busy(london, START, END) == []


def test_free_busy_is_one_counted_freebusy_query(
    source: GoogleCalendarSource, emulator: EmulatorServer, london: str
) -> None:
    emulator.reset_stats()
    source.free_busy(london, START, END)
    assert emulator.stats() == {"freebusy.query": 1}


def test_a_calendar_google_cannot_see_is_a_provider_error(source: GoogleCalendarSource) -> None:
    with pytest.raises(ClinicSyncError, match="notFound"):
        source.free_busy("nobody@clinic.example", START, END)


def test_a_failing_free_busy_query_is_retried_then_raised(
    source: GoogleCalendarSource,
    emulator: EmulatorServer,
    london: str,
    sleeps: list[float],
) -> None:
    emulator.inject_fault(status=503, count=10, method="freebusy.query")
    with pytest.raises(ClinicSyncError):
        source.free_busy(london, START, END)
    assert len(sleeps) == 3  # four attempts, as every other call
