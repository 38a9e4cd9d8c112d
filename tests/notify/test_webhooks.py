"""Webhooks: signed, retried with back-off, failed for good on record, kept to their clinic."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from sync.bootstrap import Services, booking_reader
from sync.config import Settings
from sync.errors import InputError
from sync.notify.webhooks import check_url
from sync.store.audit import list_audit_events
from sync.store.database import session_scope
from sync.store.notifications import delivery_counts
from sync.store.tables import NotificationDeliveryRow
from sync.usecases.cycle import run_clinic_pass
from tests.clinics import clinic_profile
from tests.google.conftest import connect
from tests.notify.conftest import NOW, Inbox, Notify, Receiver, add_admin, add_hook
from tests.notify.test_email import book_conflict

Json = dict[str, Any]
SECRET = "whsec_test"


def _verified(headers: dict[str, str], body: bytes, secret: str = SECRET) -> bool:
    signed = headers["x-clinic-sync-timestamp"].encode() + b"." + body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["x-clinic-sync-signature"])


def _audit(engine: Engine, clinic_id: int = 1) -> list[Any]:
    with session_scope(engine) as session:
        return list_audit_events(session, clinic_id)


def test_a_conflict_is_posted_as_signed_json_that_names_no_patient_beyond_the_label(
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    receiver: Receiver,
    notify: Notify,
) -> None:
    add_hook(services.engine, receiver.url, SECRET)
    book_conflict(insert, calendars)
    run_clinic_pass(services, now=NOW)
    notify()
    [(headers, body)] = receiver.requests
    assert _verified(headers, body)
    assert not _verified(headers, body.replace(b"Botox", b"B0tox"))
    document = json.loads(body)
    assert document["type"] == "conflict.flagged"
    assert headers["x-clinic-sync-delivery"] == document["delivery"]
    data = document["data"]
    assert data["patient"] == "J. D."
    assert "Jane" not in body.decode()
    assert data["link"] == f"https://clinic.example/admin/conflicts/{data['conflict']}"
    assert (data["gap_days"], data["earliest"]) == (7, "2030-01-24")
    assert notify(NOW + timedelta(minutes=1)).delivered.sent == 0
    assert len(receiver.requests) == 1


def test_slack_format_is_a_text_field_in_mrkdwn_with_the_link(
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    receiver: Receiver,
    notify: Notify,
) -> None:
    add_hook(services.engine, receiver.url, SECRET, fmt="slack")
    book_conflict(insert, calendars)
    run_clinic_pass(services, now=NOW)
    notify()
    [(headers, body)] = receiver.requests
    assert _verified(headers, body)
    document = json.loads(body)
    assert list(document) == ["text"]
    assert document["text"].startswith("*Conflict flagged: Botox on Thu 17 Jan 2030")
    assert "|Open in clinic-sync>" in document["text"]


def test_a_500_is_retried_with_growing_waits_under_the_same_delivery_id_then_succeeds(
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    receiver: Receiver,
    notify: Notify,
) -> None:
    add_hook(services.engine, receiver.url, SECRET)
    receiver.statuses[:] = [500, 503]
    book_conflict(insert, calendars)
    run_clinic_pass(services, now=NOW)
    assert notify().delivered.retried == 1
    first_due = _due(services.engine)
    assert timedelta(seconds=30) <= first_due - NOW <= timedelta(seconds=60)
    assert notify(first_due - timedelta(seconds=1)).delivered.retried == 0
    assert notify(first_due).delivered.retried == 1
    second_due = _due(services.engine)
    assert timedelta(seconds=60) <= second_due - first_due <= timedelta(seconds=90)
    assert notify(second_due).delivered.sent == 1
    ids = {headers["x-clinic-sync-delivery"] for headers, _ in receiver.requests}
    assert len(receiver.requests) == 3
    assert len(ids) == 1
    [sent] = [e for e in _audit(services.engine) if e.action == "notification.sent"]
    assert (sent.detail["channel"], sent.detail["attempt"]) == ("webhook", 3)


def test_a_delivery_that_keeps_failing_fails_for_good_on_the_audit_trail(
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    receiver: Receiver,
    notify: Notify,
    settings: Settings,
) -> None:
    add_hook(services.engine, receiver.url, SECRET)
    receiver.statuses[:] = [500] * 10
    book_conflict(insert, calendars)
    run_clinic_pass(services, now=NOW)
    tight = settings.model_copy(update={"notify_max_attempts": 2})
    notify(using=tight)
    done = notify(NOW + timedelta(hours=1), using=tight)
    assert done.delivered.failed == 1
    [failed] = [e for e in _audit(services.engine) if e.action == "notification.failed"]
    assert failed.detail["reason"] == "webhook answered 500"
    assert failed.detail["attempt"] == 2
    with session_scope(services.engine) as session:
        assert delivery_counts(session, 1) == {"failed": 1}
    notify(NOW + timedelta(days=1), using=tight)
    assert len(receiver.requests) == 2


def test_a_worker_killed_between_send_and_settle_resends_under_the_same_identity(
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    receiver: Receiver,
    smtp: tuple[Inbox, int],
    notify: Notify,
) -> None:
    inbox, _ = smtp
    add_admin(services.engine, "ann@clinic.example")
    add_hook(services.engine, receiver.url, SECRET)
    book_conflict(insert, calendars)
    run_clinic_pass(services, now=NOW)

    class Killed(BaseException):
        """The process dies: nothing after the send runs, not even ``except Exception``."""

    class DiesAfterSending:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def send(self, message: Any, *, now: Any) -> None:
            self.inner.send(message, now=now)
            raise Killed

    def dying(channels: dict[str, Any]) -> dict[str, Any]:
        return {name: DiesAfterSending(channel) for name, channel in channels.items()}

    with pytest.raises(Killed):
        notify(wrap=dying, owner="worker-a")
    assert len(inbox.messages) + len(receiver.requests) == 1
    # Both were leased by the dead worker: nothing moves until its lease runs out.
    assert notify(NOW + timedelta(minutes=1), owner="worker-b").delivered.sent == 0
    assert notify(NOW + timedelta(minutes=6), owner="worker-b").delivered.sent == 2
    assert len(inbox.messages) + len(receiver.requests) == 3
    if len(inbox.messages) == 2:
        first, again = inbox.messages
        assert first["Message-ID"] == again["Message-ID"]
    else:
        ids = {headers["x-clinic-sync-delivery"] for headers, _ in receiver.requests}
        assert len(receiver.requests) == 2
        assert len(ids) == 1
    sent = [e for e in _audit(services.engine) if e.action == "notification.sent"]
    assert len(sent) == 2


def test_a_clinics_webhook_and_admins_never_hear_of_another_clinics_conflicts(
    services: Services,
    new_calendar: Callable[..., str],
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    receiver: Receiver,
    smtp: tuple[Inbox, int],
    notify: Notify,
) -> None:
    inbox, _ = smtp
    other = clinic_profile(services.engine, "north", name="North Clinic")
    north = new_calendar("North room"), new_calendar("North chair")
    for calendar in north:
        connect(services.engine, calendar, clinic="north")
    add_admin(services.engine, "ann@clinic.example")
    add_hook(services.engine, receiver.url, SECRET)
    add_admin(services.engine, "nia@north.example", clinic_id=other.id)
    add_hook(services.engine, receiver.url + "/north", "whsec_north", clinic_id=other.id)
    book_conflict(insert, north)
    run_clinic_pass(replace(services, clinic=other, reader=booking_reader(other)), now=NOW)
    notify()
    assert inbox.to("ann@clinic.example") == []
    [mail] = inbox.to("nia@north.example")
    assert "[North Clinic]" in mail["Subject"]
    [(headers, body)] = receiver.requests
    assert _verified(headers, body, "whsec_north")
    assert json.loads(body)["data"]["clinic"] == "North Clinic"
    assert _audit(services.engine, 1) == []


def test_a_run_for_one_clinic_tells_nothing_of_another(
    services: Services,
    new_calendar: Callable[..., str],
    insert: Callable[..., Json],
    smtp: tuple[Inbox, int],
    notify: Notify,
) -> None:
    """A worker started with ``--clinic`` notifies for that clinic only, as it polls."""
    inbox, _ = smtp
    other = clinic_profile(services.engine, "north", name="North Clinic")
    north = new_calendar("North room"), new_calendar("North chair")
    for calendar in north:
        connect(services.engine, calendar, clinic="north")
    add_admin(services.engine, "nia@north.example", clinic_id=other.id)
    book_conflict(insert, north)
    run_clinic_pass(replace(services, clinic=other, reader=booking_reader(other)), now=NOW)
    notify(clinic_id=services.clinic.id)
    assert inbox.to("nia@north.example") == []
    notify(clinic_id=other.id)
    assert len(inbox.to("nia@north.example")) == 1


def test_webhook_urls_must_be_https_and_public_unless_allowed(settings: Settings) -> None:
    strict = settings.model_copy(update={"notify_allow_http": False, "notify_allow_private": False})
    with pytest.raises(InputError, match="https"):
        check_url("http://hooks.example.com/x", strict)
    for private in ("https://127.0.0.1/x", "https://10.1.2.3/x", "https://169.254.169.254/x"):
        with pytest.raises(InputError, match="non-public"):
            check_url(private, strict)
    assert check_url("https://93.184.215.14/hook", strict) == "https://93.184.215.14/hook"
    assert check_url("http://127.0.0.1:9/x", settings) == "http://127.0.0.1:9/x"


def _due(engine: Engine) -> Any:
    with session_scope(engine) as session:
        [row] = session.execute(select(NotificationDeliveryRow)).scalars()
        return row.due_at
