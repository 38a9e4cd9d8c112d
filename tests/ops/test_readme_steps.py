"""The README's production steps, run as written, in order, on a fresh folder.

The commands are read out of README.md's "Connecting a real clinic" section; the test
fails when that list and :data:`STEPS` differ, so the two cannot drift apart. Each step
runs through a shell exactly as printed, except where a real Google account, a browser
or a public address is needed — there the step says what stands in: the Google
Calendar emulator for the account (``CLINIC_SYNC_GOOGLE_AUTH=none`` and its endpoint in
``.env``), a loopback server for the ``.ics`` address, a free port for ``serve``.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest

from sync.clinics.settings import MOVED_POLICY, MOVED_VARIABLES
from sync.emulator import EmulatorServer
from tests.loopback import serving
from tests.ops.installs import ROOT, copy_checkout, free_port, link_dependencies, operator_env

SECTION = re.compile(r"^## Connecting a real clinic\n(.*?)^A revoked", re.MULTILINE | re.DOTALL)
COMMAND = re.compile(r"`((?:python3 |clinic-sync |CLINIC_SYNC_\w+=\S+ clinic-sync )[^`]*)`")
VENV = "/opt/clinic-sync"
_ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nX-WR-CALNAME:Front desk\r\n"
    "BEGIN:VEVENT\r\nUID:a@test\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART:20300110T100000Z\r\nDTEND:20300110T110000Z\r\nSUMMARY:Peel - Ann Lee\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


def readme_commands() -> list[str]:
    found = SECTION.search((ROOT / "README.md").read_text(encoding="utf-8"))
    assert found is not None, "README.md has a 'Connecting a real clinic' section"
    return COMMAND.findall(found.group(1))


@dataclass
class Operator:
    """A shell in a fresh folder, the service installed at ``venv``."""

    folder: Path
    venv: Path
    emulator: EmulatorServer
    ics_url: str
    book: Callable[[], object]
    """Adds a booking to the emulated Google calendar, as staff would."""
    secret_key: str = ""

    def shell(
        self, command: str, stdin: str = "", cwd: Path | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        command = command.replace(VENV, str(self.venv))
        result = subprocess.run(
            ["bash", "-c", command],
            cwd=cwd or self.folder,
            env=operator_env(self.venv / "bin", **env),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        return result

    def set(self, **settings: str) -> None:
        """Edit .env as an operator does: replace each setting's line."""
        dot_env = self.folder / ".env"
        text = dot_env.read_text()
        for name, value in settings.items():
            line = f"CLINIC_SYNC_{name.upper()}="
            text, count = re.subn(rf"^{line}.*$", f"{line}{value}", text, flags=re.MULTILINE)
            assert count == 1, name
        dot_env.write_text(text)

    def running(
        self, command: str, wait_for: str, check: Callable[[], None], *, stopped: int = 0
    ) -> None:
        log = self.folder / f"{command.split()[1]}.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                ["bash", "-c", f"exec {command}"],
                cwd=self.folder,
                env=operator_env(self.venv / "bin"),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 60
            while wait_for not in log.read_text():
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            check()
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) in {0, stopped}, log.read_text()


def _install(op: Operator, command: str) -> None:
    # A fresh checkout; pip installs the package itself, the dependencies already resolved
    # in the development venv are linked in (offline and quick; see tests/ops/installs.py).
    checkout = copy_checkout(op.folder.parent / "checkout")
    op.shell(command, cwd=checkout, PIP_NO_DEPS="1", PIP_QUIET="1")
    link_dependencies(op.venv)


def _configure(op: Operator, command: str) -> None:
    op.shell(command)
    written = (op.folder / ".env").read_text()
    assert "CLINIC_SYNC_CLINIC=default\n" in written
    # A clinic's own settings are not process settings any more: the next steps store them.
    assert not any(name in written for name in (*MOVED_VARIABLES, MOVED_POLICY))


def _secret_key(op: Operator, command: str) -> None:
    op.secret_key = op.shell(command).stdout.strip()
    op.set(
        secret_key=op.secret_key,
        # https, as in production (the worker opens push channels); an address that refuses
        # at once, so the emulator's notifications fail fast instead of waiting on DNS.
        public_url="https://127.0.0.1:9",
        # The emulator stands for the Google account the next step would connect.
        google_auth="none",
        google_api_endpoint=op.emulator.url,
        google_retry_attempts="1",
        # The dry run's pass makes each calendar due again one interval later; the worker
        # must poll within this test.
        poll_interval_seconds="2",
    )


