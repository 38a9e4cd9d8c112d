"""The daily digest lists the conflicts resolved since the last digest (issue 15; SPEC §8)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sync.bootstrap import Services
from sync.store.notifications import NotifyMode
from sync.usecases.cycle import run_clinic_pass
from tests.clinics import clinic_profile
from tests.notify.conftest import NOW, PATIENT, Inbox, Notify, Receiver, add_admin, add_hook

Json = dict[str, Any]


def _flag_then_resolve(
    services: Services, insert: Callable[..., Json], service: Any, calendars: tuple[str, str]
) -> None:
    smith, room = calendars
    insert(smith, "Microneedling Jane Doe", "2030-01-10T10:00:00+00:00", attendees=PATIENT)
    botox = insert(room, "Botox Jane Doe", "2030-01-17T10:00:00+00:00", attendees=PATIENT)
    run_clinic_pass(services, now=NOW)
    moved = {
        "start": {"dateTime": "2030-01-26T10:00:00+00:00"},
        "end": {"dateTime": "2030-01-26T11:00:00+00:00"},
    }
    service.events().patch(calendarId=room, eventId=botox["id"], body=moved).execute()
    run_clinic_pass(services, now=NOW + timedelta(minutes=1))


def test_a_conflict_resolved_during_the_day_is_in_the_next_digest(
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    service: Any,
    smtp: tuple[Inbox, int],
    notify: Notify,
) -> None:
    inbox, _ = smtp
    clinic_profile(services.engine, time_zone="Europe/London", notify_digest_hour=8)
    add_admin(services.engine, "dee@clinic.example", mode=NotifyMode.DAILY)
    _flag_then_resolve(services, insert, service, calendars)
    notify(NOW + timedelta(minutes=2))
    notify(NOW.replace(day=2, hour=8))
    [digest] = inbox.to("dee@clinic.example")
    body = digest.get_content()
    assert "Daily digest: 2 notifications" in digest["Subject"]
    assert "Conflict flagged: Botox" in body
    assert "Conflict resolved: Botox on Sat 26 Jan 2030, 10:00" in body
    assert "Resolved: moved: the gap is now 16 days (minimum 14)" in body
    assert "Jane" not in body


def test_a_resolution_is_no_alert_of_its_own_by_mail_or_webhook(
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    service: Any,
    smtp: tuple[Inbox, int],
    receiver: Receiver,
    notify: Notify,
) -> None:
    add_admin(services.engine, "ann@clinic.example")
    add_hook(services.engine, receiver.url, "whsec_test")
    _flag_then_resolve(services, insert, service, calendars)
    notify(NOW + timedelta(minutes=2))
    notify(NOW + timedelta(days=2))
    [mail] = smtp[0].to("ann@clinic.example")
    assert "Conflict flagged" in mail["Subject"]
    assert len(receiver.requests) == 1


def test_a_conflict_resolved_before_it_was_flagged_is_not_in_the_digest(
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    service: Any,
    smtp: tuple[Inbox, int],
    notify: Notify,
) -> None:
    add_admin(services.engine, "dee@clinic.example", mode=NotifyMode.DAILY)
    # detected and resolved, never written to the calendar: nobody was told of it
    dry = replace(services, clinic=clinic_profile(services.engine, dry_run=True))
    _flag_then_resolve(dry, insert, service, calendars)
    notify(NOW + timedelta(minutes=2))
    notify(NOW + timedelta(days=2))
    assert smtp[0].to("dee@clinic.example") == []
