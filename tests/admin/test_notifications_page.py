"""The notifications page over HTTP: one's own e-mail choice, the clinic's webhooks (SPEC §8)."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import select

from sync.config import Settings
from sync.emulator import EmulatorServer
from sync.store.audit import list_audit_events
from sync.store.database import session_scope
from sync.store.notifications import NotifyMode, clinic_admins, list_webhooks
from sync.store.tables import NotificationWebhookRow
from tests.admin.conftest import ADMIN, AUDITOR, Accounts, csrf_of, sign_in
from tests.notify.conftest import KEY, Receiver, receiver

__all__ = ["receiver"]


@pytest.fixture
def settings(engine: Engine, emulator: EmulatorServer) -> Settings:
    """The admin app's settings with a secret key and loopback webhooks allowed."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=str(engine.url),
        google_api_endpoint=emulator.url,
        google_auth="none",
        public_url="http://clinic.example",
        secret_key=KEY,
        notify_allow_http=True,
        notify_allow_private=True,
    )


@pytest.fixture
def admin(web: httpx.Client, accounts: Accounts) -> httpx.Client:
    assert sign_in(web, ADMIN).status_code == 303
    return web


def _csrf(web: httpx.Client) -> str:
    return csrf_of(web.get("/admin/notifications").text)


def _mode(engine: Engine, email: str) -> NotifyMode:
    with session_scope(engine) as session:
        [member] = [m for m in clinic_admins(session, 1) if m.email == email]
    return member.mode


def test_an_admin_chooses_a_daily_digest_and_the_page_shows_the_choice(
    admin: httpx.Client, engine: Engine
) -> None:
    page = admin.get("/admin/notifications")
    assert page.status_code == 200
    assert 'value="immediate" checked' in page.text  # nothing chosen yet: at once
    answer = admin.post(
        "/admin/notifications/preference", data={"csrf_token": _csrf(admin), "mode": "daily"}
    )
    assert answer.status_code == 200
    assert 'value="daily" checked' in answer.text
    assert _mode(engine, ADMIN) is NotifyMode.DAILY
    with session_scope(engine) as session:
        [event] = [e for e in list_audit_events(session, 1) if e.action.startswith("notification.")]
    assert (event.actor, event.detail) == (ADMIN, {"mode": "daily"})


def test_an_unknown_choice_is_refused_and_changes_nothing(
    admin: httpx.Client, engine: Engine
) -> None:
    data = {"csrf_token": _csrf(admin), "mode": "hourly"}
    assert admin.post("/admin/notifications/preference", data=data).status_code == 422
    assert _mode(engine, ADMIN) is NotifyMode.IMMEDIATE


def test_a_choice_without_the_csrf_token_is_refused(admin: httpx.Client, engine: Engine) -> None:
    assert admin.post("/admin/notifications/preference", data={"mode": "off"}).status_code == 403
    assert _mode(engine, ADMIN) is NotifyMode.IMMEDIATE


def test_an_auditor_has_nothing_to_choose_and_cannot_add_a_webhook(
    web: httpx.Client, accounts: Accounts, engine: Engine
) -> None:
    sign_in(web, AUDITOR)
    page = web.get("/admin/notifications")
    assert page.status_code == 200
    assert "auditors are not e-mailed" in page.text
    assert "Add webhook" not in page.text
    data = {"csrf_token": csrf_of(page.text), "url": "https://hooks.example/x"}
    assert web.post("/admin/notifications/webhooks", data=data).status_code == 403
    with session_scope(engine) as session:
        assert list_webhooks(session, 1) == []


def test_a_new_webhooks_secret_is_shown_once_and_stored_sealed(
    admin: httpx.Client, engine: Engine
) -> None:
    data = {"csrf_token": _csrf(admin), "url": "https://hooks.example/in", "format": "slack"}
    answer = admin.post("/admin/notifications/webhooks", data=data)
    assert answer.status_code == 200
    [secret] = [
        line.split('value="')[1].split('"')[0]
        for line in answer.text.splitlines()
        if 'id="issued-secret"' in line
    ]
    assert secret.startswith("whsec_")
    later = admin.get("/admin/notifications").text
    assert secret not in later
    assert "https://hooks.example/in" in later
    with session_scope(engine) as session:
        [row] = session.exec(select(NotificationWebhookRow)).all()
        actions = [e.action for e in list_audit_events(session, 1)]
    assert (row.format, row.clinic_id) == ("slack", 1)
    assert secret not in row.secret
    assert "webhook.added" in actions


@pytest.mark.parametrize(
    ("url", "fmt", "why"),
    [
        ("ftp://hooks.example/in", "json", "a webhook URL must be"),
        ("https://hooks.example/in", "xml", "the format is one of json, slack"),
    ],
)
def test_a_webhook_that_cannot_be_used_is_refused_with_why(
    admin: httpx.Client, engine: Engine, url: str, fmt: str, why: str
) -> None:
    data = {"csrf_token": _csrf(admin), "url": url, "format": fmt}
    answer = admin.post("/admin/notifications/webhooks", data=data)
    assert answer.status_code == 422
    assert why in answer.text
    with session_scope(engine) as session:
        assert list_webhooks(session, 1) == []


def test_a_test_send_reaches_the_receiver_signed_with_the_secret_shown(
    admin: httpx.Client, receiver: Receiver
) -> None:
    data = {"csrf_token": _csrf(admin), "url": receiver.url, "format": "json"}
    page = admin.post("/admin/notifications/webhooks", data=data).text
    secret = page.split('id="issued-secret" readonly value="')[1].split('"')[0]
    answer = admin.post("/admin/notifications/webhooks/1/test", data={"csrf_token": _csrf(admin)})
    assert "Test sent to webhook 1." in answer.text
    [(headers, body)] = receiver.requests
    signed = headers["x-clinic-sync-timestamp"].encode() + b"." + body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, headers["x-clinic-sync-signature"])
    assert json.loads(body)["type"] == "test"


def test_a_deleted_webhook_is_gone_and_its_deletion_on_record(
    admin: httpx.Client, engine: Engine
) -> None:
    data = {"csrf_token": _csrf(admin), "url": "https://hooks.example/in", "format": "json"}
    admin.post("/admin/notifications/webhooks", data=data)
    answer = admin.post("/admin/notifications/webhooks/1/delete", data={"csrf_token": _csrf(admin)})
    assert "Webhook 1 is deleted." in answer.text
    again = admin.post("/admin/notifications/webhooks/1/delete", data={"csrf_token": _csrf(admin)})
    assert again.status_code == 404
    with session_scope(engine) as session:
        assert list_webhooks(session, 1) == []
        assert "webhook.removed" in [e.action for e in list_audit_events(session, 1)]
