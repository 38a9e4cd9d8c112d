"""Many clinics, one fleet: requests, lateness, memory and CPU of workers serving every clinic.

Clinics × 5 calendars × bookings in the Calendar emulator (sync.emulator, in this process),
on PostgreSQL (a schema of its own at 127.0.0.1:5432, dropped at the end), polled by real
``clinic-sync worker`` processes with no clinic named (sync.worker.runner: every clinic,
fair claims, each clinic's services, per-grant budgets). It measures:

- **worker peak RSS** (``VmHWM``) of one worker serving 1 clinic and more (1/50 by
  default, 1/100/1,000 with ``--full``), each run until every calendar has been pulled in
  full once (goal: flat, under 250 MB);
- **claim overhead per poll**: the claim statement's time per calendar claimed, with every
  calendar due (``sync.worker.leases.claim_due``, the worker's batch size);
- then, for 1 and 4 workers (1, 2 and 4 with ``--full``), two passes, each making every
  calendar due once over one poll interval with nothing changed. The first is the fleet
  just started: a worker re-checks each clinic in full at its first poll of it (SPEC §5: a
  new process reconciles before it trusts a change's reach), so that pass is stated
  without a target — its p99 lateness, its CPU per poll and how many calendars it polled
  in its window. The second is the idle pass of a running fleet, the one the targets are
  on: **calendars polled** in the window (its first events.list after its due time, every
  calendar), **requests per poll** against the floor of one,
  **p50/p99 of the time from a calendar's due time to its poll** (goal p99 under one
  interval; a calendar not polled in the window counts as late as the window is long) and
  **CPU per idle poll** (the workers' user + system time over the pass, per poll).

Writes ``bench/results/many_clinics.json`` with a ``figures`` list ({name, value, unit,
floor, ratio, target}) and prints a table. Default: 50 clinics × 5 × 20 bookings, RSS at
1/50, a 20 s interval (about 2 minutes). ``--full``: 1,000 × 5 × 200, RSS at
1/100/1,000.

Run: ``.venv/bin/python bench/many_clinics.py [--full] [--interval 20]`` (or any size:
``--clinics 1000 --bookings 5 --rss-at 1,100,1000``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sqlalchemy import Engine, create_engine, text

from sync.emulator import EmulatorServer
from sync.store.clinics import get_or_create_clinic
from sync.store.database import make_engine, session_scope
from sync.store.migrate import upgrade
from sync.store.sources import Provider, add_source
from sync.worker.leases import claim_due

_EVENTS = re.compile(r"calendars/([^/?]+)/events$")
RESULTS = Path(__file__).parent / "results" / "many_clinics.json"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CALENDARS_PER_CLINIC = 5
THREADS = 4
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Size:
    clinics: int
    bookings: int
    rss_at: tuple[int, ...]
    workers: tuple[int, ...] = (1, 2, 4)
    """Worker counts an idle pass is timed with."""


DEFAULT = Size(clinics=50, bookings=20, rss_at=(1, 50), workers=(1, 4))
FULL = Size(clinics=1000, bookings=200, rss_at=(1, 100, 1000), workers=(1, 2, 4))


# The store and the emulator ---------------------------------------------------------------


@contextmanager
def _schema() -> Iterator[str]:
    """A PostgreSQL schema of our own, migrated; its URL. Dropped afterwards."""
    name = f"bench_many_{secrets.token_hex(4)}"
    admin = create_engine(POSTGRES)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {name}"))
    url = f"{POSTGRES}?options=-csearch_path%3D{name}"
    try:
        upgrade(url)
        yield url
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()


def _seed(engine: Engine, emulator: EmulatorServer, first: int, last: int, bookings: int) -> None:
    """Clinics ``first`` to ``last - 1``, each with 5 calendars of ``bookings`` bookings."""
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    kinds = ("Microneedling", "Botox", "Hydrafacial", "Consultation")
    for number in range(first, last):
        slug = f"clinic-{number:05d}"
        with session_scope(engine) as session:
            clinic_id = get_or_create_clinic(session, slug).id
            for room in range(CALENDARS_PER_CLINIC):
                calendar = emulator.store.insert_calendar({"summary": f"{slug} room {room}"})
                calendar_id = str(calendar["id"])
                for n in range(bookings):
                    begin = start + timedelta(days=n % 60, hours=n % 9)
                    emulator.store.insert_event(
                        calendar_id,
                        {
                            "summary": f"{kinds[n % 4]} Patient {number}-{room}-{n % 7}",
                            "start": {"dateTime": begin.isoformat()},
                            "end": {"dateTime": (begin + timedelta(hours=1)).isoformat()},
                        },
                    )
                add_source(
                    session,
                    clinic_id,
                    Provider.GOOGLE,
                    calendar_id,
                    display_name=f"Room {room}",
                    time_zone="UTC",
                )


class _Calls:
    """Every events.list the emulator answers, by calendar, with its time; all calls counted."""

    def __init__(self, emulator: EmulatorServer) -> None:
        self.lists: dict[str, list[float]] = defaultdict(list)
        self.times: list[float] = []
        self._lock = threading.Lock()
        api = emulator.account.api
        handle = api.handle

        def counted(request: Any) -> Any:
            at = time.time()
            answer = handle(request)
            listed = _EVENTS.search(request.path) if request.method == "GET" else None
            with self._lock:
                self.times.append(at)
                if listed is not None:
                    self.lists[unquote(listed.group(1))].append(at)
            return answer

        api.handle = counted  # type: ignore[method-assign]

    def first_list(self, calendar: str, due: float) -> float | None:
        """When ``calendar`` was first listed at or after ``due``, if it was."""
        with self._lock:
            times = sorted(self.lists.get(calendar, []))
        at = bisect_left(times, due)
        return times[at] if at < len(times) else None

    def between(self, start: float, end: float) -> tuple[int, int]:
        """(requests, events.list calls) made between ``start`` and ``end``."""
        with self._lock:
            requests = sum(1 for at in self.times if start <= at < end)
            lists = sum(1 for times in self.lists.values() for at in times if start <= at < end)
        return requests, lists


# Worker processes ------------------------------------------------------------------------


class _Workers:
    """``clinic-sync worker`` processes serving every clinic of the store."""

    def __init__(self, url: str, emulator: EmulatorServer, interval: int, logs: Path) -> None:
        self.env = os.environ | {
            "CLINIC_SYNC_DATABASE_URL": url,
            "CLINIC_SYNC_GOOGLE_API_ENDPOINT": emulator.url,
            "CLINIC_SYNC_GOOGLE_AUTH": "none",
            "CLINIC_SYNC_POLL_INTERVAL_SECONDS": str(interval),
            "CLINIC_SYNC_WORKER_THREADS": str(THREADS),
            "CLINIC_SYNC_WORKER_CLAIM_SECONDS": "0.25",
            "CLINIC_SYNC_GOOGLE_REQUESTS_PER_MINUTE": "100000",
            "CLINIC_SYNC_GOOGLE_PROJECT_REQUESTS_PER_MINUTE": "1000000",
            "CLINIC_SYNC_LOG_LEVEL": "WARNING",
            "CLINIC_SYNC_LOG_FORMAT": "json",
        }
        self.logs = logs
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, count: int) -> None:
        command = [sys.executable, "-c", "from sync.cli import main; main()", "worker"]
        for number in range(count):
            log = (self.logs / f"worker-{len(self.running)}-{number}.log").open("wb")
            self.running.append(
                subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT)
            )

    def cpu_seconds(self) -> float:
        return sum(_cpu(process.pid) for process in self.running)

    def peak_rss_mb(self) -> float:
        return max(_status(process.pid, "VmHWM") for process in self.running) / 1024

    def stop(self) -> None:
        for process in self.running:
            process.terminate()
        for process in self.running:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.running = []


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def _status(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


# Measurements -------------------------------------------------------------------------------


def _unpolled(engine: Engine) -> int:
    with engine.connect() as connection:
        query = "SELECT count(*) FROM calendar_sources WHERE last_full_sync_at IS NULL"
        return int(connection.execute(text(query)).scalar_one())


def _wait_all_pulled(engine: Engine, seconds: float = 3600) -> None:
    deadline = time.monotonic() + seconds
    while _unpolled(engine):
        if time.monotonic() > deadline:
            raise TimeoutError("calendars left unpulled")
        time.sleep(0.5)


def _peak_rss(engine: Engine, workers: _Workers) -> float:
    """One worker pulls every calendar in full once, and a little longer; its peak RSS."""
    workers.start(1)
    _wait_all_pulled(engine)
    time.sleep(2)
    peak = workers.peak_rss_mb()
    workers.stop()
    return peak


def _claim_overhead(engine: Engine, calendars: int) -> float:
    """Milliseconds of claim statement per calendar claimed, everything due, batch of THREADS."""
    with engine.begin() as connection:
        connection.execute(text("UPDATE calendar_sources SET next_poll_at = NULL"))
    now, claimed, spent = datetime.now(UTC), 0, 0.0
    rounds = min(100, calendars // THREADS)
    for _ in range(rounds):
        started = time.perf_counter()
        leases = claim_due(engine, "bench", now=now, ttl=timedelta(minutes=5), limit=THREADS)
        spent += time.perf_counter() - started
        claimed += len(leases)
    with engine.begin() as connection:
        connection.execute(text("UPDATE calendar_sources SET lease_owner = NULL"))
    return 1000 * spent / max(1, claimed)


def _spread_dues(engine: Engine, start: datetime, interval: int) -> None:
    """Make every calendar due once over [start, start + interval), in random order."""
    with engine.begin() as connection:
        ids = [row[0] for row in connection.execute(text("SELECT id FROM calendar_sources"))]
        random.shuffle(ids)
        step = interval / max(1, len(ids))
        rows = [{"i": i, "d": start + timedelta(seconds=n * step)} for n, i in enumerate(ids)]
        connection.execute(
            text("UPDATE calendar_sources SET next_poll_at = :d WHERE id = :i"), rows
        )


def _dues(engine: Engine) -> dict[str, datetime]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT external_id, next_poll_at FROM calendar_sources"))
        return {str(external): due for external, due in rows}


def _idle_passes(
    engine: Engine, workers: _Workers, calls: _Calls, count: int, interval: int
) -> tuple[dict[str, float], dict[str, float]]:
    """``count`` workers just started, then running: one pass each (see the docstring)."""
    _hold_dues(engine)  # nothing due while the workers start
    workers.start(count)
    time.sleep(4)  # started, connected, first claims made on a store with nothing due
    started = _pass(engine, workers, calls, interval)
    _wait_polled(calls, started["dues"], seconds=30 * interval)
    _hold_dues(engine)
    time.sleep(2)  # polls of the first pass still running end
    running = _pass(engine, workers, calls, interval)
    workers.stop()
    return started, running


def _hold_dues(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE calendar_sources SET next_poll_at = now() + '1 day'"))


def _pass(engine: Engine, workers: _Workers, calls: _Calls, interval: int) -> dict[str, Any]:
    """Every calendar due once over the next interval: requests, lateness (s), CPU per poll."""
    begin = datetime.now(UTC) + timedelta(seconds=1)
    _spread_dues(engine, begin, interval)
    dues = _dues(engine)
    cpu = workers.cpu_seconds()
    start = begin.timestamp()
    end = start + interval * 1.5
    time.sleep(max(0.0, end - time.time()))
    cpu = workers.cpu_seconds() - cpu
    late, polled = [], 0
    for calendar, due in dues.items():
        at = calls.first_list(calendar, due.timestamp())
        polled += at is not None and at < end
        late.append((at if at is not None and at < end else end) - due.timestamp())
    requests, lists = calls.between(start, end)
    late.sort()
    return {
        "requests_per_poll": requests / max(1, lists),
        "p50": statistics.median(late),
        "p99": late[min(len(late) - 1, int(0.99 * len(late)))],
        "cpu_ms_per_poll": 1000 * cpu / max(1, lists),
        "polls": lists,
        "calendars_polled": polled,
        "dues": dues,
    }


def _wait_polled(calls: _Calls, dues: dict[str, datetime], *, seconds: float) -> None:
    """Until every calendar has been listed since its due time (the pass's backlog done)."""
    deadline = time.monotonic() + seconds
    waiting = dict(dues)
    while waiting and time.monotonic() < deadline:
        waiting = {
            calendar: due
            for calendar, due in waiting.items()
            if calls.first_list(calendar, due.timestamp()) is None
        }
        time.sleep(0.5)


# Figures ------------------------------------------------------------------------------------


def _figure(
    name: str, value: float, unit: str, floor: float | None, target: float | None
) -> dict[str, Any]:
    ratio = None if not floor else round(value / floor, 3)
    return {
        "name": name,
        "value": round(value, 3),
        "unit": unit,
        "floor": floor,
        "ratio": ratio,
        "target": target,
        "target_on": "value",  # every target here is on the figure itself, not its ratio
    }


def run(size: Size, interval: int, *, passes: bool = True) -> list[dict[str, Any]]:
    figures: list[dict[str, Any]] = []
    calendars = size.clinics * CALENDARS_PER_CLINIC
    with (
        _schema() as url,
        EmulatorServer() as emulator,
        tempfile.TemporaryDirectory() as logs,
    ):
        engine = make_engine(url)
        calls = _Calls(emulator)
        workers = _Workers(url, emulator, interval, Path(logs))
        try:
            seeded, rss = 0, {}
            for clinics in size.rss_at:
                _seed(engine, emulator, seeded, clinics, size.bookings)
                seeded = clinics
                rss[clinics] = _peak_rss(engine, workers)
                print(f"  peak RSS, one worker, {clinics} clinics: {rss[clinics]:.0f} MB")
            for clinics, peak in rss.items():
                figures.append(
                    _figure(f"worker_peak_rss_{clinics}_clinics", peak, "MB", rss[1], 250)
                )
            claim = _claim_overhead(engine, calendars)
            figures.append(_figure("claim_overhead_per_poll", claim, "ms", None, None))
            for count in size.workers if passes else ():
                started, idle = _idle_passes(engine, workers, calls, count, interval)
                for name, numbers in (("just started", started), ("running", idle)):
                    shown = {key: value for key, value in numbers.items() if key != "dues"}
                    print(f"  {count} worker(s), {name}: {shown}")
                figures += [
                    _figure(
                        f"calendars_polled_after_start_{count}w",
                        started["calendars_polled"],
                        "calendars",
                        calendars,
                        None,
                    ),
                    _figure(
                        f"due_to_poll_p99_after_start_{count}w", started["p99"], "s", None, None
                    ),
                    _figure(
                        f"cpu_per_poll_after_start_{count}w",
                        started["cpu_ms_per_poll"],
                        "ms",
                        None,
                        None,
                    ),
                    _figure(
                        f"calendars_polled_idle_pass_{count}w",
                        idle["calendars_polled"],
                        "calendars",
                        calendars,
                        calendars,
                    )
                    | {"better": "higher"},
                    _figure(
                        f"requests_per_idle_poll_{count}w",
                        idle["requests_per_poll"],
                        "requests",
                        1,
                        1,
                    ),
                    _figure(f"due_to_poll_p50_{count}w", idle["p50"], "s", None, interval),
                    _figure(f"due_to_poll_p99_{count}w", idle["p99"], "s", None, interval),
                    _figure(
                        f"cpu_per_idle_poll_{count}w", idle["cpu_ms_per_poll"], "ms", None, None
                    ),
                ]
        finally:
            workers.stop()
            engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="1,000 clinics × 5 × 200 bookings")
    parser.add_argument("--interval", type=int, default=20, help="poll interval, seconds")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON goes")
    parser.add_argument("--clinics", type=int, help="clinics (with --bookings, --rss-at)")
    parser.add_argument("--bookings", type=int, help="bookings per calendar")
    parser.add_argument("--rss-at", help="clinic counts to measure RSS at, e.g. 1,100,1000")
    parser.add_argument("--rss-only", action="store_true", help="no idle passes")
    args = parser.parse_args()
    size = FULL if args.full else DEFAULT
    if args.clinics:
        rss_at = tuple(int(n) for n in (args.rss_at or f"1,{args.clinics}").split(","))
        size = Size(args.clinics, args.bookings or size.bookings, rss_at, size.workers)
    # SIGTERM ends the run like Ctrl-C: workers stopped, the schema dropped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    started = time.monotonic()
    figures = run(size, args.interval, passes=not args.rss_only)
    result = {
        "clinics": size.clinics,
        "calendars_per_clinic": CALENDARS_PER_CLINIC,
        "bookings_per_calendar": size.bookings,
        "poll_interval_seconds": args.interval,
        "worker_threads": THREADS,
        "seconds": round(time.monotonic() - started, 1),
        "figures": figures,
    }
    print(f"\n{'figure':32} {'value':>10} {'unit':8} {'floor':>8} {'ratio':>7} {'target':>7}")
    for figure in figures:
        print(
            f"{figure['name']:32} {figure['value']:>10} {figure['unit']:8} "
            f"{figure['floor'] if figure['floor'] is not None else '-':>8} "
            f"{figure['ratio'] if figure['ratio'] is not None else '-':>7} "
            f"{figure['target'] if figure['target'] is not None else '-':>7}"
        )
    print(f"\n{result['seconds']} s")
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
