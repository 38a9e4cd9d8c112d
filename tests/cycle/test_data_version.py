"""A clinic's data version moves with each pull that changes its bookings, only then (SPEC §7).

Feeds cache what they rendered on this counter (:mod:`sync.store.data_version`), so every
path that writes bookings must bump it in the same transaction: a pull inserting,
changing or deleting events, and a calendar removed with its bookings.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sync.accounts.service import Actor
from sync.bootstrap import Services
from sync.store.data_version import DataVersion, clinic_data_version
from sync.store.database import session_scope
from sync.store.sources import list_sources
from sync.usecases.connect import remove_calendar
from sync.usecases.cycle import run_clinic_pass
from tests.cycle.conftest import NOW, PATIENT

Json = dict[str, Any]


def _version(services: Services) -> DataVersion:
    with session_scope(services.engine) as session:
        return clinic_data_version(session, 1)


def test_each_pull_that_changes_bookings_bumps_the_clinic_data_version_and_idle_ones_do_not(
    services: Services, calendars: tuple[str, str], insert: Callable[..., Json], service: Any
) -> None:
    smith, _ = calendars
    start = _version(services)
    event = insert(smith, "Microneedling Jane Doe", "2030-01-10T10:00:00+00:00", attendees=PATIENT)
    run_clinic_pass(services, now=NOW)
    inserted = _version(services)
    assert inserted.counter > start.counter
    assert inserted.changed_at == NOW

    run_clinic_pass(services, now=NOW + timedelta(minutes=1))
    assert _version(services) == inserted  # nothing changed: the feeds keep what they have

    later = NOW + timedelta(minutes=2)
    body = {"summary": "Microneedling Jane Doe (SkinPen)"}
    service.events().patch(calendarId=smith, eventId=event["id"], body=body).execute()
    run_clinic_pass(services, now=later)
    changed = _version(services)
    assert changed.counter > inserted.counter
    assert changed.changed_at == later

    service.events().delete(calendarId=smith, eventId=event["id"]).execute()
    run_clinic_pass(services, now=later + timedelta(minutes=1))
    assert _version(services).counter > changed.counter


def test_removing_a_calendar_with_bookings_bumps_the_clinic_data_version(
    services: Services, calendars: tuple[str, str], insert: Callable[..., Json]
) -> None:
    smith, _ = calendars
    insert(smith, "Microneedling Jane Doe", "2030-01-10T10:00:00+00:00", attendees=PATIENT)
    run_clinic_pass(services, now=NOW)
    before = _version(services)
    later = NOW + timedelta(hours=1)
    with session_scope(services.engine) as session:
        [source] = [s for s in list_sources(session, 1) if s.external_id == smith]
        remove_calendar(session, Actor("admin", 1, later), source.id)
    after = _version(services)
    assert after.counter > before.counter
    assert after.changed_at == later
