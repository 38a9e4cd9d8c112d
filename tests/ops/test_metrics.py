"""Prometheus metrics: what a real cycle counts, the worker's endpoint, the web app's ``/metrics``.

Cycles run against the emulator with the real Google client (the fixtures of
:mod:`tests.cycle.conftest`); the worker runs as a real ``clinic-sync worker`` process;
the web app is served by uvicorn. No exposition may carry a patient's name or a title.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from sync.bootstrap import Services
from sync.config import Settings
from sync.emulator import EmulatorServer
from sync.errors import ConfigError
from sync.metrics import CycleMetrics, metrics_endpoint, metrics_in_scope
from sync.store.clinics import get_or_create_clinic
from sync.store.credentials import CredentialKind, mark_reconnect_required, save_credential
from sync.store.database import make_engine, session_scope
from sync.store.sources import Provider
from sync.usecases.cycle import run_clinic_pass
from sync.web.app import create_app
from sync.web.metrics import StoreCollector
from sync.web.server import WebServer
from tests.cycle.conftest import NOW, PATIENT
from tests.google.conftest import connect, seed_unstorable
from tests.worker.conftest import google_calendars
from tests.worker.processes import Workers, worker_env

Json = dict[str, Any]
PRIVATE = ("Jane", "Doe", "jane.doe", "Botox", "Microneedling", "Consultation")


def _book_pair(insert: Callable[..., Json], calendars: tuple[str, str]) -> None:
    """Botox a week after microneedling, for one patient: one conflict, one flag."""
    smith, room = calendars
    insert(smith, "Microneedling Jane Doe", "2030-01-10T10:00:00+00:00", attendees=PATIENT)
    insert(room, "Botox Jane Doe", "2030-01-17T10:00:00+00:00", attendees=PATIENT)


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _assert_no_patient_data(text: str) -> None:
    leaked = [word for word in PRIVATE if word.casefold() in text.casefold()]
    assert leaked == [], text


@pytest.fixture
def counted(services: Services) -> Services:
    return replace(services, metrics=CycleMetrics())


def test_a_cycle_counts_polls_requests_the_conflict_the_flag_and_its_latency(
    counted: Services, calendars: tuple[str, str], insert: Callable[..., Json]
) -> None:
    _book_pair(insert, calendars)
    run_clinic_pass(counted, now=NOW)
    assert counted.metrics is not None
    registry = counted.metrics.registry
    google = {"provider": "google"}
    assert _value(registry, "clinic_sync_polls_total", outcome="ok", **google) == 2
    assert _value(registry, "clinic_sync_polls_total", outcome="failed", **google) == 0
    assert _value(registry, "clinic_sync_calendar_requests_total", step="pull", **google) > 0
    assert _value(registry, "clinic_sync_calendar_requests_total", step="flag", **google) >= 2
    assert _value(registry, "clinic_sync_conflicts_detected_total") == 1
    assert _value(registry, "clinic_sync_flags_total", outcome="written", **google) == 1
    assert _value(registry, "clinic_sync_flags_total", outcome="failed", **google) == 0
    assert _value(registry, "clinic_sync_flag_latency_seconds_count", **google) == 1
    assert _value(registry, "clinic_sync_cycle_duration_seconds_count", **google) == 2
    _assert_no_patient_data(counted.metrics.exposition().decode())


def test_a_second_pass_counts_polls_but_no_new_conflict_or_flag(
    counted: Services, calendars: tuple[str, str], insert: Callable[..., Json]
) -> None:
    _book_pair(insert, calendars)
    run_clinic_pass(counted, now=NOW)
    run_clinic_pass(counted, now=NOW + timedelta(minutes=1))
    assert counted.metrics is not None
    registry = counted.metrics.registry
    assert _value(registry, "clinic_sync_polls_total", provider="google", outcome="ok") == 4
    assert _value(registry, "clinic_sync_conflicts_detected_total") == 1
    assert _value(registry, "clinic_sync_flags_total", provider="google", outcome="written") == 1


def test_a_calendar_the_provider_does_not_know_counts_as_a_failed_poll(
    counted: Services, engine: Engine
) -> None:
    connect(engine, "gone@group.calendar.google.com")
    run_clinic_pass(counted, now=NOW)
    assert counted.metrics is not None
    registry = counted.metrics.registry
    assert _value(registry, "clinic_sync_polls_total", provider="google", outcome="failed") == 1


def test_quarantined_ignored_and_cut_events_are_counted_and_shown_per_calendar(
    counted: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    emulator: EmulatorServer,
) -> None:
    smith, _ = calendars
    start = "2030-01-10T10:00:00+00:00"
    insert(
        smith, "Botox Jane Doe", start, extendedProperties={"private": {"patient_id": "P" * 300}}
    )
    gmail = {  # a flight Gmail put on the calendar: only Gmail makes these
        "summary": "Flight to Lisbon",
        "eventType": "fromGmail",
        "start": {"dateTime": start},
        "end": {"dateTime": "2030-01-10T11:00:00+00:00"},
    }
    emulator.account.store.insert_event(smith, gmail, imported=True)
    seed_unstorable(emulator, smith, NOW + timedelta(days=9))
    run_clinic_pass(counted, now=NOW)
    assert counted.metrics is not None
    registry = counted.metrics.registry
    google = {"provider": "google"}
    assert _value(registry, "clinic_sync_events_quarantined_total", **google) == 1
    assert _value(registry, "clinic_sync_events_ignored_total", **google) == 1
    assert _value(registry, "clinic_sync_bookings_cut_total", **google) == 1
    app = create_app(counted.settings, counted.engine)
    with WebServer(app) as web:
        samples = _samples(httpx.get(f"{web.url}/metrics").text)
    for source_id, held in (("1", 1), ("2", 0)):
        calendar = frozenset(
            {("source_id", source_id), ("clinic", "default"), ("provider", "google")}
        )
        assert samples["clinic_sync_calendar_quarantined_events", calendar] == held


def test_a_reconciliation_is_counted_with_what_it_corrected(
    counted: Services, calendars: tuple[str, str], insert: Callable[..., Json]
) -> None:
    _book_pair(insert, calendars)
    run_clinic_pass(counted, now=NOW)
    run_clinic_pass(counted, now=NOW + timedelta(days=1))
    assert counted.metrics is not None
    registry = counted.metrics.registry
    assert _value(registry, "clinic_sync_reconciliations_total", provider="google") == 2
    assert _value(registry, "clinic_sync_reconciliation_corrections_total", provider="google") == 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_metrics_endpoint_serves_the_text_format_and_hands_its_metrics_to_services() -> None:
    settings = Settings(_env_file=None, worker_metrics_port=0)
    with metrics_endpoint(settings) as endpoint:
        assert endpoint is not None
        assert metrics_in_scope() is endpoint.metrics
        endpoint.metrics.polls.labels("google", "ok").inc()
        response = httpx.get(endpoint.url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'clinic_sync_polls_total{outcome="ok",provider="google"} 1.0' in response.text
    assert metrics_in_scope() is not endpoint.metrics


def test_no_port_means_no_endpoint_and_a_taken_port_is_a_setup_error() -> None:
    with metrics_endpoint(Settings(_env_file=None)) as endpoint:
        assert endpoint is None
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = Settings(_env_file=None, worker_metrics_port=port)
        with (
            pytest.raises(ConfigError, match="cannot serve worker metrics"),
            metrics_endpoint(settings),
        ):
            pass


def test_a_blank_port_setting_leaves_the_endpoint_off() -> None:
    settings = Settings(_env_file=None, worker_metrics_port="")
    assert settings.worker_metrics_port is None


def test_the_worker_command_serves_the_polls_it_made(
    sqlite_url: str,
    emulator: EmulatorServer,
    workers: Workers,
) -> None:
    engine = make_engine(sqlite_url)
    google_calendars(engine, emulator, 1)
    engine.dispose()
    port = _free_port()
    worker = workers.start(worker_env(sqlite_url, emulator, worker_metrics_port=port))
    worker.wait_for_log("serving metrics on http://127.0.0.1:")
    text = _scrape_until(f"http://127.0.0.1:{port}/metrics", 'outcome="ok"')
    assert worker.stop() == 0
    samples = _samples(text)
    polled = ("clinic_sync_polls_total", frozenset({("provider", "google"), ("outcome", "ok")}))
    assert samples[polled] >= 1
    _assert_no_patient_data(text)


def _scrape_until(url: str, fragment: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        try:
            text = httpx.get(url).text
        except httpx.TransportError:
            text = ""
        if fragment in text:
            return text
        time.sleep(0.1)
    raise AssertionError(f"{url} never showed {fragment!r}:\n{text}")


def test_the_web_apps_metrics_show_conflicts_by_state_and_calendar_health(
    counted: Services, calendars: tuple[str, str], insert: Callable[..., Json]
) -> None:
    _book_pair(insert, calendars)
    run_clinic_pass(counted, now=NOW)
    app = create_app(counted.settings, counted.engine)
    with WebServer(app) as web:
        response = httpx.get(f"{web.url}/metrics")
    assert response.status_code == 200
    samples = _samples(response.text)
    flagged = frozenset({("clinic", "default"), ("state", "flagged")})
    opened = frozenset({("clinic", "default"), ("state", "open")})
    assert samples["clinic_sync_conflicts", flagged] == 1
    assert samples["clinic_sync_conflicts", opened] == 0
    assert samples["clinic_sync_store_up", frozenset()] == 1
    for source_id in ("1", "2"):
        calendar = frozenset(
            {("source_id", source_id), ("clinic", "default"), ("provider", "google")}
        )
        assert samples["clinic_sync_calendar_consecutive_failures", calendar] == 0
        assert ("clinic_sync_calendar_seconds_since_sync", calendar) in samples
        assert samples["clinic_sync_calendar_reconnect_required", calendar] == 0
    _assert_no_patient_data(response.text)


def test_calendar_health_counts_seconds_since_sync_and_a_refused_credential(
    counted: Services, calendars: tuple[str, str]
) -> None:
    run_clinic_pass(counted, now=NOW)
    with session_scope(counted.engine) as session:
        clinic_id = get_or_create_clinic(session, "default").id
        save_credential(
            session, clinic_id, Provider.GOOGLE, CredentialKind.OAUTH, account="a", secret="x"
        )
        mark_reconnect_required(session, clinic_id, Provider.GOOGLE, "invalid_grant")
    registry = CollectorRegistry()
    registry.register(StoreCollector(counted.engine, clock=lambda: NOW + timedelta(seconds=90)))
    calendar = {"source_id": "1", "clinic": "default", "provider": "google"}
    assert _value(registry, "clinic_sync_calendar_seconds_since_sync", **calendar) == 90
    assert _value(registry, "clinic_sync_calendar_reconnect_required", **calendar) == 1


def test_the_store_collector_reports_the_database_down_instead_of_failing() -> None:
    unreachable = make_engine("sqlite:////nonexistent-directory/clinic.db")
    registry = CollectorRegistry()
    registry.register(StoreCollector(unreachable))
    assert registry.get_sample_value("clinic_sync_store_up") == 0
    unreachable.dispose()
