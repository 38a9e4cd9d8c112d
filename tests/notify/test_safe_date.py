"""A notification names the safe date to rebook on, as the flag does (SPEC §6, §8)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sync.bootstrap import Services
from sync.emulator import EmulatorServer
from sync.usecases.cycle import run_clinic_pass
from tests.notify.conftest import NOW, Inbox, Notify, Receiver, add_admin, add_hook
from tests.notify.test_email import book_conflict

Json = dict[str, Any]
SLOTS = "Thu 24 Jan 2030, 10:00; Thu 24 Jan 2030, 10:30; Thu 24 Jan 2030, 11:00"


def _busy_morning(insert: Callable[..., Json], room: str) -> None:
    insert(room, "Team meeting", "2030-01-24T09:00:00+00:00")


def test_the_email_names_the_first_free_slots_on_the_bookings_calendar(
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    smtp: tuple[Inbox, int],
    notify: Notify,
) -> None:
    add_admin(services.engine, "ann@clinic.example")
    book_conflict(insert, calendars)
    _busy_morning(insert, calendars[1])
    run_clinic_pass(services, now=NOW)
    notify()
    [mail] = smtp[0].messages
    body = mail.get_content()
    assert "Earliest eligible date: 2030-01-24" in body
    [line] = [line for line in body.splitlines() if line.startswith("First free slots on ")]
    assert line.endswith(f" from 2030-01-24: {SLOTS}")
    assert "10:30" not in mail["Subject"]  # no slot in the subject line


def test_the_webhook_carries_the_slots_as_data(
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    receiver: Receiver,
    notify: Notify,
) -> None:
    add_hook(services.engine, receiver.url, "whsec_test")
    book_conflict(insert, calendars)
    _busy_morning(insert, calendars[1])
    run_clinic_pass(services, now=NOW)
    notify()
    [(_, body)] = receiver.requests
    data = json.loads(body)["data"]
    assert (data["slots_from"], data["slots_to"]) == ("2030-01-24", "2030-02-07")
    assert "; ".join(data["slots"]) == SLOTS


def test_when_free_busy_failed_the_email_names_only_the_day(
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    smtp: tuple[Inbox, int],
    notify: Notify,
    emulator: EmulatorServer,
) -> None:
    add_admin(services.engine, "ann@clinic.example")
    book_conflict(insert, calendars)
    emulator.inject_fault(status=500, count=20, method="freebusy.query")
    run_clinic_pass(services, now=NOW)
    notify()
    [mail] = smtp[0].messages
    body = mail.get_content()
    assert "Earliest eligible date: 2030-01-24" in body
    assert "from 2030-01-24: not known (the calendar's free/busy could not be read)" in body
