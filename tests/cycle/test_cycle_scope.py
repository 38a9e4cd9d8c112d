"""A cycle re-assesses what its pull changed; a new process or a new day re-checks the clinic."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sync.bootstrap import Services
from sync.usecases.cycle import run_clinic_pass
from tests.cycle.conftest import NOW, PATIENT

Json = dict[str, Any]


def _book(insert: Callable[..., Json], calendars: tuple[str, str]) -> None:
    smith, room = calendars
    insert(smith, "Microneedling Jane Doe", "2030-01-10T10:00:00+00:00", attendees=PATIENT)
    insert(room, "Botox Jane Doe", "2030-01-17T10:00:00+00:00", attendees=PATIENT)
    for n, name in enumerate(("Tom Reed", "Ava Stone", "Ben Carter")):
        insert(smith, f"Hydrafacial - {name}", f"2030-01-2{n}T10:00:00+00:00")


def test_the_first_cycle_reads_the_clinic_and_later_ones_what_changed(
    services: Services, calendars: tuple[str, str], insert: Callable[..., Json]
) -> None:
    _book(insert, calendars)
    first = run_clinic_pass(services, now=NOW)
    assert [cycle.assessed for cycle in first.cycles] == [4, 2]  # all of Dr Smith's, then Jane
    assert sum(cycle.detected for cycle in first.cycles) == 1
    insert(calendars[1], "Hydrafacial - Mia Wong", "2030-01-25T10:00:00+00:00")
    later = run_clinic_pass(services, now=NOW + timedelta(minutes=1))
    assert [cycle.assessed for cycle in later.cycles] == [0, 1]  # nothing, then Mia Wong alone


def test_a_new_day_re_checks_the_whole_clinic(
    services: Services, calendars: tuple[str, str], insert: Callable[..., Json]
) -> None:
    _book(insert, calendars)
    run_clinic_pass(services, now=NOW)
    run_clinic_pass(services, now=NOW + timedelta(minutes=1))
    tomorrow = run_clinic_pass(services, now=NOW + timedelta(days=1))
    assert [cycle.assessed for cycle in tomorrow.cycles] == [5, 0]
    assert sum(cycle.resolved + cycle.detected for cycle in tomorrow.cycles) == 0
