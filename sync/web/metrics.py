"""Prometheus metrics of the web app: feed requests by status, render time (SPEC §7).

Each app owns a :class:`prometheus_client.CollectorRegistry` (never the global one), so
several apps — tests, a bench — can live in one process.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

__all__ = ["CONTENT_TYPE", "WebMetrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_RENDER_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class WebMetrics:
    """The app's counters and histograms, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.feed_requests = Counter(
            "clinic_sync_feed_requests",
            "Feed requests answered, by HTTP status.",
            ["status"],
            registry=self.registry,
        )
        self.feed_render_seconds = Histogram(
            "clinic_sync_feed_render_seconds",
            "Time to compute and render a feed that was not cached.",
            buckets=_RENDER_BUCKETS,
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return generate_latest(self.registry)
