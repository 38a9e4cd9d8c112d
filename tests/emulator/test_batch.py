"""Batch requests (https://developers.google.com/calendar/api/guides/batch)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from sync.emulator import EmulatorServer

Insert = Callable[..., dict[str, Any]]


def test_batch_of_patches_applies_each_and_answers_each(
    emulator: EmulatorServer, insert: Insert, service: Any, calendar_id: str
) -> None:
    events = [insert(f"#{n}") for n in range(5)]
    emulator.reset_stats()
    answers: dict[str, Any] = {}
    batch = BatchHttpRequest(batch_uri=emulator.batch_url)
    for event in events:
        body = {"colorId": "11", "extendedProperties": {"private": {"flag": event["summary"]}}}
        request = service.events().patch(calendarId=calendar_id, eventId=event["id"], body=body)
        batch.add(request, callback=lambda rid, resp, err: answers.update({rid: (resp, err)}))
    batch.add(
        service.events().get(calendarId=calendar_id, eventId="missing00"),
        request_id="missing",
        callback=lambda rid, resp, err: answers.update({rid: (resp, err)}),
    )
    batch.execute()

    assert [answers[str(n + 1)][0]["colorId"] for n in range(5)] == ["11"] * 5
    assert isinstance(answers["missing"][1], HttpError)
    assert answers["missing"][1].status_code == 404
    listed = (
        service.events().list(calendarId=calendar_id, privateExtendedProperty="flag=#3").execute()
    )
    assert [e["id"] for e in listed["items"]] == [events[3]["id"]]
    assert emulator.stats() == {"batch": 1, "events.get": 1, "events.list": 1, "events.patch": 5}


def test_batch_is_also_served_at_the_short_path(emulator: EmulatorServer, service: Any) -> None:
    seen = []
    batch = BatchHttpRequest(batch_uri=f"{emulator.url}batch")
    batch.add(service.calendarList().list(), callback=lambda rid, resp, err: seen.append(resp))
    batch.execute()
    assert seen[0]["kind"] == "calendar#calendarList"


def _raw_batch(emulator: EmulatorServer, parts: list[bytes]) -> httpx.Response:
    """POST a hand-written multipart/mixed batch, as any HTTP client could."""
    body = b"".join(b"--XyZ\r\n" + part + b"\r\n" for part in parts) + b"--XyZ--\r\n"
    headers = {"Content-Type": 'multipart/mixed; boundary="XyZ"'}
    return httpx.post(emulator.batch_url, content=body, headers=headers, timeout=60)


def _get(path: str, n: int) -> bytes:
    return (
        f"Content-Type: application/http\r\nContent-ID: <c{n}>\r\n\r\nGET {path} HTTP/1.1\r\n\r\n"
    ).encode()


def test_a_thousand_calls_are_answered_and_one_more_is_refused_whole(
    emulator: EmulatorServer,
) -> None:
    """Google: "You're limited to 1000 calls in a single batch request"."""
    answered = _raw_batch(emulator, [_get("/calendar/v3/colors", n) for n in range(1000)])
    assert answered.status_code == 200
    assert answered.text.count("HTTP/1.1 200 OK") == 1000
    emulator.reset_stats()
    refused = _raw_batch(emulator, [_get("/calendar/v3/colors", n) for n in range(1001)])
    assert refused.status_code == 400
    assert refused.json()["error"]["errors"][0]["reason"] == "invalid"
    assert "colors.get" not in emulator.stats()


def test_folded_header_lines_are_unfolded_in_parts_and_inner_requests(
    emulator: EmulatorServer, insert: Insert, calendar_id: str
) -> None:
    """RFC 5322 §2.2.3: a header field may continue on lines that begin with white space."""
    event = insert()
    path = f"/calendar/v3/calendars/{calendar_id}/events/{event['id']}"
    body = b'{"colorId": "5"}'
    part = (
        "Content-Type:\r\n application/http\r\nContent-ID:\r\n\t<patch-1>\r\n\r\n"
        f"PATCH {path} HTTP/1.1\r\nContent-Type: application/json\r\n"
        f"If-Match:\r\n {event['etag']}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    stale = part.replace(event["etag"].encode(), b'"0"')
    answer = _raw_batch(emulator, [part, stale])
    assert answer.status_code == 200
    assert "Content-ID: <response-patch-1>" in answer.text
    assert answer.text.index("HTTP/1.1 200 OK") < answer.text.index("HTTP/1.1 412")
    assert '"colorId": "5"' in answer.text


def test_a_batch_that_is_not_multipart_is_a_bad_request(emulator: EmulatorServer) -> None:
    response = httpx.post(
        emulator.batch_url, content=b"{}", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 400
