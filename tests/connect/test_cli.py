"""``connect``, ``secrets rotate`` and ``doctor`` end to end, against real loopback servers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from sync.cli import app
from sync.emulator import EmulatorServer
from sync.secrets import SecretBox, SecretKeyError, new_key
from sync.store.clinics import get_or_create_clinic, set_clinic_policy
from sync.store.credentials import get_credential
from sync.store.database import make_engine, session_scope
from sync.store.migrate import upgrade
from sync.store.sources import Provider, list_sources
from tests.caldav.conftest import radicale_url
from tests.icsurl.conftest import FeedServer, feed, vevent

__all__ = ["feed", "radicale_url"]

KEY = new_key()


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    url = f"sqlite:///{tmp_path}/clinic.db"
    monkeypatch.setenv("CLINIC_SYNC_DATABASE_URL", url)
    monkeypatch.setenv("CLINIC_SYNC_SECRET_KEY", KEY)
    monkeypatch.setenv("COLUMNS", "200")  # table cells on one line each
    engine = make_engine(url)
    yield engine
    engine.dispose()


def _google_credential(engine: Engine) -> object:
    with session_scope(engine) as session:
        clinic = get_or_create_clinic(session, "default")
        return get_credential(session, clinic.id, Provider.GOOGLE)


def test_service_account_is_stored_encrypted(database: Engine, service_account_file: Path) -> None:
    args = [
        "connect",
        "google",
        "--service-account",
        str(service_account_file),
        "--subject",
        "admin@clinic.example",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "admin@clinic.example" in result.output
    stored = _google_credential(database)
    assert stored is not None
    assert "PRIVATE KEY" in SecretBox([KEY]).decrypt(stored.secret)  # type: ignore[attr-defined]
    assert "PRIVATE KEY" not in stored.secret  # type: ignore[attr-defined]


def test_missing_key_is_one_clear_line(
    database: Engine, service_account_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLINIC_SYNC_SECRET_KEY")
    args = [
        "connect",
        "google",
        "--service-account",
        str(service_account_file),
        "--subject",
        "a@b.c",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "CLINIC_SYNC_SECRET_KEY is not set" in result.output


def test_oauth_needs_client_secrets(database: Engine) -> None:
    result = CliRunner().invoke(app, ["connect", "google", "--no-browser"])
    assert result.exit_code == 2
    assert "--client-secrets" in result.output


def test_rotate_moves_every_secret_to_the_new_key(
    database: Engine, service_account_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = [
        "connect",
        "google",
        "--service-account",
        str(service_account_file),
        "--subject",
        "a@b.c",
    ]
    assert CliRunner().invoke(app, args).exit_code == 0
    fresh = new_key()
    monkeypatch.setenv("CLINIC_SYNC_SECRET_KEY", f"{fresh},{KEY}")
    result = CliRunner().invoke(app, ["secrets", "rotate"])
    assert result.exit_code == 0, result.output
    assert "1 secret(s) re-encrypted" in result.output
    stored = _google_credential(database)
    assert "PRIVATE KEY" in SecretBox([fresh]).decrypt(stored.secret)  # type: ignore[attr-defined]


def test_caldav_account_is_checked_stored_and_its_calendars_connected(
    database: Engine, radicale_url: str
) -> None:
    args = ["connect", "caldav", radicale_url, "--username", "frontdesk", "--password", "pw"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    with session_scope(database) as session:
        clinic = get_or_create_clinic(session, "default")
        stored = get_credential(session, clinic.id, Provider.CALDAV)
    assert stored is not None
    assert (stored.account, stored.endpoint) == ("frontdesk", radicale_url)
    assert SecretBox([KEY]).decrypt(stored.secret) == "pw"


def test_ics_subscription_is_connected_once(database: Engine, feed: FeedServer) -> None:
    feed.serve(vevent("b", "Botox", "20300110T100000Z"), name="Front desk")
    result = CliRunner().invoke(app, ["connect", "ics", feed.url])
    assert result.exit_code == 0, result.output
    assert "Front desk" in result.output
    with session_scope(database) as session:
        (source,) = list_sources(session)
    assert (source.provider, source.external_id) == (Provider.ICS, feed.url)
    again = CliRunner().invoke(app, ["connect", "ics", feed.url])
    assert again.exit_code == 2
    assert "already connected" in again.output


def test_doctor_passes_against_the_emulator(
    database: Engine, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLINIC_SYNC_GOOGLE_AUTH", "none")
    monkeypatch.setenv("CLINIC_SYNC_GOOGLE_API_ENDPOINT", emulator.url)
    assert CliRunner().invoke(app, ["db", "upgrade"]).exit_code == 0
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    assert "✗" not in result.output
    assert result.output.count("✓") == 6


def test_doctor_on_an_empty_database_advises_db_upgrade_only(
    database: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLINIC_SYNC_GOOGLE_API_ENDPOINT", "http://127.0.0.1:9/calendar/v3/")
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 1
    failed = [line for line in result.output.splitlines() if "✗" in line]
    assert len(failed) == 4  # database; the clinic's policy, credentials, Google not checked
    assert all("db upgrade" in line for line in failed)
    assert "connect google" not in result.output
    assert "SECRET_KEY" not in result.output


def test_doctor_sends_a_migrated_clinic_without_a_grant_to_connect_google(
    database: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert CliRunner().invoke(app, ["db", "upgrade"]).exit_code == 0
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "connect google" in result.output


@pytest.mark.parametrize("key", ["too-short", f"{KEY},nope"], ids=["too-short", "good-then-bad"])
def test_doctor_rejects_a_secret_key_the_worker_would_reject(
    key: str, database: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLINIC_SYNC_SECRET_KEY", key)
    with pytest.raises(SecretKeyError):
        SecretBox.from_setting(key)  # what the worker builds
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 1
    row = next(line for line in result.output.splitlines() if "secret key" in line)
    assert "✗" in row
    assert "valid" not in row


def test_doctor_warns_of_a_moved_process_setting_and_still_passes(
    database: Engine,
    emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The variable is ignored now; doctor names the command that stores it in the clinic."""
    monkeypatch.setenv("CLINIC_SYNC_GOOGLE_AUTH", "none")
    monkeypatch.setenv("CLINIC_SYNC_GOOGLE_API_ENDPOINT", emulator.url)
    monkeypatch.setenv("CLINIC_SYNC_FLAG_COLOR", "9")
    monkeypatch.setenv("COLUMNS", "400")
    (tmp_path / ".env").write_text("CLINIC_SYNC_POLICY=my policy.toml\n")
    assert CliRunner().invoke(app, ["db", "upgrade"]).exit_code == 0
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    assert "✗" not in result.output
    assert (
        "CLINIC_SYNC_FLAG_COLOR is now a clinic setting: "
        "`clinic-sync clinics set default flag_color=9`"
    ) in result.output
    assert (
        "CLINIC_SYNC_POLICY is now the clinic's stored policy: "
        "`clinic-sync clinics set default --policy 'my policy.toml'`"
    ) in result.output


def test_doctor_fails_on_the_chosen_clinic_s_stored_policy_that_no_longer_parses(
    database: Engine, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rules package grown stricter than the stored text: named by clinic and version."""
    monkeypatch.setenv("CLINIC_SYNC_GOOGLE_AUTH", "none")
    monkeypatch.setenv("CLINIC_SYNC_GOOGLE_API_ENDPOINT", emulator.url)
    upgrade(database)
    with session_scope(database) as session:
        clinic = get_or_create_clinic(session, "alpha", "Alpha")
        set_clinic_policy(session, clinic.id, "[[treatments]\n", by=None, now=datetime.now(UTC))
    assert CliRunner().invoke(app, ["doctor"]).exit_code == 0  # the default clinic is fine
    result = CliRunner().invoke(app, ["doctor", "--clinic", "alpha"])
    assert result.exit_code == 1
    row = next(line for line in result.output.splitlines() if "policy" in line)
    assert "✗" in row
    assert "clinic alpha policy v1:1:" in row
