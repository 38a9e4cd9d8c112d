"""Worker processes for tests: real ``clinic-sync worker`` subprocesses, and what Google saw.

:class:`GoogleLog` wraps the emulator's request handler (in this process) to record each
call's calendar, start, end and answer, with an optional latency so that polls take long
enough for overlaps to show, and an optional quota that answers 429 like Google does.
:class:`WorkerProcess` runs the real command line with settings in its environment and
JSON logs on a file, and reads those logs back.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sync.emulator import EmulatorServer
from sync.emulator.api import ApiRequest, ApiResponse
from sync.emulator.errors import ApiError

_EVENTS = re.compile(r"calendars/([^/?]+)/events")


@dataclass(frozen=True)
class Call:
    """One API call as the emulator served it."""

    calendar: str | None
    start: float
    end: float
    status: int


class GoogleLog:
    """Records every call the emulator answers; can slow calls down and enforce a quota."""

    def __init__(self, emulator: EmulatorServer) -> None:
        self._api = emulator.account.api
        self._original: Callable[[ApiRequest], ApiResponse] = self._api.handle
        self._lock = threading.Lock()
        self.calls: list[Call] = []
        self.started = threading.Event()
        self.latency = 0.0
        self.quota: tuple[int, float] | None = None
        """At most ``n`` calls in any ``seconds``; more are answered 429 rateLimitExceeded."""
        self._api.handle = self._handle  # type: ignore[method-assign]

    def close(self) -> None:
        self._api.handle = self._original  # type: ignore[method-assign]

    def _handle(self, request: ApiRequest) -> ApiResponse:
        start = time.time()
        match = _EVENTS.search(request.path)
        calendar = None if match is None else unquote(match.group(1))
        self.started.set()
        response = self._over_quota(start) or self._slow(request)
        with self._lock:
            self.calls.append(Call(calendar, start, time.time(), response.status))
        return response

    def _slow(self, request: ApiRequest) -> ApiResponse:
        time.sleep(self.latency)
        return self._original(request)

    def _over_quota(self, now: float) -> ApiResponse | None:
        if self.quota is None:
            return None
        limit, window = self.quota
        with self._lock:
            recent = [c for c in self.calls if c.status < 400 and c.start > now - window]
        if len(recent) < limit:
            return None
        return ApiResponse.of_error(ApiError(429, "rateLimitExceeded", "Rate Limit Exceeded"))

    def of(self, calendar: str) -> list[Call]:
        with self._lock:
            return sorted((c for c in self.calls if c.calendar == calendar), key=lambda c: c.start)

    def wait_for(self, test: Callable[[list[Call]], bool], timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if test(list(self.calls)):
                    return
            time.sleep(0.02)
        raise AssertionError(f"the emulator never saw what was expected: {self.calls}")


class WorkerProcess:
    """``clinic-sync worker`` in a subprocess, its JSON logs in ``log_path``."""

    def __init__(
        self, log_path: Path, env: dict[str, str], cwd: Path, args: Sequence[str] = ()
    ) -> None:
        self.log_path = log_path
        self._log = log_path.open("w")
        command = [sys.executable, "-c", "from sync.cli import main; main()", "worker", *args]
        self.process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=cwd
        )

    def records(self) -> list[dict[str, Any]]:
        """The JSON log records so far (lines that are not JSON are kept as messages)."""
        lines = self.log_path.read_text().splitlines()
        return [_record(line) for line in lines if line.strip()]

    def text(self) -> str:
        return self.log_path.read_text()

    def polls(self) -> list[dict[str, Any]]:
        return [r for r in self.records() if "calendar" in r and "started" in r]

    def wait_for_log(self, fragment: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if fragment in self.text():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"worker never logged {fragment!r}:\n{self.text()}")

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 20.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout=timeout)
        self._log.close()
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._log.close()


def _record(line: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError:
        return {"message": line}
    return value if isinstance(value, dict) else {"message": line}


def worker_env(database_url: str, emulator: EmulatorServer, **settings: object) -> dict[str, str]:
    """An environment for a worker on ``database_url`` against ``emulator``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLINIC_SYNC_")}
    env |= {
        "CLINIC_SYNC_DATABASE_URL": database_url,
        "CLINIC_SYNC_GOOGLE_API_ENDPOINT": emulator.url,
        "CLINIC_SYNC_GOOGLE_AUTH": "none",
        "CLINIC_SYNC_POLL_SECONDS": "1",
        "CLINIC_SYNC_WORKER_CLAIM_SECONDS": "0.1",
        "CLINIC_SYNC_GOOGLE_RETRY_ATTEMPTS": "1",
    }
    env |= {f"CLINIC_SYNC_{name.upper()}": str(value) for name, value in settings.items()}
    return env


def overlaps(calls: list[Call]) -> list[Call]:
    """The calls (sorted by start) that began before an earlier one had ended."""
    found, busy_until = [], float("-inf")
    for call in calls:
        if call.start < busy_until:
            found.append(call)
        busy_until = max(busy_until, call.end)
    return found


@dataclass
class Workers:
    """Starts workers and makes sure none outlives its test."""

    directory: Path
    started: list[WorkerProcess]

    def start(self, env: dict[str, str], *args: str) -> WorkerProcess:
        log = self.directory / f"worker{len(self.started)}.log"
        worker = WorkerProcess(log, env, self.directory, args)
        self.started.append(worker)
        return worker

    def __iter__(self) -> Iterator[WorkerProcess]:
        return iter(self.started)
