"""What re-assessing a clinic costs: one change, a full re-check, and a worker's memory (SPEC §5).

A clinic of ``--bookings`` events over several calendars is loaded into the Calendar
emulator (:mod:`sync.emulator`) and synced into a SQLite store with the real
google-api-python-client. About a third of the patients are identified by an e-mail; a
common name ("Jane Doe") is carried by many identified patients, so it links nobody
(SPEC §4) and must not pull its thousand bookings into every change. Measured, each beside
its floor in the same run (client CPU: the thread running the cycle, not the emulator's):

- **one change, then a cycle**: a booking is retitled and its calendar's
  :func:`sync.usecases.cycle.run_calendar_cycle` runs (pull, detection over what the change
  can reach, dry-run flags). Floor: the same incremental ``events.list`` through the bare
  client. Median of several changes, one of them a booking of the ambiguous name;
- **full re-assessment** in a new process (what a new day, a restart or a 410 costs): a
  child process runs ``sync --once`` (:func:`~sync.usecases.cycle.run_clinic_pass`, dry run) on
  the synced store; CPU and peak RSS. Floor for RSS: a child importing the same code and
  holding every booking row of the store as tuples.

Prints a table and writes ``bench/results/reassessment.json``.

Run: ``.venv/bin/python bench/reassessment.py`` (10k bookings, under 2 minutes),
``--full`` (100k) or ``--bookings 10000 30000 100000`` for a sweep.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).parent / "results" / "reassessment.json"
CLINIC = "bench"
CHANGES = 7
"""Bookings changed one after the other to time a one-change cycle."""
ONE_CHANGE_MS = 20.0
"""Target: a one-change cycle's CPU at 100k bookings (issue 17)."""
FULL_PASS_S = 5.0
"""Target: a full re-assessment's CPU at 100k bookings (issue 17)."""
TITLES = (
    "Botox {name}",
    "Microneedling (SkinPen) - {name}",
    "{name} — Dysport 20u",
    "Consultation {name}",
    "{name} follow-up",
    "Hydrafacial {name}",
)
BOOKINGS_PER_PATIENT = 20
SHARED_NAME = "Jane Doe"
SHARED_SHARE = 0.01
"""Bookings titled with the common name, each by its own identified patient."""


