"""The notification counter, in the registry the worker serves (SPEC §9).

Labels are the channel and the outcome only: no clinic, recipient or patient.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

__all__ = ["NotificationMetrics"]


class NotificationMetrics:
    """``clinic_sync_notifications_total{channel,outcome}``: sent, retried, failed."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.notifications = Counter(
            "clinic_sync_notifications",
            "Notification attempts by channel (email, webhook) and outcome: sent, retried "
            "(failed, tried again later), failed (for good).",
            ("channel", "outcome"),
            registry=self.registry,
        )

    def count(self, channel: str, outcome: str, times: int = 1) -> None:
        """Count ``times`` deliveries of ``channel`` ending in ``outcome``."""
        self.notifications.labels(channel, outcome).inc(times)
