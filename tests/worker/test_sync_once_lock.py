"""``sync --once`` and a worker never run side by side on one SQLite database (SPEC §9)."""

from __future__ import annotations

from typer.testing import CliRunner

from sync.cli import app
from sync.worker.runner import single_worker_lock


def test_sync_once_refuses_while_a_worker_holds_the_sqlite_database(sqlite_url: str) -> None:
    env = {"CLINIC_SYNC_DATABASE_URL": sqlite_url, "CLINIC_SYNC_GOOGLE_AUTH": "none"}
    with single_worker_lock(sqlite_url):
        result = CliRunner().invoke(app, ["sync", "--once"], env=env)
    assert result.exit_code == 2
    assert "already running on this SQLite database" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
