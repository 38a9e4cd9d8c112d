"""The demo's first sync finds exactly the conflicts the generator planned, and every patient.

These run the demo's own first sync — the emulator with the real Google client, a SQLite
store, detection and flag writes — and compare what the store holds with what the
generator meant.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console

from rules.assess import Scope, assess
from sync.bootstrap import Services
from sync.demo.clinic import DemoClinic, generate_clinic
from sync.demo.first_sync import connect_calendars, first_sync
from sync.demo.report import conflict_rows, patient_names
from sync.demo.run import DemoOptions, demo_settings, open_demo_services
from sync.demo.screen import Screen
from sync.emulator import EmulatorServer
from sync.store.clinics import get_clinic
from sync.store.conflicts import copies_by_row, load_copies
from sync.store.database import session_scope


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoClinic, Services]]:
    """The demo clinic after the demo's first sync, as of the real today."""
    clinic = generate_clinic(7, date.today())
    database = Path(tmp_path_factory.mktemp("demo")) / "demo.db"
    with EmulatorServer(seed=clinic.seed()) as emulator:
        settings = demo_settings(DemoOptions(database=database), emulator.url, "http://demo")
        with open_demo_services(settings) as services:
            sources = connect_calendars(services, clinic)
            screen = Screen(Console(file=io.StringIO()))
            first_sync(services, sources, screen, threading.Event())
            yield clinic, services


def test_the_first_sync_finds_exactly_the_planned_conflicts(
    synced: tuple[DemoClinic, Services],
) -> None:
    clinic, services = synced
    rows = conflict_rows(services.engine, services.clinic.id, patient_names(clinic))
    with session_scope(services.engine) as session:
        copies = copies_by_row(
            session, {r for row in rows for r in (row.earlier_row, row.later_row)}
        )
    found = {
        (copies[row.earlier_row].event.booking.id, copies[row.later_row].event.booking.id)
        for row in rows
    }
    assert found == {(c.earlier_id, c.later_id) for c in clinic.conflicts}
    planned = {c.later_id: c for c in clinic.conflicts}
    for row in rows:
        intended = planned[copies[row.later_row].event.booking.id]
        assert (row.patient, row.gap) == (intended.patient.name, intended.gap)
        assert row.state == ("open" if intended.later_day <= clinic.today else "flagged")


def test_every_patient_is_recognised_as_one_patient(synced: tuple[DemoClinic, Services]) -> None:
    """Names, e-mails and ids link each patient's bookings, and no two patients merge."""
    clinic, services = synced
    with session_scope(services.engine) as session:
        bookings = [copy.event.booking for copy in load_copies(session, services.clinic.id)]
    staff = services.clinic.identity
    groups = assess(bookings, services.policy, Scope(today=clinic.today), options=staff).patients
    names = patient_names(clinic)
    assert sorted(names[str(group.patient.key)] for group in groups) == sorted(
        p.name for p in clinic.patients
    )


def test_the_demo_clinic_is_named_and_set_up_for_its_bookings(
    synced: tuple[DemoClinic, Services],
) -> None:
    """Its name is what people see; London time and the demo's staff domain are stored."""
    _clinic, services = synced
    with session_scope(services.engine) as session:
        stored = get_clinic(session, "demo")
    assert stored.name == "Demo clinic"
    assert stored.settings.time_zone == "Europe/London"
    assert stored.settings.staff_domains == frozenset({"demo-clinic.example"})
