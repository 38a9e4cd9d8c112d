"""A deleted recurring series leaves no live instance, whatever its id looks like (issue 11).

Google's ids of a series split "this and following" are ``{id}_R{start}``, and events
imported or made from Gmail have ids beginning with ``_``: the instances of such a series
are found by the ``recurringEventId`` they were stored with, never by cutting ids at ``_``.
Seeded emulator, real client, SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from sync.emulator import EmulatorServer, SeedError
from sync.emulator.seed import parse_seed
from sync.sources.google import (
    CalendarClient,
    ClientConfig,
    GoogleAuth,
    GoogleCalendarSource,
    RetryPolicy,
)
from sync.usecases.pull import BookingReader, pull_clinic
from tests.google.conftest import NOW, connect, live_summaries

CALENDAR = "dr@clinic.example"
SPLIT_SERIES = "9m8urn5juj26erq2fe6s4m0h1k_R20300101T100000"
IMPORTED_SERIES = "_60q30c1g60o30e1i60o4ac1g60rj8gpl88rj2c1h84s34h9g60s30c1g"
OTHER = "a1b2c3d4e5f6g7h8i9j0kl"


def _seed(series_id: str) -> list[dict[str, object]]:
    start = {"dateTime": "2030-01-01T10:00:00", "timeZone": "Europe/London"}
    end = {"dateTime": "2030-01-01T11:00:00", "timeZone": "Europe/London"}
    events = [
        {"id": series_id, "summary": "Botox Jane Doe", "start": start, "end": end},
        # A series whose id is the split one's prefix: its instances must stay.
        {"id": OTHER, "summary": "Microneedling Jane Doe", "start": start, "end": end},
    ]
    for event in events:
        event["recurrence"] = ["RRULE:FREQ=WEEKLY;COUNT=50"]
    return [{"id": CALENDAR, "timeZone": "Europe/London", "events": events}]


@pytest.fixture(params=[SPLIT_SERIES, IMPORTED_SERIES], ids=["split", "imported"])
def seeded(request: pytest.FixtureRequest) -> Iterator[tuple[str, GoogleCalendarSource]]:
    series_id: str = request.param
    try:
        server = EmulatorServer(seed=parse_seed(_seed(series_id))).start()
    except SeedError as err:
        pytest.skip(f"the emulator does not take this id yet: {err}")
    client = CalendarClient(ClientConfig(endpoint=server.url, auth=GoogleAuth.NONE))
    try:
        yield (
            series_id,
            GoogleCalendarSource(client, retry=RetryPolicy(sleep=lambda _: None), now=lambda: NOW),
        )
    finally:
        client.close()
        server.stop()


def test_deleting_a_series_deletes_every_instance_and_only_those(
    engine: Engine, reader: BookingReader, seeded: tuple[str, GoogleCalendarSource]
) -> None:
    series_id, source = seeded
    connect(engine, CALENDAR)
    pull_clinic(engine, source, reader, "default", now=NOW)
    live = list(live_summaries(engine))
    assert sum(1 for key in live if key.startswith(series_id + "_")) > 0
    source.client.service().events().delete(calendarId=CALENDAR, eventId=series_id).execute()
    (pull,) = pull_clinic(engine, source, reader, "default", now=NOW).calendars
    assert pull.ok
    remaining = list(live_summaries(engine))
    assert [key for key in remaining if key.startswith(series_id)] == []
    assert remaining == [key for key in live if key.startswith(OTHER)]
    assert pull.deleted == len(live) - len(remaining)
