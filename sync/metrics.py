"""Prometheus metrics of the sync cycles: polls, requests, conflicts, flags, durations (SPEC §9).

:class:`CycleMetrics` owns a :class:`prometheus_client.CollectorRegistry` of its own, never
the global one, so tests, the demo and several services can share a process.
:mod:`sync.usecases.cycle` records each calendar cycle into the ``metrics`` of its
:class:`~sync.bootstrap.Services` (the worker, ``sync --once`` and the demo alike), and
``clinic-sync worker`` serves them over HTTP when ``CLINIC_SYNC_WORKER_METRICS_PORT`` is
set (:func:`metrics_endpoint`). Labels are providers and outcomes only: no patient,
calendar name, title or token ever becomes a label.

The worker builds its services itself (:func:`sync.worker.runner.run_worker`), so the endpoint
hands its metrics to :func:`sync.bootstrap.open_services` through :func:`metrics_in_scope`:
services opened inside ``with metrics_endpoint(...)`` record into what it serves.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import start_http_server as _start_http_server

from sync.config import Settings
from sync.errors import ConfigError

if TYPE_CHECKING:
    from sync.usecases.cycle import CalendarCycle

__all__ = ["CycleMetrics", "MetricsEndpoint", "metrics_endpoint", "metrics_in_scope"]

_DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
_LATENCY_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 21600.0)

_in_scope: ContextVar[CycleMetrics | None] = ContextVar("clinic_sync_cycle_metrics", default=None)


class CycleMetrics:
    """The counters and histograms of calendar cycles, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.polls = self._counter(
            "polls", "Calendar polls, by provider and outcome (ok, failed).", "provider", "outcome"
        )
        self.requests = self._counter(
            "calendar_requests",
            "Requests to calendar providers, by step: the pull's, and the reads and writes "
            "of flags.",
            "provider",
            "step",
        )
        self.conflicts_detected = self._counter("conflicts_detected", "Conflicts found.")
        self.conflicts_resolved = self._counter("conflicts_resolved", "Conflicts resolved.")
        self.flags = self._counter(
            "flags",
            "Flag writes by outcome: written, removed, skipped (on purpose), failed.",
            "provider",
            "outcome",
        )
        self.quarantined = self._counter(
            "events_quarantined",
            "Events put in quarantine: they could not be read or stored (each is listed on "
            "the sync-health page until it is stored, deleted or no longer listed).",
            "provider",
        )
        self.ignored = self._counter(
            "events_ignored",
            "Events left out because they are not bookings (out-of-office, birthdays...).",
            "provider",
        )
        self.cut = self._counter(
            "bookings_cut", "Bookings stored with a field cut to fit the store.", "provider"
        )
        self.reconciliations = self._counter(
            "reconciliations",
            "Periodic full listings of a calendar compared with the store.",
            "provider",
        )
        self.reconcile_corrections = self._counter(
            "reconciliation_corrections",
            "Bookings a reconciliation inserted, updated or deleted because push or "
            "incremental sync missed them (normally zero).",
            "provider",
        )
        self.leases_lost = self._counter(
            "leases_lost",
            "Calendar leases this worker found it no longer held, by the step that found out.",
            "stage",
        )
        self.fenced_writes = self._counter(
            "fenced_writes",
            "Flag writes refused before they were sent because the lease was lost.",
        )
        self.quota_backoffs = self._counter(
            "quota_backoffs",
            "Times Google asked to slow down and the worker backed off, by Google's reason.",
            "reason",
        )
        self.cycle_seconds = Histogram(
            "clinic_sync_cycle_duration_seconds",
            "Time one calendar cycle took: pull, detection and flag writes.",
            ["provider"],
            buckets=_DURATION_BUCKETS,
            registry=self.registry,
        )
        self.flag_latency = Histogram(
            "clinic_sync_flag_latency_seconds",
            "Seconds from the later booking's last change at the provider (its `updated` "
            "stamp, as pulled) to the end of the cycle that wrote its flag.",
            ["provider"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )

    def _counter(self, name: str, documentation: str, *labels: str) -> Counter:
        return Counter(
            f"clinic_sync_{name}",
            documentation,
            labels,
            registry=self.registry,
        )

    def record(
        self, cycle: CalendarCycle, *, provider: str, seconds: float, ended: datetime
    ) -> None:
        """Count what one cycle of a ``provider`` calendar did, ending at ``ended``."""
        self.polls.labels(provider, "ok" if cycle.pull.ok else "failed").inc()
        self.requests.labels(provider, "pull").inc(cycle.pull.requests)
        self.requests.labels(provider, "flag").inc(cycle.flag_requests)
        self._record_pull(cycle, provider)
        self.conflicts_detected.inc(cycle.detected)
        self.conflicts_resolved.inc(cycle.resolved)
        for outcome, count in _flag_outcomes(cycle):
            self.flags.labels(provider, outcome).inc(count)
        self.cycle_seconds.labels(provider).observe(seconds)
        for changed in cycle.flagged_changes:
            latency = (ended - changed).total_seconds()
            self.flag_latency.labels(provider).observe(max(0.0, latency))

    def _record_pull(self, cycle: CalendarCycle, provider: str) -> None:
        pull = cycle.pull
        self.quarantined.labels(provider).inc(pull.quarantined)
        self.ignored.labels(provider).inc(len(pull.ignored))
        self.cut.labels(provider).inc(pull.cut)
        if pull.reconciled:
            self.reconciliations.labels(provider).inc()
            self.reconcile_corrections.labels(provider).inc(pull.corrections)

    def lease_lost(self, stage: str, *, fenced_write: bool = False) -> None:
        """Count a lease found lost at ``stage``; a write it stopped is counted as fenced."""
        self.leases_lost.labels(stage).inc()
        if fenced_write:
            self.fenced_writes.inc()

    def quota_backoff(self, reason: str) -> None:
        """Count one back-off Google asked for with ``reason`` (rateLimitExceeded, ...)."""
        self.quota_backoffs.labels(reason).inc()

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return generate_latest(self.registry)


def _flag_outcomes(cycle: CalendarCycle) -> Sequence[tuple[str, int]]:
    return (
        ("written", cycle.flagged),
        ("removed", cycle.unflagged),
        ("skipped", cycle.skipped_writes),
        ("failed", cycle.write_failures),
    )


def metrics_in_scope() -> CycleMetrics:
    """The metrics an enclosing :func:`metrics_endpoint` serves, else new ones."""
    return _in_scope.get() or CycleMetrics()


@dataclass(frozen=True, slots=True)
class MetricsEndpoint:
    """The worker's metrics, and where they are served."""

    metrics: CycleMetrics
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"


@contextmanager
def metrics_endpoint(settings: Settings) -> Iterator[MetricsEndpoint | None]:
    """Serve cycle metrics on the configured host and port; nothing when no port is set.

    Port 0 binds a free port (the endpoint tells which). Services opened inside record
    into the served metrics (:func:`metrics_in_scope`). :class:`ConfigError` when the
    address cannot be bound.
    """
    port, host = settings.worker_metrics_port, settings.worker_metrics_host
    if port is None:
        yield None
        return
    metrics = CycleMetrics()
    try:
        server, thread = _start_http_server(port, addr=host, registry=metrics.registry)
    except OSError as err:
        raise ConfigError(f"cannot serve worker metrics on {host}:{port}: {err}") from err
    token = _in_scope.set(metrics)
    try:
        yield MetricsEndpoint(metrics, host, int(server.server_port))
    finally:
        _in_scope.reset(token)
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
