"""A patient's feed read from that patient's reach gives what the whole clinic gives (SPEC §7).

Over the demo clinic after the demo's own first sync (the emulator with the real Google
client), every patient's eligibility from :func:`sync.feeds.patient_view.patient_view`
is compared with the whole clinic's assessment: the same patient, the same windows.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console

from rules.assess import Assessment, Scope, assess
from sync.bootstrap import Services, booking_reader
from sync.demo.clinic import generate_clinic
from sync.demo.first_sync import connect_calendars, first_sync
from sync.demo.run import DemoOptions, demo_settings, open_demo_services
from sync.demo.screen import Screen
from sync.emulator import EmulatorServer
from sync.feeds.patient_view import patient_view
from sync.store.bookings import list_bookings
from sync.store.database import session_scope


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Services, date]]:
    clinic = generate_clinic(7, date.today())
    database = Path(tmp_path_factory.mktemp("demo")) / "demo.db"
    with EmulatorServer(seed=clinic.seed()) as emulator:
        settings = demo_settings(DemoOptions(database=database), emulator.url, "http://demo")
        with open_demo_services(settings) as services:
            sources = connect_calendars(services, clinic)
            first_sync(services, sources, Screen(Console(file=io.StringIO())), threading.Event())
            yield services, clinic.today


def windows(assessment: Assessment, key: object) -> set[tuple[object, ...]]:
    return {
        (e.rule.name, e.after.id, e.eligible_from, e.ideal)
        for e in assessment.eligibility
        if e.patient.key == key
    }


def test_every_patients_reach_gives_the_clinics_eligibility(
    demo: tuple[Services, date],
) -> None:
    services, today = demo
    clinic, reader = services.clinic, booking_reader(services.clinic)
    scope = Scope(today)
    with session_scope(services.engine) as session:
        bookings = list_bookings(session, clinic.id)
        whole = assess(
            bookings, clinic.policy, scope, matcher=reader.matcher, options=reader.options
        )
        assert len(whole.patients) > 50
        for group in whole.patients:
            key = group.patient.key
            mine = patient_view(
                session, clinic.id, key, policy=clinic.policy, reader=reader, scope=scope
            ).assessment
            found = [g.patient for g in mine.patients if g.patient.key == key]
            assert found == [group.patient], key
            assert windows(mine, key) == windows(whole, key), key
            assert len(mine.patients) < len(whole.patients) / 2, "read the patient, not the clinic"
