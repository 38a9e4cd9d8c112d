"""``clinic-sync demo`` as a user runs it: a real process, its output read line by line.

While the demo runs, the test fetches the patient feed URL it printed (a valid
calendar must come back); at the end the process must exit 0 by itself (``--for``),
having printed the links, the summary table and a flag the worker wrote live.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import icalendar
import pytest

_FEED = re.compile(r"(http://127\.0\.0\.1:\d+/feeds/[\w-]+\.ics)")
_ADMIN = re.compile(r"Admin\s+(http://\S+/admin/login)\s+\(user (\S+), password (\S+)\)")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_EMULATOR = re.compile(r"Google \(emul\.\)\s+(http://127\.0\.0\.1:\d+/\S+)")


class _Lines:
    """The process's standard output, line by line, as it comes."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        assert process.stdout is not None
        threading.Thread(target=self._pump, args=(process.stdout,), daemon=True).start()

    def _pump(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self._queue.put(line)
        self._queue.put(None)

    def until(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            line = self._queue.get(timeout=left)
            if line is None:
                break
            self.seen.append(line)
            if match := pattern.search(line):
                return match
        raise AssertionError(f"never printed {pattern.pattern!r}:\n{''.join(self.seen)}")

    def rest(self) -> str:
        while (line := self._queue.get(timeout=30)) is not None:
            self.seen.append(line)
        return "".join(self.seen)


@pytest.fixture
def demo(tmp_path: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLINIC_SYNC_")}
    command = [sys.executable, "-c", "from sync.cli import main; main()", "demo"]
    options = ["--for", "8", "--port", "0", "--database", str(tmp_path / "demo.db")]
    process = subprocess.Popen(
        command + options,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    yield process
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def test_demo_serves_a_feed_flags_live_bookings_and_stops_by_itself(
    demo: subprocess.Popen[str],
) -> None:
    lines = _Lines(demo)
    lines.until(re.compile(r"^clinic-sync demo · Demo clinic \(seed 7\)"), timeout=30)
    lines.until(re.compile(r"Web app\s+http://127\.0\.0\.1:\d+"), timeout=30)
    _sign_in(*lines.until(_ADMIN, timeout=10).groups())
    calendars = httpx.get(lines.until(_EMULATOR, timeout=10).group(1), timeout=10).json()
    assert len(calendars["items"]) >= 4  # the demo's calendars, to look at as it flags them
    url = lines.until(_FEED, timeout=10).group(1)
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    feed = icalendar.Calendar.from_ical(response.text)
    assert [event.get("summary") for event in feed.walk("VEVENT")]
    lines.until(re.compile(r"Conflicts found: 12, flagged on the calendars: 10"), timeout=10)
    lines.until(re.compile(r"^Live: "), timeout=10)
    lines.until(re.compile(r"⚑ flagged"), timeout=15)
    output = lines.rest()
    errors = demo.stderr.read() if demo.stderr else ""
    assert demo.wait(timeout=30) == 0, errors
    assert "+ booked" in output
    assert "Stopped after" in output
    assert "Traceback" not in errors


def _sign_in(login_url: str, user: str, password: str) -> None:
    """The printed demo login opens the admin UI's triage home."""
    with httpx.Client(timeout=10, follow_redirects=True) as client:
        form = client.get(login_url)
        csrf = _CSRF.search(form.text)
        assert csrf is not None
        data = {"email": user, "password": password, "csrf_token": csrf.group(1)}
        page = client.post(login_url, data=data)
        assert page.status_code == 200
        assert str(page.url).endswith("/admin/")
        assert "Demo clinic" in page.text  # the clinic's name, never its slug
        _ui_feed_url_works(client, login_url.removesuffix("/admin/login"))


def _ui_feed_url_works(client: httpx.Client, base: str) -> None:
    """A feed URL the admin UI hands out points at the demo's own web app, port included."""
    form = client.get(f"{base}/admin/feed-tokens")
    csrf = _CSRF.search(form.text)
    assert csrf is not None
    data = {"csrf_token": csrf.group(1), "scope": "clinic"}
    issued = client.post(f"{base}/admin/feed-tokens", data=data)
    url = _FEED.search(issued.text)
    assert url is not None, "the page shows a feed URL with the demo's port"
    assert url.group(1).startswith(f"{base}/feeds/")
    assert httpx.get(url.group(1), timeout=10).status_code == 200
