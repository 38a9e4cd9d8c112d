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
- **one removal, then a cycle**: a booking is deleted and its calendar's cycle runs (the
  pull marks it and any series instances deleted); median of a few;
- **full re-assessment** in a new process (what a new day, a restart or a 410 costs): a
  child process runs ``sync --once`` (:func:`~sync.usecases.cycle.run_clinic_pass`, dry
  run) on the synced store; CPU and peak RSS, the median of three children, each on its
  own copy of the store. Floor for RSS: a child importing the same code and holding every
  booking row of the store as tuples.

Above 100k bookings only the one-change cycle is measured (the child processes are left
out: a full re-assessment there is the re-check benchmark's business, and each would
cost minutes). Where a run holds 100k bookings and a larger size, the larger size's
one-change cycle is a figure against the 100k cycle of the same run as its floor
(target: within 2×, issue 17). Each phase's wall time and the bench's own peak RSS are
printed as the run goes and kept in the results.

Prints a table and writes ``bench/results/reassessment.json``; ``--profile`` adds one more
change at the largest size under cProfile, to ``bench/results/reassessment-profile.txt``.

Run: ``.venv/bin/python bench/reassessment.py`` (10k bookings, under 2 minutes),
``--full`` (100k and 1M) or ``--bookings 10000 30000 100000`` for a sweep.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import platform
import pstats
import random
import resource
import shutil
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
PROFILE = RESULTS.with_name("reassessment-profile.txt")
CLINIC = "bench"
CHANGES = 7
"""Bookings changed one after the other to time a one-change cycle."""
REMOVALS = 3
"""Bookings then deleted one after the other, each followed by a cycle."""
ONE_CHANGE_MS = 20.0
"""Target: a one-change cycle's CPU at 100k bookings (issue 17)."""
FULL_PASS_S = 5.0
"""Target: a full re-assessment's CPU at 100k bookings (issue 17)."""
GROWTH = 2.0
"""Target: a one-change cycle at 1M bookings against the same at 100k (issue 17)."""
BASE = 100_000
"""The size growth is measured from."""
CHILDREN_UP_TO = 100_000
"""The largest clinic whose full re-assessment runs in child processes."""
FULL_PASSES = 3
"""New processes re-assessing the clinic in full; the median is the figure (a shared
machine's speed drifts by a fifth from one to the next)."""
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
    sizes = [BASE, 1_000_000] if args.full else args.bookings
    started = time.perf_counter()
    runs = [_run(size, args.changes, profile=args.profile and size == max(sizes)) for size in sizes]
    results = {
        "machine": f"{platform.python_implementation()} {platform.python_version()} "
        f"on {platform.machine()}",
        "runs": runs,
        "wall_s": round(time.perf_counter() - started, 1),
    }
    if len(runs) > 1:
        results["growth"] = _growth(runs)
    results["figures"] = [figure for run in runs for figure in _figures(run)]
    results["figures"] += _growth_figures(runs)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    Console().print(_table(results))
    Console().print(f"written to {RESULTS}")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--bookings", type=int, nargs="+", default=[10_000])
    parser.add_argument("--full", action="store_true", help="100k and 1M bookings")
    parser.add_argument("--changes", type=int, default=CHANGES)
    parser.add_argument(
        "--profile",
        action="store_true",
        help=f"profile one more change at the largest size to {PROFILE}",
    )
    parser.add_argument("--child", choices=("worker", "tuples"), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    return parser.parse_args()


def _run(bookings: int, changes: int, *, profile: bool) -> dict[str, Any]:
    from sync.emulator import EmulatorServer

    calendars = 50 if bookings >= 50_000 else 10
    per_calendar = bookings // calendars
    phases = _Phases(calendars * per_calendar)
    with EmulatorServer() as server, tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        ids = phases.run("load the emulator", lambda: _load(server, calendars, per_calendar))
        with _services(server, db) as services:
            sources = _connect(services, ids)
            first = phases.run("first sync", lambda: _cpu(lambda: _first_sync(services)))
            settle = phases.run("settle pass", lambda: _cpu(lambda: _pass(services)))
            change = phases.run(
                "one-change cycles", lambda: _changes(services, ids, sources, changes)
            )
            removal = phases.run("removal cycles", lambda: _removals(services, ids, sources))
            if profile:
                phases.run("profiled change", lambda: _profiled(services, ids, sources))
        children = {}
        if bookings <= CHILDREN_UP_TO:
            children = phases.run("child processes", lambda: _children(db, server.url))
    return {
        "bookings": calendars * per_calendar,
        "calendars": calendars,
        "first_sync_cpu_s": first,
        "first_full_pass_cpu_s": settle,
        **change,
        **removal,
        **children,
        "phases_wall_s": phases.wall,
        "bench_peak_rss_mb": round(_peak_rss_mb(), 1),
    }


class _Phases:
    """Wall time of each phase of a run, printed as it ends (a 1M run takes a while)."""

    def __init__(self, bookings: int) -> None:
        self.bookings = bookings
        self.wall: dict[str, float] = {}

    def run(self, name: str, work: Any) -> Any:
        started = time.perf_counter()
        done = work()
        self.wall[name] = round(time.perf_counter() - started, 1)
        print(
            f"{self.bookings:,} bookings: {name} {self.wall[name]:.1f} s wall, "
            f"peak RSS {_peak_rss_mb():,.0f} MB",
            file=sys.stderr,
            flush=True,
        )
        return done


def _children(db: Path, endpoint: str) -> dict[str, Any]:
    """The full re-assessment ``FULL_PASSES`` times, each in a new process on its own copy
    of the store as the cycles left it (a re-check records what it found: the next one
    would start from there), and the median reported; then the tuples floor once."""
    workers = []
    for number in range(FULL_PASSES):
        copy = db.with_name(f"full-pass-{number}.db")
        shutil.copyfile(db, copy)
        workers.append(_spawn("worker", copy, endpoint))
        copy.unlink()
    worker = sorted(workers, key=lambda done: float(done["cpu_s"]))[(FULL_PASSES - 1) // 2]
    floor = _spawn("tuples", db, endpoint)
    return {
        "full_reassessment_cpu_s": worker["cpu_s"],
        "full_reassessment_cpu_s_runs": [done["cpu_s"] for done in workers],
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

    samples = []
    for n in range(count):
        calendar_id, source_id = calendar_ids[n % len(sources)], sources[n % len(sources)]
        floor = _change(services, calendar_id, source_id, n, shared=n == count - 1)
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


def _removals(services: Any, calendar_ids: list[str], sources: list[int]) -> dict[str, Any]:
    """Delete one booking at a time, each on its own calendar, and run its cycle."""
    from sync.usecases.cycle import run_calendar_cycle

    events = services.google.client.service().events()
    samples = []
    for n in range(REMOVALS):
        calendar_id, source_id = calendar_ids[-1 - n], sources[-1 - n]
        event_id, _ = _pick(events, calendar_id, shared=False)
        events.delete(calendarId=calendar_id, eventId=event_id).execute()
        started = time.thread_time()
        cycle = run_calendar_cycle(services, source_id, now=datetime.now(UTC))
        assert cycle.pull.deleted == 1, cycle.pull
        samples.append(time.thread_time() - started)
    return {"one_removal_cpu_ms": round(statistics.median(samples) * 1000, 2)}


def _change(services: Any, calendar_id: str, source_id: int, n: int, *, shared: bool) -> float:
    """Retitle a booking of ``calendar_id``; the CPU of the bare incremental list it makes."""
    events = services.google.client.service().events()
    event_id, name = _pick(events, calendar_id, shared=shared)
    token = _token(services, source_id)
    body = {"summary": f"Botox {name}" if shared else f"Botox {_word(90_000 + n)}"}
    events.patch(calendarId=calendar_id, eventId=event_id, body=body).execute()
    return _cpu(events.list(calendarId=calendar_id, syncToken=token).execute)


def _profiled(services: Any, calendar_ids: list[str], sources: list[int]) -> None:
    """One more change, its cycle under cProfile, then once more with its SQL statements
    timed and their SQLite query plans (a ``SCAN`` reads a whole table or index)."""
    from sync.usecases.cycle import run_calendar_cycle

    n = len(sources) // 2  # a calendar the timed changes may not have touched
    _change(services, calendar_ids[n], sources[n], 80_000, shared=False)
    profiler = cProfile.Profile()
    profiler.runcall(run_calendar_cycle, services, sources[n], now=datetime.now(UTC))
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(25)
    _change(services, calendar_ids[n + 1], sources[n + 1], 80_001, shared=False)
    with _Statements(services.engine) as statements:
        run_calendar_cycle(services, sources[n + 1], now=datetime.now(UTC))
    out.write(statements.report())
    PROFILE.parent.mkdir(exist_ok=True)
    PROFILE.write_text(out.getvalue(), encoding="utf-8")


class _Statements:
    """The SQL statements an engine runs meanwhile, each timed, with its query plan."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.seen: list[tuple[float, str, Any]] = []
        self._started = 0.0

    def __enter__(self) -> _Statements:
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *_: object) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def _before(self, *_: Any) -> None:
        self._started = time.perf_counter()

    def _after(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        self.seen.append((time.perf_counter() - self._started, statement, parameters))

    def report(self) -> str:
        total = sum(seconds for seconds, _, _ in self.seen)
        lines = [f"\n{len(self.seen)} SQL statements, {total * 1000:.1f} ms wall, slowest first\n"]
        for seconds, statement, parameters in sorted(self.seen, key=lambda s: -s[0]):
            lines.append(f"\n-- {seconds * 1000:.2f} ms\n{' '.join(statement.split())[:600]}\n")
            lines += [f"   plan: {step}\n" for step in self._plan(statement, parameters)]
        return "".join(lines)

    def _plan(self, statement: str, parameters: Any) -> list[str]:
        if not statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "WITH")):
            return []
        with self.engine.connect() as connection:
            cursor = connection.connection.cursor()
            try:
                rows = cursor.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
            except Exception as err:  # a statement the plan cannot be asked for
                return [f"(no plan: {err})"]
            finally:
                cursor.close()
        return [str(row[-1]) for row in rows]


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
    from sync.usecases.collector import collection_free_start

    with collection_free_start():  # as the command line loads a command's code
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
    at_target = run["bookings"] == BASE
    figures = [
        _figure(
            f"one change, then a cycle, CPU, {size}",
            change,
            "ms",
            target=ONE_CHANGE_MS if at_target else None,
        ),
        _figure(f"one change vs the bare incremental list, {size}", change, "ms", floor=floor),
        _figure(f"one removal, then a cycle, CPU, {size}", run["one_removal_cpu_ms"], "ms"),
        _figure(f"first sync, client CPU, {size}", run["first_sync_cpu_s"], "s"),
    ]
    if "full_reassessment_cpu_s" in run:
        rss, tuples = run["worker_peak_rss_mb"], run["tuples_peak_rss_mb"]
        full = run["full_reassessment_cpu_s"]
        figures[3:3] = [
            _figure(f"full re-assessment, new process, CPU, {size}", full, "s", target=FULL_PASS_S),
            _figure(f"full re-assessment, peak RSS, {size}", rss, "MB", floor=tuples, target=1.5),
        ]
    return figures


def _growth_figures(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each size above 100k: its one-change (and one-removal) cycle against the 100k one of
    the same run."""
    base = next((run for run in runs if run["bookings"] == BASE), None)
    if base is None:
        return []
    return [
        _figure(
            f"{what}, then a cycle, CPU, {run['bookings']:,} vs {BASE:,} bookings",
            run[key],
            "ms",
            floor=base[key],
            target=GROWTH if run["bookings"] == 10 * BASE else None,
        )
        for run in runs
        if run["bookings"] > BASE
        for what, key in (
            ("one change", "one_change_cpu_ms"),
            ("one removal", "one_removal_cpu_ms"),
        )
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
    growth = {
        "bookings_ratio": scale,
        "one_change_cpu_ratio": round(last["one_change_cpu_ms"] / first["one_change_cpu_ms"], 2),
    }
    if "full_reassessment_cpu_s" in last:
        growth["full_reassessment_cpu_ratio"] = round(
            last["full_reassessment_cpu_s"] / first["full_reassessment_cpu_s"], 2
        )
    return growth


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
                "one removal, then a cycle (CPU, median)",
                f"{run['one_removal_cpu_ms']:.1f} ms",
                "",
                "",
            ),
            (
                "  bookings re-assessed (median / max / shared name)",
                f"{run['one_change_assessed']:.0f} / {run['one_change_max_assessed']} / "
                f"{run['shared_name_change_assessed']}",
                "",
                "",
            ),
        ]
        if "full_reassessment_cpu_s" in run:
            rows += [
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
        rows.append(("wall time of the run", f"{sum(run['phases_wall_s'].values()):.0f} s", "", ""))
        for row in rows:
            table.add_row(size, *row)
    for figure in _growth_figures(results["runs"]):
        table.add_row(
            "growth",
            figure["name"],
            f"{figure['value']:.1f} ms",
            f"{figure['floor']:.1f} ms",
            f"{figure['ratio']:.2f}× (target {GROWTH:.0f}×)",
        )
    return table


if __name__ == "__main__":
    main()
