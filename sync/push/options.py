"""When push is on, where Google posts notifications, and how long channels live (SPEC §9).

Google delivers only to https addresses (https://developers.google.com/calendar/api/guides/push,
"Requirements"), so push is on when ``CLINIC_SYNC_PUBLIC_URL`` is https, or plain http with
``CLINIC_SYNC_PUSH_ALLOW_HTTP`` (the emulator, in tests). Otherwise every calendar is polled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sync.config import Settings

__all__ = ["WEBHOOK_PATH", "PushOptions", "webhook_address"]

WEBHOOK_PATH = "/webhooks/google"


@dataclass(frozen=True, slots=True)
class PushOptions:
    """Push settings; ``address`` is ``None`` when push is off."""

    address: str | None = None
    ttl: timedelta = timedelta(days=7)
    renew_before: timedelta = timedelta(hours=6)
    poll_interval: timedelta = timedelta(minutes=15)
    """Fallback polling of a calendar whose channel is live."""
    sweep_every: timedelta = timedelta(minutes=1)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    @classmethod
    def from_settings(cls, settings: Settings) -> PushOptions:
        return cls(
            address=webhook_address(settings.public_url, allow_http=settings.push_allow_http),
            ttl=timedelta(seconds=settings.push_channel_ttl_seconds),
            renew_before=timedelta(seconds=settings.push_renew_before_seconds),
            poll_interval=timedelta(seconds=settings.push_poll_seconds),
            sweep_every=timedelta(seconds=settings.push_sweep_seconds),
        )


def webhook_address(public_url: str, *, allow_http: bool = False) -> str | None:
    """Where Google should post for ``public_url``; ``None`` when it cannot deliver there."""
    schemes = ("https://", "http://") if allow_http else ("https://",)
    if not public_url.lower().startswith(schemes):
        return None
    return public_url.rstrip("/") + WEBHOOK_PATH
