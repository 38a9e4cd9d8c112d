"""The conflict page shows the safe date to rebook on, as the booking's flag names it."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from sync.bootstrap import Services
from sync.emulator import EmulatorServer
from tests.admin.conftest import ADMIN, Accounts, Json, seed_conflict, sign_in


def test_the_conflict_page_lists_the_first_free_slots_on_the_bookings_calendar(
    web: httpx.Client,
    accounts: Accounts,
    services: Services,
    insert: Callable[..., Json],
    calendars: tuple[str, str],
) -> None:
    insert(calendars[1], "Team meeting", "2030-01-24T09:00:00+00:00")
    seeded = seed_conflict(services, insert, calendars)
    sign_in(web, ADMIN)
    page = web.get(f"/admin/conflicts/{seeded.public_id}").text
    assert "Safe date to rebook" in page
    assert "Earliest eligible day: <strong>2030-01-24</strong>, ideally by 2030-02-07." in page
    assert '<time datetime="2030-01-24T10:00">Thu 24 Jan 2030, 10:00</time>' in page
    assert '<time datetime="2030-01-24T09:00">' not in page


def test_when_free_busy_failed_the_page_names_only_the_day(
    web: httpx.Client,
    accounts: Accounts,
    services: Services,
    insert: Callable[..., Json],
    calendars: tuple[str, str],
    emulator: EmulatorServer,
) -> None:
    emulator.inject_fault(status=500, count=20, method="freebusy.query")
    seeded = seed_conflict(services, insert, calendars)
    sign_in(web, ADMIN)
    page = web.get(f"/admin/conflicts/{seeded.public_id}").text
    assert "Free slots could not be read from the calendar" in page
    assert "<time " not in page.split("Safe date to rebook")[1].split("</section>")[0]