def main() -> None:
    args = _arguments()
    if args.child:
        _child(args.child, args.db, args.endpoint)
        return
    sizes = [100_000] if args.full else args.bookings
    runs = [_run(size, args.changes) for size in sizes]
    results = {
        "machine": f"{platform.python_implementation()} {platform.python_version()} "
        f"on {platform.machine()}",
        "runs": runs,
    }
    if len(runs) > 1:
        results["growth"] = _growth(runs)
    results["figures"] = [figure for run in runs for figure in _figures(run)]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    Console().print(_table(results))
    Console().print(f"written to {RESULTS}")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--bookings", type=int, nargs="+", default=[10_000])
    parser.add_argument("--full", action="store_true", help="100k bookings")
    parser.add_argument("--changes", type=int, default=CHANGES)
    parser.add_argument("--child", choices=("worker", "tuples"), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    return parser.parse_args()


def _run(bookings: int, changes: int) -> dict[str, Any]:
    from sync.emulator import EmulatorServer

    calendars = 50 if bookings >= 50_000 else 10
    per_calendar = bookings // calendars
    with EmulatorServer() as server, tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        ids = _load(server, calendars, per_calendar)
        with _services(server, db) as services:
            sources = _connect(services, ids)
            first = _cpu(lambda: _first_sync(services))
            settle = _cpu(lambda: _pass(services))
            change = _changes(services, ids, sources, changes)
        worker = _spawn("worker", db, server.url)
        floor = _spawn("tuples", db, server.url)
    return {
        "bookings": calendars * per_calendar,
        "calendars": calendars,
        "first_sync_cpu_s": first,
        "first_full_pass_cpu_s": settle,
        **change,
        "full_reassessment_cpu_s": worker["cpu_s"],
        "full_reassessment_assessed": worker["assessed"],
        "worker_peak_rss_mb": worker["rss_mb"],
        "tuples_peak_rss_mb": floor["rss_mb"],
        "rss_ratio": round(worker["rss_mb"] / floor["rss_mb"], 2),
    }


def _services(server: Any, db: Path) -> Any:
    """The clinic's services as a worker opens them (:func:`sync.bootstrap.open_services`)."""
    from sync.bootstrap import open_services

    return open_services(_settings(str(db), server.url))


def _settings(db: str, endpoint: str) -> Any:
    from sync.config import Settings

    return Settings(
        database_url=f"sqlite:///{db}",
        google_api_endpoint=endpoint,
        google_auth="none",
        clinic=CLINIC,
        dry_run=True,
    )


def _connect(services: Any, calendar_ids: list[str]) -> list[int]:
    from sync.store.clinics import get_or_create_clinic
    from sync.store.database import session_scope
    from sync.store.sources import Provider, add_source

    with session_scope(services.engine) as session:
        clinic_id = get_or_create_clinic(session, CLINIC).id
        return [
            add_source(
                session, clinic_id, Provider.GOOGLE, cid, display_name=cid, time_zone="UTC"
            ).id
            for cid in calendar_ids
        ]


def _first_sync(services: Any) -> None:
    from sync.usecases.pull import pull_clinic

    report = pull_clinic(services.engine, services.google, services.reader, CLINIC)
    failed = [pull.error for pull in report.calendars if not pull.ok]
    if failed:
        raise SystemExit(f"a calendar failed: {failed[0]}")


def _pass(services: Any) -> int:
    from sync.usecases.cycle import run_clinic_pass

    report = run_clinic_pass(services, now=datetime.now(UTC))
    return sum(cycle.assessed for cycle in report.cycles)


def _changes(
    services: Any, calendar_ids: list[str], sources: list[int], count: int
) -> dict[str, Any]:
    """Retitle one booking at a time (the last one a booking of the shared name)."""
    from sync.usecases.cycle import run_calendar_cycle

    events = services.google.client.service().events()
    samples: list[tuple[float, float, int]] = []
    for n in range(count):
        calendar_id, source_id = calendar_ids[n % len(sources)], sources[n % len(sources)]
        event_id, name = _pick(events, calendar_id, shared=n == count - 1)
        token = _token(services, source_id)
        body = {"summary": f"Botox {name}" if n == count - 1 else f"Botox {_word(90_000 + n)}"}
        events.patch(calendarId=calendar_id, eventId=event_id, body=body).execute()
        listing = events.list(calendarId=calendar_id, syncToken=token)
        floor = _cpu(listing.execute)
        started = time.thread_time()
        cycle = run_calendar_cycle(services, source_id, now=datetime.now(UTC))
        samples.append((time.thread_time() - started, floor, cycle.assessed))
    return {
        "one_change_cpu_ms": round(statistics.median(s[0] for s in samples) * 1000, 2),
        "one_change_max_cpu_ms": round(max(s[0] for s in samples) * 1000, 2),
        "one_change_floor_ms": round(statistics.median(s[1] for s in samples) * 1000, 2),
        "one_change_assessed": statistics.median(s[2] for s in samples),
        "one_change_max_assessed": max(s[2] for s in samples),
        "shared_name_change_assessed": samples[-1][2],
    }


def _pick(events: Any, calendar_id: str, *, shared: bool) -> tuple[str, str]:
    page = events.list(calendarId=calendar_id, maxResults=250).execute()["items"]
    if shared:
        for item in page:
            if SHARED_NAME in item.get("summary", "") and not item.get("attendees"):
                return str(item["id"]), SHARED_NAME
    return str(page[0]["id"]), ""


def _token(services: Any, source_id: int) -> str:
    from sync.store.database import session_scope
    from sync.store.sources import get_source

    with session_scope(services.engine) as session:
        token = get_source(session, source_id).sync_token
    assert token is not None, "the first sync stored a token"
    return token


def _spawn(kind: str, db: Path, endpoint: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", kind, "--db", str(db), "--endpoint", endpoint]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _child(kind: str, db: str, endpoint: str) -> None:
    """A new process: re-assess the clinic (``worker``) or hold its rows (``tuples``)."""
    from sync.bootstrap import open_services  # the same code as a worker imports
    from sync.usecases.cycle import run_clinic_pass

    started = time.process_time()
    assessed = 0
    if kind == "worker":
        with open_services(_settings(db, endpoint)) as services:
            report = run_clinic_pass(services, now=datetime.now(UTC))
        assessed = sum(cycle.assessed for cycle in report.cycles)
    else:
        import sqlite3

        with sqlite3.connect(db) as connection:
            held = connection.execute("SELECT * FROM bookings").fetchall()
            assessed = len(held)
    rss = _peak_rss_mb()
    cpu = time.process_time() - started
    print(json.dumps({"cpu_s": round(cpu, 3), "rss_mb": round(rss, 1), "assessed": assessed}))


def _peak_rss_mb() -> float:
    """This process's peak resident set (``VmHWM``: ``ru_maxrss`` keeps the parent's after fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _load(server: Any, calendars: int, per_calendar: int) -> list[str]:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    rng = random.Random(7)
    patients = max(1, calendars * per_calendar // BOOKINGS_PER_PATIENT)
    ids = []
    for n in range(calendars):
        cid = server.store.insert_calendar({"summary": f"Practitioner {n}", "timeZone": "UTC"})
        for _ in range(per_calendar):
            server.store.insert_event(cid["id"], _event(now, rng, patients))
        ids.append(cid["id"])
    return ids


def _event(now: datetime, rng: random.Random, patients: int) -> dict[str, Any]:
    start = now + timedelta(days=rng.randint(-170, 350), hours=rng.randint(-6, 6))
    body: dict[str, Any] = {
        "start": {"dateTime": start.isoformat()},
        "end": {"dateTime": (start + timedelta(hours=1)).isoformat()},
    }
    if rng.random() < SHARED_SHARE:
        who = rng.randrange(10**9)
        body["summary"] = rng.choice(TITLES).format(name=SHARED_NAME)
        if rng.random() < 0.8:  # most Jane Does are known by their own e-mail
            body["attendees"] = [{"email": f"jane.doe.{who}@example.com"}]
        return body
    patient = rng.randrange(patients)
    body["summary"] = rng.choice(TITLES).format(name=f"{_word(patient)} {_word(patient * 7 + 3)}")
    if patient % 3 == 0:
        body["attendees"] = [{"email": f"patient{patient}@example.com"}]
    return body


_SYLLABLES = ("ka", "lo", "mi", "ran", "de", "su", "vel", "to", "ni", "ber")


def _word(number: int) -> str:
    """A made-up name part for ``number``: digits never reach a title, so names stay distinct."""
    return "".join(_SYLLABLES[int(d)] for d in str(number)).capitalize()


def _cpu(work: Any) -> float:
    """CPU seconds of this thread doing ``work`` (the emulator's threads are not counted)."""
    started = time.thread_time()
    work()
    return round(time.thread_time() - started, 4)


def _figures(run: dict[str, Any]) -> list[dict[str, Any]]:
    """The headline figures of one run, as :mod:`bench.run` reads them (targets: issue 17)."""
    size = f"{run['bookings']:,} bookings"
    change, floor = run["one_change_cpu_ms"], run["one_change_floor_ms"]
    rss, tuples = run["worker_peak_rss_mb"], run["tuples_peak_rss_mb"]
    full = run["full_reassessment_cpu_s"]
    return [
        _figure(f"one change, then a cycle, CPU, {size}", change, "ms", target=ONE_CHANGE_MS),
        _figure(f"one change vs the bare incremental list, {size}", change, "ms", floor=floor),
        _figure(f"full re-assessment, new process, CPU, {size}", full, "s", target=FULL_PASS_S),
        _figure(f"full re-assessment, peak RSS, {size}", rss, "MB", floor=tuples, target=1.5),
        _figure(f"first sync, client CPU, {size}", run["first_sync_cpu_s"], "s"),
    ]


def _figure(
    name: str, value: float, unit: str, *, floor: float | None = None, target: float | None = None
) -> dict[str, Any]:
    ratio = value / floor if floor else None
    return {
        "name": name,
        "value": value,
        "unit": unit,
        "floor": floor,
        "ratio": ratio,
        "target": target,
    }


def _growth(runs: list[dict[str, Any]]) -> dict[str, Any]:
    first, last = runs[0], runs[-1]
    scale = last["bookings"] / first["bookings"]
    return {
        "bookings_ratio": scale,
        "one_change_cpu_ratio": round(last["one_change_cpu_ms"] / first["one_change_cpu_ms"], 2),
        "full_reassessment_cpu_ratio": round(
            last["full_reassessment_cpu_s"] / first["full_reassessment_cpu_s"], 2
        ),
    }


def _table(results: dict[str, Any]) -> Table:
    table = Table(title=f"Re-assessment cost ({results['machine']})")
    for column in ("bookings", "figure", "clinic-sync", "floor, same run", "ratio"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    for run in results["runs"]:
        size = f"{run['bookings']:,}"
        change, floor = run["one_change_cpu_ms"], run["one_change_floor_ms"]
        rows = [
            ("first sync, client CPU", f"{run['first_sync_cpu_s']:.2f} s", "", ""),
            (
                "one change, then a cycle (CPU, median)",
                f"{change:.1f} ms",
                f"{floor:.1f} ms",
                f"{change / floor:.1f}×" if floor else "",
            ),
            ("  slowest of the changes", f"{run['one_change_max_cpu_ms']:.1f} ms", "", ""),
            (
                "  bookings re-assessed (median / max / shared name)",
                f"{run['one_change_assessed']:.0f} / {run['one_change_max_assessed']} / "
                f"{run['shared_name_change_assessed']}",
                "",
                "",
            ),
            (
                "full re-assessment, new process (CPU)",
                f"{run['full_reassessment_cpu_s']:.2f} s",
                "",
                "",
            ),
            (
                "peak RSS of that process",
                f"{run['worker_peak_rss_mb']:.0f} MB",
                f"{run['tuples_peak_rss_mb']:.0f} MB (rows as tuples)",
                f"{run['rss_ratio']:.2f}×",
            ),
        ]
        for row in rows:
            table.add_row(size, *row)
    return table


if __name__ == "__main__":
    main()
