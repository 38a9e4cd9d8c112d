"""Set-up mistakes end the command in one line on stderr and exit status 2 (README: Commands)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sync.cli import app

CLINIC_SYNC = str(Path(sys.executable).with_name("clinic-sync"))


def _one_line_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    return lines[0]


def test_serve_on_a_busy_port_says_so_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "CLINIC_SYNC_DATABASE_URL": f"sqlite:///{tmp_path}/c.db"}
        result = subprocess.run(
            [CLINIC_SYNC, "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    assert f"127.0.0.1:{port}" in _one_line_error(result.stderr)
    assert "web on" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("mysql://clinic:secret@db/clinic", "mysql:// is not supported"),
        ("postgresql+psycopg2://clinic:secret@db/clinic", "psycopg2 driver is not installed"),
        ("clinic.db", "not a database URL"),
    ],
)
@pytest.mark.parametrize("command", [["db", "upgrade"], ["sync", "--once"], ["worker"]])
def test_an_unusable_database_url_is_one_line_naming_the_setting(
    url: str, problem: str, command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, command, env={"CLINIC_SYNC_DATABASE_URL": url})
    assert result.exit_code == 2
    line = _one_line_error(result.stderr)
    assert "CLINIC_SYNC_DATABASE_URL" in line
    assert problem in line
    assert "secret" not in line


def test_the_worker_probe_needs_the_metrics_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["probe", "worker"])
    assert result.exit_code == 2
    assert "CLINIC_SYNC_WORKER_METRICS_PORT" in _one_line_error(result.stderr)


def test_a_probe_of_nothing_listening_is_unhealthy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    result = CliRunner().invoke(app, ["probe", "web", "--port", str(port)])
    assert result.exit_code == 1
    assert result.stderr.startswith("unhealthy: ")
