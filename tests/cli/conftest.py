"""Fixtures for the command line: a fresh SQLite store, the emulator as the Google account.

``cli`` runs ``clinic-sync`` in-process (Typer's runner) with the environment an operator
would have set: the database, the emulator (``CLINIC_SYNC_GOOGLE_AUTH=none``) and nothing
else of ``CLINIC_SYNC_*``, in a folder without a ``.env``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import Engine
from typer.testing import CliRunner

from sync.cli import app
from sync.emulator import EmulatorServer
from sync.store.database import make_engine
from tests.google.conftest import _server, client, emulator, insert, new_calendar, service

__all__ = ["_server", "client", "emulator", "insert", "new_calendar", "service"]

Run = Callable[..., Result]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The store the commands use, for the test to look into."""
    for name in [n for n in os.environ if n.startswith("CLINIC_SYNC_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    url = f"sqlite:///{tmp_path}/clinic.db"
    monkeypatch.setenv("CLINIC_SYNC_DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "250")  # table cells on one line each
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def cli(store: Engine, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> Run:
    """``cli("clinics", "list")`` → the result; ``input=`` answers prompts."""
    monkeypatch.setenv("CLINIC_SYNC_GOOGLE_AUTH", "none")
    monkeypatch.setenv("CLINIC_SYNC_GOOGLE_API_ENDPOINT", emulator.url)
    monkeypatch.setenv("CLINIC_SYNC_GOOGLE_RETRY_ATTEMPTS", "1")
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=input)

    return run


def ok(result: Result) -> str:
    """The standard output of a command that succeeded."""
    assert result.exit_code == 0, result.output
    return result.stdout


def refused(result: Result, *statuses: int) -> str:
    """The one line a command stopped with: exit status 2 (refused input) or ``statuses``."""
    assert result.exit_code in (statuses or (2,)), result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def days_ahead(days: int, hour: int = 10) -> str:
    """A start time ``days`` after today, as the emulator takes it."""
    day = date.today() + timedelta(days=days)
    return datetime.combine(day, time(hour)).astimezone().isoformat()


def book_too_soon(insert: Callable[..., Any], calendar: str, patient: str) -> None:
    """Botox five days after the patient's microneedling: one conflict, flagged."""
    insert(calendar, f"Microneedling - {patient}", days_ahead(10))
    insert(calendar, f"Botox - {patient}", days_ahead(15))


def run_all(run: Run, *commands: Sequence[str]) -> None:
    for command in commands:
        ok(run(*command))
