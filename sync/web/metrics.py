"""Prometheus metrics of the web app: feeds served, and the store's state (SPEC §7, §9).

Each app owns a :class:`prometheus_client.CollectorRegistry` (never the global one), so
several apps — tests, a bench — can live in one process. Besides its own counters, the
registry carries a :class:`StoreCollector` (:meth:`WebMetrics.watch_store`) that reads the
database at scrape time, with two bounded aggregate queries (:mod:`sync.store.health`):
conflicts by clinic and state, and each enabled calendar's time since its last successful
sync, consecutive failures and whether its provider asks to reconnect. Calendars are
labelled by source id and provider, never by name; no patient data becomes a label.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from sync.store.conflicts import ConflictState
from sync.store.database import session_scope
from sync.store.errors import StoreError
from sync.store.health import CalendarHealth, ConflictCount, calendar_health, conflict_counts

__all__ = ["CONTENT_TYPE", "StoreCollector", "WebMetrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_RENDER_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_CALENDAR_LABELS = ["source_id", "clinic", "provider"]


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
        self._store: StoreCollector | None = None

    def watch_store(self, engine: Engine) -> None:
        """Report the state of the store behind ``engine`` too, read at each scrape (once)."""
        if self._store is None:
            self._store = StoreCollector(engine)
            self.registry.register(self._store)

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return generate_latest(self.registry)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class StoreCollector(Collector):
    """Gauges read from the database when scraped; ``clinic_sync_store_up`` 0 when it fails."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = _utc_now) -> None:
        self.engine = engine
        self.clock = clock

    def describe(self) -> Iterable[GaugeMetricFamily]:
        # Names without reading the database: registering must not query it.
        return list(_families())

    def collect(self) -> Iterable[GaugeMetricFamily]:
        try:
            with session_scope(self.engine) as session:
                counts, calendars = conflict_counts(session), calendar_health(session)
        except StoreError:
            return [GaugeMetricFamily("clinic_sync_store_up", _UP_HELP, value=0)]
        up = GaugeMetricFamily("clinic_sync_store_up", _UP_HELP, value=1)
        return [up, *_fill(counts, calendars, self.clock())]


_UP_HELP = "Whether the database answered the metrics queries of this scrape."


def _families() -> Iterator[GaugeMetricFamily]:
    yield GaugeMetricFamily("clinic_sync_store_up", _UP_HELP)
    yield GaugeMetricFamily(
        "clinic_sync_conflicts", "Conflicts by clinic and state.", labels=["clinic", "state"]
    )
    yield GaugeMetricFamily(
        "clinic_sync_calendar_seconds_since_sync",
        "Seconds since an enabled calendar was last pulled successfully (absent: never).",
        labels=_CALENDAR_LABELS,
    )
    yield GaugeMetricFamily(
        "clinic_sync_calendar_consecutive_failures",
        "Polls of an enabled calendar that failed in a row.",
        labels=_CALENDAR_LABELS,
    )
    yield GaugeMetricFamily(
        "clinic_sync_calendar_reconnect_required",
        "1 when the provider refused the clinic's credential and it must connect again.",
        labels=_CALENDAR_LABELS,
    )
    yield GaugeMetricFamily(
        "clinic_sync_calendar_quarantined_events",
        "Events of an enabled calendar that could not be read or stored (quarantined).",
        labels=_CALENDAR_LABELS,
    )


def _fill(
    counts: list[ConflictCount], calendars: list[CalendarHealth], now: datetime
) -> list[GaugeMetricFamily]:
    _, conflicts, since, failures, reconnect, quarantined = _families()
    clinics = sorted({c.clinic for c in counts} | {c.clinic for c in calendars})
    found = {(c.clinic, c.state): c.count for c in counts}
    for clinic in clinics:
        for state in ConflictState:
            conflicts.add_metric([clinic, state.value], found.get((clinic, state.value), 0))
    for calendar in calendars:
        labels = [str(calendar.source_id), calendar.clinic, calendar.provider]
        if calendar.last_sync_at is not None:
            since.add_metric(labels, max(0.0, (now - calendar.last_sync_at).total_seconds()))
        failures.add_metric(labels, calendar.consecutive_failures)
        reconnect.add_metric(labels, 1 if calendar.reconnect_required else 0)
        quarantined.add_metric(labels, calendar.quarantined)
    return [conflicts, since, failures, reconnect, quarantined]
