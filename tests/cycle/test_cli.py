"""``sync --once``, ``conflicts list`` and ``audit-log`` end to end (SPEC §6, §8).

CliRunner with settings from the environment, the emulator over loopback and a SQLite file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rules.flag import FLAG_BEGIN
from sync.cli import app
from sync.emulator import EmulatorServer
from sync.store.database import make_engine, session_scope
from sync.store.review import find_conflict, override
from tests.cycle.conftest import PATIENT

Json = dict[str, Any]
HOSTILE = '=HYPERLINK("x") [red]Botox[/red] Jane Doe \x1b[2J'


@pytest.fixture
def cli(emulator: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    env = {
        "CLINIC_SYNC_DATABASE_URL": f"sqlite:///{tmp_path}/clinic.db",
        "CLINIC_SYNC_GOOGLE_API_ENDPOINT": emulator.url,
        "CLINIC_SYNC_GOOGLE_AUTH": "none",
        "CLINIC_SYNC_GOOGLE_RETRY_ATTEMPTS": "1",
        "CLINIC_SYNC_PUBLIC_URL": "https://clinic.example/",
        "COLUMNS": "300",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return CliRunner()


def _day(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT10:00:00+00:00")


def _setup(cli: CliRunner, new_calendar: Callable[..., str], insert: Callable[..., Json]) -> Json:
    smith, room = new_calendar("Dr Smith"), new_calendar("Room 2")
    insert(smith, "Microneedling Jane Doe", _day(10), attendees=PATIENT)
    botox = insert(room, HOSTILE, _day(17), attendees=PATIENT)
    assert cli.invoke(app, ["calendars", "discover"]).exit_code == 0
    return {"room": room, **botox}


def test_sync_once_flags_and_the_second_run_writes_nothing(
    cli: CliRunner,
    new_calendar: Callable[..., str],
    insert: Callable[..., Json],
    service: Any,
    emulator: EmulatorServer,
) -> None:
    botox = _setup(cli, new_calendar, insert)
    first = cli.invoke(app, ["sync", "--once"])
    assert first.exit_code == 0, first.output
    event = service.events().get(calendarId=botox["room"], eventId=botox["id"]).execute()
    assert FLAG_BEGIN in event["description"]
    assert "https://clinic.example/admin/conflicts/c" in event["description"]
    assert event["colorId"] == "11"
    emulator.reset_stats()
    assert cli.invoke(app, ["sync", "--once"]).exit_code == 0
    assert emulator.stats().get("events.patch", 0) == 0


def test_conflicts_list_in_every_format_shows_titles_literally(
    cli: CliRunner, new_calendar: Callable[..., str], insert: Callable[..., Json]
) -> None:
    _setup(cli, new_calendar, insert)
    cli.invoke(app, ["sync", "--once"])
    [item] = json.loads(cli.invoke(app, ["conflicts", "list", "--format", "json"]).output)
    # The ingest boundary dropped the escape character; the rest is kept literally.
    stored = HOSTILE.replace("\x1b", "")
    assert (item["state"], item["later_summary"], item["gap_days"]) == ("flagged", stored, 7)
    table = cli.invoke(app, ["conflicts", "list"]).output
    assert "[red]Botox[/red]" in table
    assert "\x1b" not in table
    rows = list(
        csv.DictReader(
            io.StringIO(cli.invoke(app, ["conflicts", "list", "--format", "csv"]).output)
        )
    )
    assert rows[0]["later_summary"].startswith("'=HYPERLINK")
    assert (
        cli.invoke(
            app, ["conflicts", "list", "--state", "resolved", "--format", "json"]
        ).output.strip()
        == "[]"
    )


def test_audit_log_shows_a_conflicts_history(
    cli: CliRunner, new_calendar: Callable[..., str], insert: Callable[..., Json]
) -> None:
    _setup(cli, new_calendar, insert)
    cli.invoke(app, ["sync", "--once"])
    [item] = json.loads(cli.invoke(app, ["conflicts", "list", "--format", "json"]).output)
    history = cli.invoke(app, ["audit-log", "--conflict", item["id"], "--format", "json"])
    entries = json.loads(history.output)
    assert [e["action"] for e in entries] == ["conflict.detected", "flag.written"]
    assert {e["actor"] for e in entries} == {"service"}
    assert entries[0]["detail"]["matched_by"] == "email"
    rows = list(
        csv.DictReader(io.StringIO(cli.invoke(app, ["audit-log", "--format", "csv"]).output))
    )
    # Discovery added both calendars, which the clinic's trail records before the conflict.
    assert [r["action"] for r in rows] == [
        "calendar.added", "calendar.added", "conflict.detected", "flag.written",
    ]  # fmt: skip
    assert "flag.written" in cli.invoke(app, ["audit-log"]).output
    unknown = cli.invoke(app, ["audit-log", "--conflict", "nope"])
    assert unknown.exit_code == 2


def test_conflicts_list_gives_an_overridden_conflicts_review_reason(
    cli: CliRunner, new_calendar: Callable[..., str], insert: Callable[..., Json], tmp_path: Path
) -> None:
    _setup(cli, new_calendar, insert)
    cli.invoke(app, ["sync", "--once"])
    [item] = json.loads(cli.invoke(app, ["conflicts", "list", "--format", "json"]).output)
    engine = make_engine(f"sqlite:///{tmp_path}/clinic.db")
    with session_scope(engine) as session:
        found = find_conflict(session, item["id"])
        override(session, found, "admin@clinic.example", "Doctor approved", now=datetime.now(UTC))
    engine.dispose()
    [item] = json.loads(cli.invoke(app, ["conflicts", "list", "--format", "json"]).output)
    assert (item["state"], item["reason"]) == ("overridden", "Doctor approved")
    [row] = csv.DictReader(
        io.StringIO(cli.invoke(app, ["conflicts", "list", "--format", "csv"]).output)
    )
    assert row["reason"] == "Doctor approved"
