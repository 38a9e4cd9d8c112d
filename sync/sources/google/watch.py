"""Opening and stopping push channels on Google calendars: events.watch and channels.stop.

Follows https://developers.google.com/calendar/api/guides/push: a channel is a
``web_hook`` with our id (a UUID), a secret ``token`` echoed back in every notification,
the https ``address`` Google posts to and a requested ``expiration`` (ms since the epoch);
Google's answer carries the ``resourceId`` and the expiration it granted, which may be
sooner than asked. Channels cannot be renewed: a new one is opened and the old one stopped
(https://developers.google.com/calendar/api/v3/reference/channels/stop). Both calls go
through :func:`~sync.sources.google.retry.call_with_retry`, so errors come out translated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sync.sources.google.client import CalendarClient
from sync.sources.google.errors import CalendarNotFound
from sync.sources.google.retry import RetryPolicy, call_with_retry

__all__ = ["CalendarWatch", "OpenedChannel"]


@dataclass(frozen=True, slots=True)
class OpenedChannel:
    """What Google answered to events.watch."""

    channel_id: str
    resource_id: str
    expires_at: datetime


class CalendarWatch:
    """events.watch and channels.stop for one Google account."""

    def __init__(self, client: CalendarClient, retry: RetryPolicy | None = None) -> None:
        self.client = client
        self.retry = retry or RetryPolicy()

    def watch(
        self, calendar_id: str, *, channel_id: str, token: str, address: str, expires_at: datetime
    ) -> OpenedChannel:
        """Open a channel posting changes of ``calendar_id`` to ``address``."""
        body = {
            "id": channel_id,
            "type": "web_hook",
            "address": address,
            "token": token,
            "expiration": str(_ms(expires_at)),
        }
        request = self.client.resource("events").watch(calendarId=calendar_id, body=body)
        answer = self._execute(request, f"watching calendar {calendar_id}")
        granted = answer.get("expiration")
        return OpenedChannel(
            channel_id=str(answer.get("id") or channel_id),
            resource_id=str(answer["resourceId"]),
            expires_at=_from_ms(granted) if granted else expires_at,
        )

    def stop(self, channel_id: str, resource_id: str) -> bool:
        """Stop a channel; ``False`` when Google no longer knew it (expired or stopped)."""
        body = {"id": channel_id, "resourceId": resource_id}
        request = self.client.resource("channels").stop(body=body)
        try:
            self._execute(request, f"stopping push channel {channel_id}")
        except CalendarNotFound:
            return False
        return True

    def _execute(self, request: Any, what: str) -> dict[str, Any]:
        answer = call_with_retry(request.execute, what, self.retry)
        return dict(answer or {})


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _from_ms(value: Any) -> datetime:
    return datetime.fromtimestamp(int(value) / 1000, UTC)