def _clinic_settings(op: Operator, command: str) -> None:
    op.shell(command)
    shown = op.shell("clinic-sync clinics show default", COLUMNS="200").stdout
    for value in ("Harley Skin Clinic", "Europe/London", "clinic.example"):
        assert value in shown


def _needs_google(reason: str) -> Callable[[Operator, str], None]:
    def skipped(_op: Operator, _command: str) -> None:
        """Stood in for by the emulator settings written to .env above."""

    skipped.__doc__ = reason
    return skipped


def _connect_ics(op: Operator, command: str) -> None:
    op.shell(command.replace("https://…/calendar.ics", op.ics_url))


def _discover(op: Operator, command: str) -> None:
    assert "1 calendar(s) added" in op.shell(command).stdout


def _list(op: Operator, command: str) -> None:
    listed = op.shell(f"COLUMNS=200 {command}").stdout
    assert "Dr Smith" in listed


def _add_admin(op: Operator, command: str) -> None:
    op.shell(command, stdin="a long enough password\na long enough password\n")


def _doctor(op: Operator, command: str) -> None:
    report = op.shell(command, COLUMNS="200").stdout
    assert "✗" not in report


def _dry_run(op: Operator, command: str) -> None:
    assert "Sync of Harley Skin Clinic" in op.shell(command, COLUMNS="200").stdout


def _worker(op: Operator, command: str) -> None:
    log = op.folder / "worker.log"

    def picks_up_a_new_booking() -> None:
        op.book()
        deadline = time.monotonic() + 60
        while "1 changed" not in log.read_text():  # polls that change nothing log at DEBUG
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)

    op.running(command, "started", picks_up_a_new_booking)


def _serve(op: Operator, command: str) -> None:
    port = free_port()  # not 8000: something else on this machine may hold it

    def answers() -> None:
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/admin/login").status_code == 200

    # uvicorn shuts down cleanly on SIGTERM, then ends by the same signal (as systemd and
    # container engines expect of a stopped service).
    started = "Application startup complete"
    op.running(f"{command} --port {port}", started, answers, stopped=-signal.SIGTERM)


STEPS: dict[str, Callable[[Operator, str], None]] = {
    "python3 -m venv /opt/clinic-sync && /opt/clinic-sync/bin/pip install .": _install,
    "clinic-sync config example > .env": _configure,
    'python3 -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"': _secret_key,
    'clinic-sync clinics set default --name "Harley Skin Clinic" time_zone=Europe/London '
    "staff_domains=clinic.example": _clinic_settings,
    "clinic-sync connect google --client-secrets client_secret.json": _needs_google(
        "a browser signs in to a real Google account"
    ),
    "clinic-sync connect google --service-account key.json --subject admin@clinic.example": (
        _needs_google("a real service-account key and Google's token endpoint")
    ),
    "CLINIC_SYNC_CALDAV_PASSWORD=… clinic-sync connect caldav https://caldav.icloud.com/ "
    "--username me@icloud.com": _needs_google(
        "a real iCloud account (tests/connect runs Radicale)"
    ),
    "clinic-sync connect ics https://…/calendar.ics": _connect_ics,
    "clinic-sync calendars discover": _discover,
    "clinic-sync calendars list": _list,
    "clinic-sync users add you@clinic.example --role admin": _add_admin,
    "clinic-sync doctor": _doctor,
    "clinic-sync sync --once --dry-run": _dry_run,
    "clinic-sync worker": _worker,
    "clinic-sync serve": _serve,
}


def test_the_steps_below_are_the_readme_s_commands_in_order() -> None:
    assert readme_commands() == list(STEPS)


def _ics_handler(_base: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = _ICS.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/calendar; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    return Handler


@pytest.mark.skipif(sys.platform != "linux", reason="runs bash and a fresh venv")
def test_a_fresh_folder_following_the_readme_gets_a_working_worker_and_web_app(
    tmp_path: Path,
    emulator: EmulatorServer,
    new_calendar: Callable[..., str],
    insert: Callable[..., object],
) -> None:
    smith = new_calendar("Dr Smith")
    folder = tmp_path / "clinic"
    folder.mkdir()

    def book() -> object:
        try:
            return insert(smith, "Hydrafacial - Ann Lee", "2030-01-10T10:00:00+00:00")
        except ConnectionError:  # the emulator closed the client's idle keep-alive connection
            return insert(smith, "Hydrafacial - Ann Lee", "2030-01-10T10:00:00+00:00")

    with serving(_ics_handler) as base:
        venv = tmp_path / "opt" / "clinic-sync"
        op = Operator(folder, venv, emulator, f"{base}/calendar.ics", book)
        for command in readme_commands():
            STEPS[command](op, command)
