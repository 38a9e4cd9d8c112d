"""A known token is answered from memory: no query, no render, until its checks are due (SPEC §7).

Queries are counted with a SQLAlchemy ``before_cursor_execute`` listener on the engine
the app uses; the fetch log's own batched writes (``feed_fetches``, ``last_fetched_at``)
are not the request's and are left out of the count.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import Engine, event

from sync.clinics.directory import ClinicDirectory
from sync.feeds.cache import RenderedFeed
from sync.feeds.service import FeedAnswer, FeedOptions, FeedService
from sync.feeds.tokens import revoke_token
from sync.store.database import session_scope
from sync.web.app import create_app
from sync.web.conditional import http_date
from sync.web.feeds import FeedsFromMemory
from sync.web.metrics import WebMetrics
from sync.web.server import WebServer
from tests.clinics import clinic_profile
from tests.feeds.conftest import ClinicData, feed_settings

MN = "Microneedling - Jane Doe"


@contextmanager
def queries(engine: Engine) -> Iterator[list[str]]:
    """The statements run on ``engine`` meanwhile, the fetch log's writes aside."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "feed_fetches" not in statement and "last_fetched_at" not in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def service(clinic: ClinicData, recheck: float) -> FeedService:
    clinic_profile(clinic.engine, clinic.slug, feed_patient_label="full")
    directory = ClinicDirectory(clinic.engine, recheck_seconds=recheck)
    options = FeedOptions(recheck_seconds=recheck)
    return FeedService(clinic.engine, directory, options, clock=clinic.clock)


def test_a_304_is_answered_without_a_query_or_a_render(clinic: ClinicData) -> None:
    clinic.book("mn1", "2026-11-20", MN)
    _, secret = clinic.issue("patient", "name:Jane Doe")
    app = create_app(feed_settings(feed_recheck_seconds=60), clinic.engine, clock=clinic.clock)
    with WebServer(app) as server, httpx.Client(base_url=server.url) as http:
        first = http.get(f"/feeds/{secret}.ics")
        assert first.status_code == 200
        with queries(clinic.engine) as seen:
            for _ in range(50):
                again = http.get(
                    f"/feeds/{secret}.ics", headers={"If-None-Match": first.headers["etag"]}
                )
                assert again.status_code == 304
            assert http.get(f"/feeds/{secret}.ics").content == first.content
        assert seen == []
        renders = app.state.metrics.feed_render_seconds.collect()[0].samples
        assert next(s.value for s in renders if s.name.endswith("_count")) == 1


def test_a_change_is_seen_once_the_recheck_is_due_and_only_then_read(clinic: ClinicData) -> None:
    clinic.book("mn1", "2026-11-20", MN)
    _, secret = clinic.issue("patient", "name:Jane Doe")
    feeds = service(clinic, recheck=3600)
    before = feeds.answer(secret).feed
    assert before is not None
    clinic.book("mn1", "2026-11-22", MN)  # moved: the feed must change, once rechecked
    with queries(clinic.engine) as seen:
        known = feeds.from_memory(secret)
    assert seen == []
    assert known is not None
    assert known.feed == before, "within the recheck time, memory answers"
    feeds.options = FeedOptions(recheck_seconds=0)  # the recheck is due
    assert feeds.from_memory(secret) is None
    after = feeds.answer(secret)
    assert after.feed is not None
    assert after.feed.etag != before.etag
    assert after.render_seconds is not None


def test_a_revoked_token_is_not_answered_from_memory_once_rechecked(clinic: ClinicData) -> None:
    clinic.book("mn1", "2026-11-20", MN)
    token_id, secret = clinic.issue("clinic")
    feeds = service(clinic, recheck=3600)
    assert feeds.answer(secret).feed is not None
    with session_scope(clinic.engine) as session:
        revoke_token(session, clinic.clinic_id, token_id, actor="test", now=clinic.clock())
    feeds.options = FeedOptions(recheck_seconds=0)
    assert feeds.from_memory(secret) is None
    assert feeds.answer(secret).feed is None
    feeds.options = FeedOptions(recheck_seconds=3600)
    assert feeds.from_memory(secret) is None, "a revoked token leaves memory"


def _answers(url: str, path: str, cases: list[dict[str, str]]) -> list[tuple[object, ...]]:
    """Status, headers (but the date and request id) and body of each case, GET and HEAD."""
    seen: list[tuple[object, ...]] = []
    with httpx.Client(base_url=url, headers={"Accept-Encoding": "identity"}) as http:
        for method in ("GET", "HEAD"):
            for headers in cases:
                got = http.request(method, path, headers=headers)
                kept = {k: v for k, v in got.headers.items() if k not in ("date", "x-request-id")}
                seen.append((method, got.status_code, kept, got.content))
    return seen


def test_memory_gives_the_routes_very_answers_for_every_conditional_mix(
    clinic: ClinicData,
) -> None:
    clinic.book("mn1", "2026-11-20", MN)
    _, secret = clinic.issue("patient", "name:Jane Doe")
    path = f"/feeds/{secret}.ics"
    routed = create_app(feed_settings(feed_recheck_seconds=0), clinic.engine, clock=clinic.clock)
    with WebServer(routed) as server, httpx.Client(base_url=server.url) as http:
        plain = http.get(path, headers={"Accept-Encoding": "identity"}).headers
        gzipped = http.get(path, headers={"Accept-Encoding": "gzip"}).headers
        cases = [
            {},
            {"Accept-Encoding": "gzip"},
            {"Accept-Encoding": "gzip;q=0"},
            {"If-None-Match": plain["etag"]},
            {"If-None-Match": f'W/{plain["etag"]}, "other"'},
            {"If-None-Match": gzipped["etag"], "Accept-Encoding": "gzip"},
            {"If-None-Match": '"other"', "If-Modified-Since": plain["last-modified"]},
            {"If-Modified-Since": plain["last-modified"]},
            {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"},
            {"If-Modified-Since": "not a date"},
        ]
        from_route = _answers(server.url, path, cases)
    remembered = create_app(
        feed_settings(feed_recheck_seconds=60), clinic.engine, clock=clinic.clock
    )
    with WebServer(remembered) as server:
        _answers(server.url, path, cases[:1])  # the token is now known to the process
        with queries(clinic.engine) as seen:
            first, again = (_answers(server.url, path, cases) for _ in range(2))
    assert seen == [], "answered from memory"
    assert first == again == from_route
    assert {status for _, status, _, _ in first} == {200, 304}


def test_a_feed_with_the_same_bytes_and_a_later_date_is_answered_with_that_date(
    clinic: ClinicData,
) -> None:
    _, secret = clinic.issue("clinic")
    feeds = service(clinic, recheck=3600)
    app = FeedsFromMemory(_no_app, service=feeds, fetch_log=_NoLog(), metrics=WebMetrics())
    body = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    dates = [datetime(2026, 11, 25, tzinfo=UTC), datetime(2026, 11, 26, tzinfo=UTC)]
    for day in dates:
        feed = RenderedFeed.of(body, day)
        feeds.from_memory = lambda _secret, feed=feed: FeedAnswer(1, feed)  # type: ignore[method-assign]
        sent = asyncio.run(_call(app, f"/feeds/{secret}.ics"))
        assert dict(sent[0]["headers"])[b"last-modified"] == http_date(day).encode()


class _NoLog:
    def record(self, token_id: int | None, status: int) -> None:
        pass


async def _no_app(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("answered from memory, not by the app")


async def _call(app: Any, path: str) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "headers": []}
    await app(scope, None, send)
    return sent
