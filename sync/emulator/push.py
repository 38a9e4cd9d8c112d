"""Push notifications: events.watch channels and the webhook POSTs they trigger.

Follows https://developers.google.com/calendar/api/guides/push: a watch returns an
``api#channel`` (id, resourceId, resourceUri, token, expiration in ms); the receiver first gets
a ``sync`` message, then an ``exists`` message after each change, with the X-Goog-Channel-ID,
-Token, -Expiration, X-Goog-Resource-ID, -URI, -State and an increasing X-Goog-Message-Number
header; channels.stop ends them (https://developers.google.com/calendar/api/v3/reference/channels/stop).
Messages go out from one background thread, so API calls never wait on a receiver; delivery
failures are logged and dropped. Plain http addresses are accepted so tests can listen on loopback.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from sync.emulator.errors import ApiError
from sync.emulator.timefmt import now_utc

__all__ = ["PushNotifier"]

_log = logging.getLogger(__name__)
_DEFAULT_LIFETIME = timedelta(days=7)
_SEND_TIMEOUT = 5.0


@dataclass
class _Channel:
    id: str
    resource_id: str
    resource_uri: str
    address: str
    token: str | None
    expiration: datetime
    calendar_id: str
    messages: int = 0

    def resource(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "api#channel",
            "id": self.id,
            "resourceId": self.resource_id,
        }
        body.update({"resourceUri": self.resource_uri, "expiration": str(_ms(self.expiration))})
        if self.token is not None:
            body["token"] = self.token
        return body


@dataclass(frozen=True)
class _Message:
    address: str
    headers: dict[str, str]


class PushNotifier:
    """Watch channels per calendar and the thread that delivers their notifications."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._channels: dict[str, _Channel] = {}
        self._queue: queue.Queue[_Message | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start delivering queued notifications."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._deliver_all, name="emulator-push", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Deliver what is queued, then stop the delivery thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=2 * _SEND_TIMEOUT)
            self._thread = None

    def reset(self) -> None:
        """Forget every channel."""
        with self._lock:
            self._channels.clear()

    def watch(self, calendar_id: str, body: dict[str, Any], resource_uri: str) -> dict[str, Any]:
        """events.watch: open a channel and queue its ``sync`` message."""
        channel = _new_channel(calendar_id, body, resource_uri)
        with self._lock:
            if channel.id in self._channels:
                raise ApiError.bad_request(
                    f"Channel id {channel.id} not unique", "channelIdNotUnique"
                )
            self._channels[channel.id] = channel
            self._enqueue(channel, "sync")
        return channel.resource()

    def stop_channel(self, body: dict[str, Any]) -> None:
        """channels.stop: no more messages for that channel; 404 when unknown."""
        with self._lock:
            channel = self._channels.get(str(body.get("id")))
            if channel is None or body.get("resourceId") not in (None, channel.resource_id):
                raise ApiError.not_found()
            del self._channels[channel.id]

    def changed(self, calendar_id: str) -> None:
        """Queue an ``exists`` message on every live channel watching ``calendar_id``."""
        now = now_utc()
        with self._lock:
            for channel in list(self._channels.values()):
                if channel.expiration <= now:
                    del self._channels[channel.id]
                elif channel.calendar_id == calendar_id:
                    self._enqueue(channel, "exists")

    def _enqueue(self, channel: _Channel, state: str) -> None:
        channel.messages += 1
        self._queue.put(_Message(channel.address, _headers(channel, state)))

    def _deliver_all(self) -> None:
        while (message := self._queue.get()) is not None:
            _deliver(message)


def _new_channel(calendar_id: str, body: dict[str, Any], resource_uri: str) -> _Channel:
    if not body.get("id") or len(str(body["id"])) > 64:
        raise ApiError.bad_request("Channel id is required (at most 64 characters).", "required")
    if body.get("type") not in ("web_hook", "webhook"):
        raise ApiError.bad_request(f"Unknown channel type: {body.get('type')!r}", "invalid")
    address = str(body.get("address") or "")
    if not address.startswith(("https://", "http://")):
        raise ApiError.bad_request(
            f"Invalid webhook address: {address!r}", "push.webhookUrlNotHttps"
        )
    return _Channel(
        id=str(body["id"]),
        resource_id=secrets.token_urlsafe(20),
        resource_uri=resource_uri,
        address=address,
        token=None if body.get("token") is None else str(body["token"]),
        expiration=_expiration(body.get("expiration")),
        calendar_id=calendar_id,
    )


def _expiration(requested: Any) -> datetime:
    if requested in (None, "", 0, "0"):
        return now_utc() + _DEFAULT_LIFETIME
    try:
        return datetime.fromtimestamp(int(requested) / 1000, UTC)
    except (TypeError, ValueError, OverflowError) as err:
        raise ApiError.bad_request(f"Invalid channel expiration: {requested!r}") from err


def _headers(channel: _Channel, state: str) -> dict[str, str]:
    headers = {
        "X-Goog-Channel-ID": channel.id,
        "X-Goog-Channel-Expiration": format_datetime(channel.expiration, usegmt=True),
        "X-Goog-Resource-ID": channel.resource_id,
        "X-Goog-Resource-URI": channel.resource_uri,
        "X-Goog-Resource-State": state,
        "X-Goog-Message-Number": str(channel.messages),
        "Content-Length": "0",
    }
    if channel.token is not None:
        headers["X-Goog-Channel-Token"] = channel.token
    return headers


def _deliver(message: _Message) -> None:
    # The scheme was checked to be http(s) when the channel was opened.
    request = urllib.request.Request(  # noqa: S310
        message.address, data=b"", headers=message.headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=_SEND_TIMEOUT):  # noqa: S310
            pass
    except (urllib.error.URLError, OSError, ValueError) as err:
        _log.warning("push notification to %s failed: %s", message.address, err)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
