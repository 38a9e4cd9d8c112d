"""Calendar trouble is told once per spell: a calendar failing to sync, a grant to reconnect."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine
from typer.testing import CliRunner

from sync.cli import app
from sync.store.credentials import CredentialKind, mark_reconnect_required, save_credential
from sync.store.database import make_engine, session_scope
from sync.store.migrate import upgrade
from sync.store.sources import Provider, record_poll_failure, record_poll_success
from tests.google.conftest import connect
from tests.notify.conftest import KEY, NOW, Inbox, Notify, Receiver, add_admin


def _fail(engine: Engine, source_id: int, at: object) -> None:
    with session_scope(engine) as session:
        record_poll_failure(
            session, source_id, "HTTP 503: backend error\nretry later", now=at, next_poll_at=at
        )  # type: ignore[arg-type]


def test_a_calendar_failing_past_the_threshold_is_told_once_per_spell(
    engine: Engine, smtp: tuple[Inbox, int], notify: Notify
) -> None:
    inbox, _ = smtp
    source = connect(engine, "room@group.calendar.google.com")
    add_admin(engine, "ann@clinic.example")
    _fail(engine, source.id, NOW + timedelta(minutes=10))
    assert notify(NOW + timedelta(minutes=30)).episodes == 0  # connected at NOW: 30 min < 60
    _fail(engine, source.id, NOW + timedelta(minutes=65))
    assert notify(NOW + timedelta(minutes=66)).episodes == 1
    [mail] = inbox.messages
    assert mail["Subject"] == "[default] Calendar not syncing: room@group.calendar.google.com"
    body = mail.get_content()
    assert "Last error: HTTP 503: backend error" in body
    assert "retry later" not in body
    assert "https://clinic.example/admin/health" in body
    _fail(engine, source.id, NOW + timedelta(minutes=90))
    assert notify(NOW + timedelta(minutes=95)).episodes == 0
    assert len(inbox.messages) == 1
    with session_scope(engine) as session:  # it recovers, then fails again: a new spell
        later = NOW + timedelta(hours=3)
        record_poll_success(session, source.id, now=later, next_poll_at=later)
    _fail(engine, source.id, NOW + timedelta(hours=4))
    assert notify(NOW + timedelta(hours=4, minutes=5)).episodes == 1
    assert len(inbox.messages) == 2


def test_a_grant_needing_reconnection_is_told_once(
    engine: Engine, smtp: tuple[Inbox, int], notify: Notify
) -> None:
    inbox, _ = smtp
    connect(engine, "room@group.calendar.google.com")
    add_admin(engine, "ann@clinic.example")
    with session_scope(engine) as session:
        save_credential(
            session,
            1,
            Provider.GOOGLE,
            CredentialKind.OAUTH,
            account="front@clinic.example",
            secret="x",
            now=NOW,
        )
        mark_reconnect_required(session, 1, Provider.GOOGLE, "invalid_grant: revoked", now=NOW)
    assert notify().episodes == 1
    assert notify(NOW + timedelta(minutes=1)).episodes == 0
    [mail] = inbox.messages
    assert "Reconnect Google" in mail["Subject"]
    assert "invalid_grant: revoked" in mail.get_content()


def test_notify_cli_sets_a_preference_refuses_a_plain_http_webhook_and_sends_a_test(
    tmp_path: Path, smtp: tuple[Inbox, int], receiver: Receiver
) -> None:
    """The CLI reaches the database by its URL alone: a SQLite file of its own."""
    inbox, port = smtp
    engine = make_engine(f"sqlite:///{tmp_path}/cli.db")
    upgrade(engine)
    connect(engine, "room@group.calendar.google.com")
    add_admin(engine, "ann@clinic.example")
    env = {
        "CLINIC_SYNC_DATABASE_URL": str(engine.url),
        "CLINIC_SYNC_SMTP_HOST": "127.0.0.1",
        "CLINIC_SYNC_SMTP_PORT": str(port),
        "CLINIC_SYNC_SMTP_SECURITY": "none",
        "CLINIC_SYNC_SECRET_KEY": KEY,
    }
    runner = CliRunner()
    done = runner.invoke(app, ["notify", "preferences", "ann@clinic.example", "daily"], env=env)
    assert done.exit_code == 0, done.output
    missing = runner.invoke(app, ["notify", "preferences", "zed@x.example", "off"], env=env)
    assert missing.exit_code == 2
    assert "no admin" in missing.output
    refused = runner.invoke(app, ["notify", "webhooks", "add", "http://127.0.0.1/x"], env=env)
    assert refused.exit_code == 2
    assert "https" in refused.output
    tested = runner.invoke(app, ["notify", "test"], env=env)
    assert tested.exit_code == 0, tested.output
    assert "email ann@clinic.example: sent" in tested.output
    [mail] = inbox.messages
    assert mail["Subject"] == "[default] Test notification"
    ran = runner.invoke(app, ["notify", "run", "--once"], env=env)
    assert ran.exit_code == 0
    assert "0 planned" in ran.output
    engine.dispose()
