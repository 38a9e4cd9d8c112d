"""The calendar commands end to end: CliRunner, settings from the environment, the emulator."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sync.cli import app
from sync.emulator import EmulatorServer
from sync.secrets import new_key
from tests.google.conftest import UNSTORABLE_REASON, seed_unstorable

Insert = Callable[..., dict[str, Any]]


@pytest.fixture
def cli(emulator: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    env = {
        "CLINIC_SYNC_DATABASE_URL": f"sqlite:///{tmp_path}/clinic.db",
        "CLINIC_SYNC_GOOGLE_API_ENDPOINT": emulator.url,
        "CLINIC_SYNC_GOOGLE_AUTH": "none",
        "CLINIC_SYNC_GOOGLE_RETRY_ATTEMPTS": "1",
        "CLINIC_SYNC_CLINIC": "harley-street",
        "COLUMNS": "300",  # Rich tables keep whole ids on one line
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return CliRunner()


def test_discover_list_sync_and_remove(
    cli: CliRunner, new_calendar: Callable[..., str], insert: Insert
) -> None:
    calendar_id = new_calendar("Dr Smith")
    insert(calendar_id, "Botox Jane Doe", "2026-12-01T10:00:00+00:00")

    discovered = cli.invoke(app, ["calendars", "discover"])
    assert discovered.exit_code == 0
    assert discovered.output.startswith("1 calendar(s) added, 0 already connected; left out")
    again = cli.invoke(app, ["calendars", "discover"]).output
    assert again.startswith("0 calendar(s) added, 1 already connected")

    listed = cli.invoke(app, ["calendars", "list"])
    assert calendar_id in listed.output
    assert "Europe/London" in listed.output

    synced = cli.invoke(app, ["sync", "--once"])
    assert synced.exit_code == 0, synced.output
    assert "Dr Smith" in synced.output
    assert "full" in synced.output

    removed = cli.invoke(app, ["calendars", "remove", calendar_id])
    assert removed.exit_code == 0
    assert calendar_id not in cli.invoke(app, ["calendars", "list"]).output


def test_discover_adds_the_owners_primary_calendar_only_when_asked(
    cli: CliRunner, new_calendar: Callable[..., str]
) -> None:
    new_calendar("Room 2")
    first = cli.invoke(app, ["calendars", "discover"])
    primary = first.output.split("left out the primary calendar ")[1].split()[0]
    assert primary not in cli.invoke(app, ["calendars", "list"]).output
    asked = cli.invoke(app, ["calendars", "discover", "--include-primary"])
    assert asked.output.strip() == "1 calendar(s) added, 1 already connected"
    assert primary in cli.invoke(app, ["calendars", "list"]).output


def test_add_checks_the_calendar_with_google(
    cli: CliRunner, new_calendar: Callable[..., str]
) -> None:
    calendar_id = new_calendar("Room 1", "Europe/Paris")
    added = cli.invoke(app, ["calendars", "add", calendar_id])
    assert (added.exit_code, added.output.strip()) == (
        0,
        f"added Room 1 ({calendar_id}, Europe/Paris)",
    )
    again = cli.invoke(app, ["calendars", "add", calendar_id])
    assert again.exit_code == 2
    assert "already connected" in again.output

    unknown = cli.invoke(app, ["calendars", "add", "nobody@clinic.example"])
    assert unknown.exit_code == 2
    assert "HTTP 404" in unknown.output
    assert "Traceback" not in unknown.output


def test_sync_exits_non_zero_only_when_every_calendar_failed(
    cli: CliRunner, new_calendar: Callable[..., str], emulator: EmulatorServer
) -> None:
    cli.invoke(app, ["calendars", "add", new_calendar("Dr A")])
    cli.invoke(app, ["calendars", "add", new_calendar("Dr B")])
    emulator.inject_fault(status=500, count=1, method="events.list")
    partly = cli.invoke(app, ["sync", "--once"])
    assert partly.exit_code == 0
    assert "HTTP 500" in partly.output

    emulator.inject_fault(status=500, count=2, method="events.list")
    failed = cli.invoke(app, ["sync", "--once"])
    assert failed.exit_code == 1
    listed = cli.invoke(app, ["calendars", "list"])
    assert "HTTP 500" in listed.output


def test_commands_end_in_one_line_on_bad_setup(cli: CliRunner, monkeypatch: Any) -> None:
    assert "calendars discover" in cli.invoke(app, ["sync", "--once"]).output
    cli.invoke(app, ["calendars", "list"])  # creates the clinic
    assert "has no calendars" in cli.invoke(app, ["sync", "--once"]).output
    assert cli.invoke(app, ["sync"]).exit_code == 2
    assert "is not connected" in cli.invoke(app, ["calendars", "remove", "x@y"]).output
    monkeypatch.setenv("CLINIC_SYNC_GOOGLE_AUTH", "oauth")
    # No credentials file: the clinic's stored grant is used, which needs the key to open
    # and must have been stored by `connect google`.
    result = cli.invoke(app, ["calendars", "discover"])
    assert result.exit_code == 2
    assert "CLINIC_SYNC_SECRET_KEY is not set" in result.output
    monkeypatch.setenv("CLINIC_SYNC_SECRET_KEY", new_key())
    result = cli.invoke(app, ["calendars", "discover"])
    assert result.exit_code == 2
    assert "connect google" in result.output


def test_emulator_command_reports_a_bad_seed(cli: CliRunner, tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text("{not json", encoding="utf-8")
    result = cli.invoke(app, ["emulator", "--port", "0", "--seed", str(seed)])
    assert result.exit_code == 2
    assert "seed.json" in result.output


def test_an_event_that_cannot_be_stored_is_listed_as_quarantined(
    cli: CliRunner, new_calendar: Callable[..., str], insert: Insert, emulator: EmulatorServer
) -> None:
    calendar_id = new_calendar("Dr Smith")
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(days=5)  # the CLI reads the clock
    insert(calendar_id, "Botox Jane Doe", soon.isoformat())
    held = seed_unstorable(emulator, calendar_id, soon)
    cli.invoke(app, ["calendars", "add", calendar_id])
    synced = cli.invoke(app, ["sync", "--once"])
    assert synced.exit_code == 0, synced.output
    listed = cli.invoke(app, ["calendars", "list"]).output
    assert "Quarantined events" in listed
    assert held["id"] in listed
    assert UNSTORABLE_REASON in listed


def test_a_hostile_calendar_name_is_stored_clean_and_listed_literally(
    cli: CliRunner, new_calendar: Callable[..., str]
) -> None:
    """Calendar names are provider text: cleaned when connected, never read as Rich markup."""
    new_calendar("[bold]Dr\x00 Smith[/bold]")
    assert cli.invoke(app, ["calendars", "discover"]).exit_code == 0
    listed = cli.invoke(app, ["calendars", "list"]).output
    assert "[bold]Dr Smith[/bold]" in listed
