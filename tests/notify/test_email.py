"""A flagged conflict reaches the clinic's admins by e-mail: read back from a real SMTP server."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from sync.bootstrap import Services
from sync.store.audit import list_audit_events
from sync.store.database import session_scope
from sync.store.notifications import NotifyMode, delivery_counts
from sync.usecases.cycle import run_clinic_pass
from tests.clinics import clinic_profile
from tests.notify.conftest import NOW, PATIENT, Inbox, Notify, add_admin

Json = dict[str, Any]


def book_conflict(
    insert: Callable[..., Json], calendars: tuple[str, str], botox_day: str = "2030-01-17"
) -> None:
    """Microneedling on the 10th, Botox for the same patient a week later: a conflict."""
    smith, room = calendars
    insert(smith, "Microneedling Jane Doe", "2030-01-10T10:00:00+00:00", attendees=PATIENT)
    insert(room, "Botox Jane Doe", f"{botox_day}T10:00:00+00:00", attendees=PATIENT)


def test_a_flagged_conflict_is_mailed_to_each_admin_once_without_the_patient_in_the_subject(
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    smtp: tuple[Inbox, int],
    notify: Notify,
) -> None:
    inbox, _ = smtp
    add_admin(services.engine, "ann@clinic.example")
    add_admin(services.engine, "bob@clinic.example")
    book_conflict(insert, calendars)
    run_clinic_pass(services, now=NOW)
    done = notify()
    assert (done.planned, done.delivered.sent) == (2, 2)
    [mail] = inbox.to("ann@clinic.example")
    assert len(inbox.to("bob@clinic.example")) == 1
    subject = mail["Subject"]
    assert "Jane" not in subject
    assert "Doe" not in subject
    assert "Botox" in subject
    assert "17 Jan 2030" in subject
    body = mail.get_content()
    assert "Patient: J. D." in body
    assert "Jane" not in body
    assert "Gap: 7 days" in body
    assert "Earliest eligible date: 2030-01-24" in body
    public_id = _conflict_id(services.engine)
    assert f"https://clinic.example/admin/conflicts/{public_id}" in body
    assert mail["Message-ID"].endswith("@clinic.example>")
    assert notify(NOW + timedelta(minutes=5)).delivered.sent == 0
    assert len(inbox.messages) == 2
    sent = [e for e in _audit(services.engine) if e.action == "notification.sent"]
    assert sorted(e.detail["recipient"] for e in sent) == [
        "ann@clinic.example",
        "bob@clinic.example",
    ]
    assert all(e.detail["attempt"] == 1 and e.detail["conflict"] == public_id for e in sent)


@pytest.mark.parametrize(
    ("label", "shown"), [("full", "Patient: Jane Doe"), ("initials", "Patient: J. D.")]
)
def test_the_body_names_the_patient_as_the_clinic_label_says(
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    smtp: tuple[Inbox, int],
    notify: Notify,
    label: str,
    shown: str,
) -> None:
    clinic_profile(services.engine, feed_patient_label=label)
    add_admin(services.engine, "ann@clinic.example")
    book_conflict(insert, calendars)
    run_clinic_pass(services, now=NOW)
    notify()
    [mail] = smtp[0].messages
    assert shown in mail.get_content()
    assert "Jane" not in mail["Subject"]


def test_the_id_label_shows_neither_name_nor_address(
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    smtp: tuple[Inbox, int],
    notify: Notify,
) -> None:
    clinic_profile(services.engine, feed_patient_label="id")
    add_admin(services.engine, "ann@clinic.example")
    book_conflict(insert, calendars)
    run_clinic_pass(services, now=NOW)
    notify()
    body = smtp[0].messages[0].get_content()
    assert "Patient: #" in body
    assert "Jane" not in body
    assert "jane.doe@example.com" not in body


def test_a_conflict_on_a_booking_already_begun_is_not_mailed(
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    smtp: tuple[Inbox, int],
    notify: Notify,
) -> None:
    add_admin(services.engine, "ann@clinic.example")
    book_conflict(insert, calendars)
    run_clinic_pass(services, now=NOW)
    assert notify(NOW + timedelta(days=30)).planned == 0
    assert smtp[0].messages == []


def test_daily_digest_waits_for_the_clinic_hour_and_lists_the_day_in_one_message(
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    smtp: tuple[Inbox, int],
    notify: Notify,
) -> None:
    inbox, _ = smtp
    clinic_profile(services.engine, time_zone="Europe/London", notify_digest_hour=8)
    add_admin(services.engine, "ann@clinic.example")
    add_admin(services.engine, "dee@clinic.example", mode=NotifyMode.DAILY)
    add_admin(services.engine, "off@clinic.example", mode=NotifyMode.OFF)
    smith, room = calendars
    insert(smith, "Microneedling Jane Doe", "2030-01-10T10:00:00+00:00", attendees=PATIENT)
    insert(room, "Botox Jane Doe", "2030-01-17T10:00:00+00:00", attendees=PATIENT)
    other = [{"email": "kim.lee@example.com"}]
    insert(smith, "Microneedling Kim Lee", "2030-01-12T10:00:00+00:00", attendees=other)
    insert(room, "Botox Kim Lee", "2030-01-15T10:00:00+00:00", attendees=other)
    run_clinic_pass(services, now=NOW)
    notify()
    assert len(inbox.to("ann@clinic.example")) == 2
    assert inbox.to("dee@clinic.example") == []
    assert inbox.to("off@clinic.example") == []
    notify(NOW.replace(day=2, hour=7, minute=59))
    assert inbox.to("dee@clinic.example") == []
    notify(NOW.replace(day=2, hour=8))
    [digest] = inbox.to("dee@clinic.example")
    assert "Daily digest: 2 notifications" in digest["Subject"]
    assert digest.get_content().count("/admin/conflicts/") == 2
    notify(NOW.replace(day=3, hour=8))
    assert len(inbox.to("dee@clinic.example")) == 1


def test_the_practitioner_is_told_only_when_the_clinic_turns_it_on(
    services: Services,
    emulator: Any,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    smtp: tuple[Inbox, int],
    notify: Notify,
) -> None:
    from tests.google.conftest import connect

    inbox, _ = smtp
    ana = "ana.jones@clinic.example"
    emulator.store.insert_calendar({"summary": "Dr Ana Jones", "timeZone": "UTC"}, ana)
    connect(services.engine, ana)
    add_admin(services.engine, "ann@clinic.example")
    insert(calendars[0], "Microneedling Jane Doe", "2030-01-10T10:00:00+00:00", attendees=PATIENT)
    insert(ana, "Botox Jane Doe", "2030-01-17T10:00:00+00:00", attendees=PATIENT)
    other = [{"email": "kim.lee@example.com"}]
    run_clinic_pass(services, now=NOW)
    notify()
    assert inbox.to(ana) == []
    clinic_profile(services.engine, notify_practitioners=True)
    insert(calendars[0], "Microneedling Kim Lee", "2030-01-12T10:00:00+00:00", attendees=other)
    insert(ana, "Botox Kim Lee", "2030-01-15T10:00:00+00:00", attendees=other)
    run_clinic_pass(services, now=NOW)
    notify()
    [mail] = inbox.to(ana)
    assert "15 Jan 2030" in mail["Subject"]
    assert len(inbox.to("ann@clinic.example")) == 2
    # A room's calendar belongs to nobody: its conflicts reach the admins alone.
    insert(calendars[1], "Botox Jane Doe", "2030-01-18T10:00:00+00:00", attendees=PATIENT)
    run_clinic_pass(services, now=NOW)
    notify()
    assert len(inbox.to(ana)) == 1


def _conflict_id(engine: Engine) -> str:
    from sync.store.conflicts import list_conflicts

    with session_scope(engine) as session:
        [conflict] = list_conflicts(session, 1)
    return conflict.facts.public_id


def _audit(engine: Engine) -> list[Any]:
    with session_scope(engine) as session:
        return list_audit_events(session, 1)


def _counts(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as session:
        return delivery_counts(session, 1)


def test_two_notifiers_at_once_plan_and_send_each_message_once(
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    smtp: tuple[Inbox, int],
    notify: Notify,
) -> None:
    import threading

    for n in range(4):
        add_admin(services.engine, f"admin{n}@clinic.example")
    book_conflict(insert, calendars)
    run_clinic_pass(services, now=NOW)
    start, errors = threading.Barrier(2), []

    def run(owner: str) -> None:
        start.wait()
        try:
            notify(owner=owner)
        except Exception as err:
            errors.append(err)

    threads = [threading.Thread(target=run, args=(f"worker-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(r[0] for r in smtp[0].recipients) == [
        f"admin{n}@clinic.example" for n in range(4)
    ]
    assert _counts(services.engine) == {"sent": 4}


def test_a_mailbox_the_server_refuses_fails_for_good_at_once_and_the_others_still_go(
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    smtp: tuple[Inbox, int],
    notify: Notify,
) -> None:
    add_admin(services.engine, "ann@clinic.example")
    add_admin(services.engine, "gone@clinic.example")
    book_conflict(insert, calendars)
    run_clinic_pass(services, now=NOW)
    done = notify()
    assert (done.delivered.sent, done.delivered.failed) == (1, 1)
    [failed] = [e for e in _audit(services.engine) if e.action == "notification.failed"]
    assert failed.detail["recipient"] == "gone@clinic.example"
    assert failed.detail["reason"].startswith("SMTP 550")
    assert _counts(services.engine) == {"sent": 1, "failed": 1}


def test_messages_left_when_half_the_lease_is_spent_are_handed_back_not_sent_late(
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    smtp: tuple[Inbox, int],
    settings: Any,
) -> None:
    import time

    from sync.clinics.profile import load_profile
    from sync.notify.delivery import Backoff, deliver_due
    from sync.notify.mail import EmailChannel
    from sync.notify.planning import plan_clinic
    from sync.store.clinics import clinic_by_id

    for n in range(3):
        add_admin(services.engine, f"admin{n}@clinic.example")
    book_conflict(insert, calendars)
    run_clinic_pass(services, now=NOW)
    with session_scope(services.engine) as session:
        profile = load_profile(session, clinic_by_id(session, 1))
        plan_clinic(session, profile, public_url="https://x", email=True, now=NOW, limit=100)

    class Slow:
        def __init__(self) -> None:
            self.inner = EmailChannel(settings)

        def send(self, message: Any, *, now: Any) -> None:
            self.inner.send(message, now=now)
            time.sleep(0.35)

    lease = timedelta(seconds=0.6)
    done = deliver_due(
        services.engine, {"email": Slow()}, owner="a", now=NOW, backoff=Backoff(), lease=lease
    )
    assert done.sent == 1
    assert _counts(services.engine) == {"sent": 1, "pending": 2}
    again = deliver_due(
        services.engine, {"email": Slow()}, owner="b", now=NOW, backoff=Backoff(), lease=lease
    )
    assert again.sent == 1  # taken at once by another notifier: not leased any more
    assert len(smtp[0].messages) == 2


def test_the_initials_tag_label_names_the_patient_as_the_clinics_feeds_do(
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    smtp: tuple[Inbox, int],
    notify: Notify,
) -> None:
    """Initials and the clinic's keyed tag, not the bare id shown when there is no key."""
    clinic_profile(services.engine, feed_patient_label="initials-tag")
    add_admin(services.engine, "ann@clinic.example")
    book_conflict(insert, calendars)
    run_clinic_pass(services, now=NOW)
    notify()
    body = smtp[0].messages[0].get_content()
    assert re.search(r"Patient: J\. D\. ·[0-9A-Za-z]{4}\b", body), body
    assert "Jane" not in body
