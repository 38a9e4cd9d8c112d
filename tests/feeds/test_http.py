"""Feeds over HTTP on a real uvicorn server: headers, 304, HEAD, gzip, 404, fetch log (SPEC §7)."""

from __future__ import annotations

import gzip
import logging
from datetime import timedelta
from email.utils import parsedate_to_datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from sync.feeds.tokens import revoke_token
from sync.store.database import session_scope
from sync.store.feeds import get_feed_token
from tests.feeds.conftest import ClinicData

MN = "Microneedling - Jane Doe"


@pytest.fixture
def secret(clinic: ClinicData) -> str:
    clinic.book("mn1", "2026-11-20", MN)
    return clinic.issue("clinic")[1]


def test_feed_is_served_as_text_calendar_with_validators(client: httpx.Client, secret: str) -> None:
    response = client.get(f"/feeds/{secret}.ics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["etag"].startswith('"')
    assert not response.headers["etag"].startswith("W/")
    assert response.headers["cache-control"] == "private, max-age=3600"
    assert parsedate_to_datetime(response.headers["last-modified"]).tzinfo is not None
    assert response.content.startswith(b"BEGIN:VCALENDAR\r\n")


def test_etag_is_stable_for_unchanged_data(client: httpx.Client, secret: str) -> None:
    first = client.get(f"/feeds/{secret}.ics")
    second = client.get(f"/feeds/{secret}.ics")
    assert first.headers["etag"] == second.headers["etag"]
    assert first.content == second.content


def test_if_none_match_gets_304_until_the_data_changes(
    client: httpx.Client, secret: str, clinic: ClinicData
) -> None:
    etag = client.get(f"/feeds/{secret}.ics").headers["etag"]
    cached = client.get(f"/feeds/{secret}.ics", headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached.headers["etag"] == etag
    clinic.clock.now += timedelta(minutes=5)
    clinic.book("mn1", "2026-11-22", MN)
    changed = client.get(f"/feeds/{secret}.ics", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag


def test_if_modified_since(client: httpx.Client, secret: str) -> None:
    modified = client.get(f"/feeds/{secret}.ics").headers["last-modified"]
    assert (
        client.get(f"/feeds/{secret}.ics", headers={"If-Modified-Since": modified}).status_code
        == 304
    )
    older = "Mon, 02 Nov 2026 00:00:00 GMT"
    assert (
        client.get(f"/feeds/{secret}.ics", headers={"If-Modified-Since": older}).status_code == 200
    )


def test_if_none_match_wins_over_if_modified_since(client: httpx.Client, secret: str) -> None:
    modified = client.get(f"/feeds/{secret}.ics").headers["last-modified"]
    headers = {"If-None-Match": '"something-else"', "If-Modified-Since": modified}
    assert client.get(f"/feeds/{secret}.ics", headers=headers).status_code == 200


def test_head_has_the_headers_and_no_body(client: httpx.Client, secret: str) -> None:
    full = client.get(f"/feeds/{secret}.ics")
    head = client.head(f"/feeds/{secret}.ics")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(full.content))
    assert head.headers["etag"] == full.headers["etag"]


def test_gzip_when_asked(client: httpx.Client, secret: str) -> None:
    plain = client.get(f"/feeds/{secret}.ics")
    with httpx.stream(
        "GET", f"{client.base_url}/feeds/{secret}.ics", headers={"Accept-Encoding": "gzip"}
    ) as packed:
        raw = b"".join(packed.iter_raw())
        assert packed.headers["content-encoding"] == "gzip"
        assert packed.headers["vary"] == "Accept-Encoding"
        assert packed.headers["etag"] != plain.headers["etag"], "another representation"
    assert gzip.decompress(raw) == plain.content
    refused = client.get(f"/feeds/{secret}.ics", headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers


def test_revoked_and_unknown_tokens_get_the_same_404(
    client: httpx.Client, secret: str, clinic: ClinicData
) -> None:
    token_id, other = clinic.issue("clinic")
    assert client.get(f"/feeds/{other}.ics").status_code == 200
    with session_scope(clinic.engine) as session:
        revoke_token(session, clinic.clinic_id, token_id, actor="test", now=clinic.clock())
    revoked = client.get(f"/feeds/{other}.ics")
    unknown = client.get(f"/feeds/{other[:-2]}xx.ics")
    assert revoked.status_code == unknown.status_code == 404
    assert revoked.content == unknown.content

    def same(response: httpx.Response) -> dict[str, str]:
        # The date and the request's id differ from one request to the next, whatever the token.
        varying = {"date", "x-request-id"}
        return {k: v for k, v in response.headers.items() if k not in varying}

    assert same(revoked) == same(unknown)


def test_every_fetch_is_recorded_without_the_token(
    client: httpx.Client, secret: str, clinic: ClinicData, app: FastAPI
) -> None:
    token_id = 1
    etag = client.get(f"/feeds/{secret}.ics").headers["etag"]
    client.get(f"/feeds/{secret}.ics", headers={"If-None-Match": etag})
    client.get("/feeds/not-a-token.ics")
    app.state.fetch_log.flush()
    with clinic.engine.connect() as connection:
        rows = connection.execute(text("SELECT token_id, status FROM feed_fetches ORDER BY id"))
        assert [tuple(row) for row in rows] == [(token_id, 200), (token_id, 304), (None, 404)]
        dump = "\n".join(str(row) for row in connection.execute(text("SELECT * FROM feed_tokens")))
    assert secret not in dump
    with session_scope(clinic.engine) as session:
        assert get_feed_token(session, token_id).last_fetched_at == clinic.clock()


def test_access_log_redacts_the_token(
    client: httpx.Client, secret: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        client.get(f"/feeds/{secret}.ics")
        client.get("/feeds/unknown-token.ics")
    server_side = "\n".join(
        record.getMessage()
        for record in caplog.records
        if not record.name.startswith(("httpx", "httpcore"))  # the client's own log
    )
    assert "GET /feeds/… 200" in server_side
    assert secret not in server_side
    assert "unknown-token" not in server_side


def test_health_and_metrics(client: httpx.Client, secret: str) -> None:
    assert client.get("/healthz").text == "ok\n"
    client.get(f"/feeds/{secret}.ics")
    client.get("/feeds/nope.ics")
    metrics = client.get("/metrics").text
    assert 'clinic_sync_feed_requests_total{status="200"} 1.0' in metrics
    assert 'clinic_sync_feed_requests_total{status="404"} 1.0' in metrics
    assert "clinic_sync_feed_render_seconds_count 1.0" in metrics
