"""free_busy of an .ics subscription: the feed's own events are its busy time (SPEC §6)."""

from __future__ import annotations

from datetime import UTC, datetime

from sync.sources.icsurl import IcsUrlSource
from tests.icsurl.conftest import FeedServer, vevent


def test_the_feeds_events_are_its_busy_periods_cut_to_the_window(
    ics_source: IcsUrlSource, feed: FeedServer
) -> None:
    feed.serve(
        vevent("a@test", "Botox Jane Doe", "20300109T233000Z"),
        vevent("b@test", "Filler Ann Lee", "20300110T120000Z"),
    )
    start, end = datetime(2030, 1, 10, tzinfo=UTC), datetime(2030, 1, 11, tzinfo=UTC)

    busy = ics_source.free_busy(feed.url, start, end)

    assert busy == [
        (start, datetime(2030, 1, 10, 0, 30, tzinfo=UTC)),
        (datetime(2030, 1, 10, 12, tzinfo=UTC), datetime(2030, 1, 10, 13, tzinfo=UTC)),
    ]
