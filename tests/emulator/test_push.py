"""Push notifications (https://developers.google.com/calendar/api/guides/push)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from sync.emulator import EmulatorServer


class _Receiver(BaseHTTPRequestHandler):
    received: queue.Queue[dict[str, str]]

    def do_POST(self) -> None:
        self.received.put({k.lower(): v for k, v in self.headers.items()} | {"path": self.path})
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, queue.Queue[dict[str, str]]]]:
    """A tiny webhook on loopback; yields its URL and the queue of notifications it got."""
    received: queue.Queue[dict[str, str]] = queue.Queue()
    handler = type("Receiver", (_Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()
    thread.join()


def test_watch_notifies_sync_then_each_change_until_stopped(
    service: Any,
    calendar_id: str,
    receiver: tuple[str, queue.Queue[dict[str, str]]],
    emulator: EmulatorServer,
) -> None:
    address, received = receiver
    body = {"id": "chan-1", "type": "web_hook", "address": address, "token": "clinic=1"}
    channel = service.events().watch(calendarId=calendar_id, body=body).execute()
    assert channel["kind"] == "api#channel"
    assert (channel["id"], channel["token"]) == ("chan-1", "clinic=1")
    assert channel["resourceId"]
    assert "/calendars/" in channel["resourceUri"]
    assert int(channel["expiration"]) > 0

    first = received.get(timeout=5)
    assert first["x-goog-resource-state"] == "sync"
    assert first["x-goog-message-number"] == "1"
    assert first["x-goog-channel-id"] == "chan-1"
    assert first["x-goog-channel-token"] == "clinic=1"
    assert first["x-goog-resource-id"] == channel["resourceId"]
    assert first["x-goog-resource-uri"] == channel["resourceUri"]
    assert first["x-goog-channel-expiration"].endswith("GMT")

    event = {"summary": "Botox", "start": {"date": "2030-01-01"}, "end": {"date": "2030-01-02"}}
    service.events().insert(calendarId=calendar_id, body=event).execute()
    second = received.get(timeout=5)
    assert (second["x-goog-resource-state"], second["x-goog-message-number"]) == ("exists", "2")

    service.channels().stop(body={"id": "chan-1", "resourceId": channel["resourceId"]}).execute()
    service.events().insert(calendarId=calendar_id, body=event).execute()
    with pytest.raises(queue.Empty):
        received.get(timeout=0.3)


def test_unreachable_receiver_does_not_break_the_api(service: Any, calendar_id: str) -> None:
    body = {"id": "chan-2", "type": "web_hook", "address": "http://127.0.0.1:9/nothing-listens"}
    service.events().watch(calendarId=calendar_id, body=body).execute()
    event = {"summary": "x", "start": {"date": "2030-01-01"}, "end": {"date": "2030-01-02"}}
    assert service.events().insert(calendarId=calendar_id, body=event).execute()["id"]


def test_stopping_an_unknown_channel_is_not_found(service: Any) -> None:
    with pytest.raises(HttpError) as caught:
        service.channels().stop(body={"id": "nope", "resourceId": "nope"}).execute()
    assert caught.value.status_code == 404


def test_watch_needs_an_address(service: Any, calendar_id: str) -> None:
    with pytest.raises(HttpError) as caught:
        service.events().watch(
            calendarId=calendar_id, body={"id": "c", "type": "web_hook"}
        ).execute()
    assert caught.value.status_code == 400
