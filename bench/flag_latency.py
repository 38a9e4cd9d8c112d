"""How fast a conflict reaches the calendar, and what idle polling costs (SPEC §6, §9).

1. Flag latency: against the Calendar emulator with the real google-api-python-client and
   a SQLite store, a loop runs :func:`sync.usecases.cycle.run_calendar_cycle` over a clinic's two
   calendars back to back. For each of many patients a microneedling and a Botox a week
   later are inserted; the time from inserting the Botox to its flag being visible through
   events.get is measured (median, p95). With a poll interval, add on average half the
   interval: this is the service's own share.
2. Idle polling: the calendars' events (10 × 1,000 by default, 50 × 2,000 with ``--full``)
   are loaded and pulled; one pass reconciles
   the clinic (a full re-assessment of every booking, dry run), then idle passes over all
   calendars are measured: wall time, CPU time and peak RSS (``resource.getrusage``).
3. With push: the same conflicts, but a :class:`~sync.worker.runner.Worker` on a thread claims
   calendars (every ``worker_claim_seconds``, 2 s by default) and polls them only every
   300 s; the emulator notifies the web app (uvicorn on loopback), whose webhook makes the
   calendar due. The time from inserting the Botox to its flag is measured (median, p95):
   the whole path a clinic sees, Google aside. The bench inserts and watches through a
   client of its own, outside the worker's request budget.
4. One change in that clinic: a booking is retitled, and the cycle of its calendar (pull,
   detection over the bookings the change can reach, dry-run flags) is timed beside the
   full re-assessment, with how many bookings it re-assessed (median of a few changes).

Prints a Rich table and writes ``bench/results/flag_latency.json``. Runs in under 3 minutes.

Run: ``.venv/bin/python bench/flag_latency.py [--pairs 20 --calendars 10 --events 1000]``, or
``--full`` for 50 calendars × 2,000 events and 40 (20 with push) pairs.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from rules.flag import CONFLICT_PROPERTY
from sync.bootstrap import Services, google_client, open_services
from sync.config import Settings
from sync.emulator import EmulatorServer
from sync.store.clinics import get_or_create_clinic
from sync.store.database import session_scope
from sync.store.migrate import upgrade
from sync.store.sources import Provider, add_source
from sync.usecases.cycle import run_calendar_cycle, run_clinic_pass
from sync.usecases.pull import pull_clinic
from sync.web.app import create_app
from sync.web.server import WebServer
from sync.worker.runner import Worker, WorkerOptions

RESULTS = Path(__file__).parent / "results" / "flag_latency.json"
CHANGES = 5
"""Bookings changed one after the other to time incremental detection."""
TITLES = (
    "Botox {name}",
    "Microneedling (SkinPen) - {name}",
    "{name} — Dysport 20u",
    "Consultation {name}",
    "{name} follow-up",
    "Hydrafacial {name}",
)


def main() -> None:
    args = _arguments()
    results: dict[str, Any] = {"machine": f"{platform.system()} {platform.machine()}"}
    with tempfile.TemporaryDirectory() as tmp:
        with EmulatorServer() as server:
            results["latency"] = _latency(server, Path(tmp) / "latency.db", args.pairs)
        with EmulatorServer() as server:
            results["push"] = _push_latency(
                server, Path(tmp) / "push.db", args.push_pairs, args.claim_seconds
            )
        with EmulatorServer() as server:
            results["idle"] = _idle(server, Path(tmp) / "idle.db", args.calendars, args.events)
    results["figures"] = _figures(results)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    Console().print(_table(results))
    Console().print(f"written to {RESULTS}")


def _figures(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The headline figures for bench/run.py (no floor is measured here)."""
    idle = results["idle"]
    found = [
        ("flag latency, median", results["latency"]["median_ms"], "ms"),
        ("flag latency with push, median", results["push"]["median_ms"], "ms"),
        (f"idle pass over {idle['calendars']} calendars, CPU", idle["idle_pass_cpu_s"], "s"),
        ("one change, then a cycle", idle["one_change_cycle_ms"], "ms"),
        ("worker peak RSS", idle["peak_rss_mb"], "MB"),
    ]
    return [
        {"name": name, "value": value, "unit": unit, "floor": None, "ratio": None, "target": None}
        for name, value, unit in found
    ]


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20, help="conflicts inserted one by one")
    parser.add_argument("--push-pairs", type=int, default=10, help="conflicts, with push")
    parser.add_argument(
        "--claim-seconds", type=float, default=2.0, help="the push worker's claim interval"
    )
    parser.add_argument("--calendars", type=int, default=10)
    parser.add_argument("--events", type=int, default=1000, help="events per calendar")
    parser.add_argument(
        "--full", action="store_true", help="50 calendars × 2,000 events, 40 and 20 pairs"
    )
    args = parser.parse_args()
    if args.full:
        args.calendars, args.events, args.pairs, args.push_pairs = 50, 2000, 40, 20
    return args


def _services(server: EmulatorServer, db: Path, **settings: Any) -> Services:
    config = Settings(
        database_url=f"sqlite:///{db}",
        google_api_endpoint=server.url,
        google_auth="none",
        clinic="bench",
        **settings,
    )
    return open_services(config)


def _connect(services: Services, calendar_ids: list[str]) -> list[int]:
    with session_scope(services.engine) as session:
        clinic_id = get_or_create_clinic(session, "bench").id
        return [
            add_source(
                session,
                clinic_id,
                Provider.GOOGLE,
                cid,
                display_name=cid,
                time_zone="Europe/London",
            ).id
            for cid in calendar_ids
        ]


def _latency(server: EmulatorServer, db: Path, pairs: int) -> dict[str, Any]:
    store = server.store
    smith = store.insert_calendar({"summary": "Dr Smith", "timeZone": "Europe/London"})["id"]
    room = store.insert_calendar({"summary": "Room 2", "timeZone": "Europe/London"})["id"]
    with _services(server, db) as services:
        sources = _connect(services, [smith, room])
        run_clinic_pass(services, now=datetime.now(UTC))
        events = services.google.client.service().events()
        samples = []
        day = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
        for n in range(pairs):
            who = [{"email": f"patient{n}@example.com"}]
            _insert(events, smith, f"Microneedling Patient {n}", day + timedelta(days=10), who)
            start = time.perf_counter()
            botox = _insert(events, room, f"Botox Patient {n}", day + timedelta(days=17), who)
            cycles = 0
            while not _flagged(events, room, botox):
                for source_id in sources:
                    run_calendar_cycle(services, source_id, now=datetime.now(UTC))
                cycles += 1
            samples.append((time.perf_counter() - start, cycles))
    seconds = sorted(s for s, _ in samples)
    return {
        "pairs": pairs,
        "median_ms": statistics.median(seconds) * 1000,
        "p95_ms": seconds[max(0, round(0.95 * len(seconds)) - 1)] * 1000,
        "max_ms": seconds[-1] * 1000,
        "cycles_per_flag": statistics.mean(c for _, c in samples),
    }


def _push_latency(server: EmulatorServer, db: Path, pairs: int, claim: float) -> dict[str, Any]:
    store = server.store
    smith = store.insert_calendar({"summary": "Dr Smith", "timeZone": "Europe/London"})["id"]
    room = store.insert_calendar({"summary": "Room 2", "timeZone": "Europe/London"})["id"]
    url = f"sqlite:///{db}"
    upgrade(url)
    web_settings = Settings(database_url=url, google_auth="none", clinic="bench")
    with WebServer(create_app(web_settings)) as web:
        settings = web_settings.model_copy(
            update={
                "google_api_endpoint": server.url,
                "poll_interval_seconds": 300,
                "worker_claim_seconds": claim,
                "public_url": web.url,
                "push_allow_http": True,
            }
        )
        with open_services(settings) as services:
            _connect(services, [smith, room])
            return _push_samples(services, settings, (smith, room), pairs)


def _push_samples(
    services: Services, settings: Settings, calendars: tuple[str, str], pairs: int
) -> dict[str, Any]:
    smith, room = calendars
    worker, stop = Worker(services, WorkerOptions.from_settings(settings)), threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        # The bench inserts and watches through a client of its own: the worker meters the
        # services' client with its per-minute request budget, and watching every 20 ms
        # through it spent that budget in seconds, so flag writes waited out the window.
        events = google_client(settings).service().events()
        time.sleep(3 * settings.worker_claim_seconds + 1)  # first polls open the channels
        day = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
        samples, rng = [], random.Random(3)
        for n in range(pairs):
            # Bookings arrive at any moment of the claim loop's cycle, not in step with it.
            time.sleep(rng.uniform(0, settings.worker_claim_seconds))
            who = [{"email": f"patient{n}@example.com"}]
            _insert(events, smith, f"Microneedling Patient {n}", day + timedelta(days=10), who)
            start = time.perf_counter()
            botox = _insert(events, room, f"Botox Patient {n}", day + timedelta(days=17), who)
            while not _flagged(events, room, botox):
                time.sleep(0.02)
            samples.append(time.perf_counter() - start)
    finally:
        stop.set()
        thread.join()
    seconds = sorted(samples)
    return {
        "pairs": pairs,
        "claim_seconds": settings.worker_claim_seconds,
        "median_ms": statistics.median(seconds) * 1000,
        "p95_ms": seconds[max(0, round(0.95 * len(seconds)) - 1)] * 1000,
        "max_ms": seconds[-1] * 1000,
    }


def _insert(events: Any, calendar: str, summary: str, start: datetime, who: Any) -> str:
    body = {
        "summary": summary,
        "attendees": who,
        "start": {"dateTime": start.isoformat()},
        "end": {"dateTime": (start + timedelta(hours=1)).isoformat()},
    }
    return str(events.insert(calendarId=calendar, body=body).execute()["id"])


def _flagged(events: Any, calendar: str, event_id: str) -> bool:
    item = events.get(calendarId=calendar, eventId=event_id).execute()
    return CONFLICT_PROPERTY in item.get("extendedProperties", {}).get("private", {})


def _idle(server: EmulatorServer, db: Path, calendars: int, per_calendar: int) -> dict[str, Any]:
    ids = _load(server, calendars, per_calendar)
    with _services(server, db, dry_run=True) as services:
        sources = _connect(services, ids)
        load_start = time.perf_counter()
        pull_clinic(services.engine, services.google, services.reader, "bench")
        first_pull = time.perf_counter() - load_start
        start = time.perf_counter()
        settle = run_clinic_pass(services, now=datetime.now(UTC))
        reconcile = time.perf_counter() - start
        conflicts = sum(c.detected for c in settle.cycles)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        passes, start = 3, time.perf_counter()
        for _ in range(passes):
            run_clinic_pass(services, now=datetime.now(UTC))
        wall = (time.perf_counter() - start) / passes
        after = resource.getrusage(resource.RUSAGE_SELF)
        change = _one_change(services, ids[0], sources[0])
    cpu = (after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime) / passes
    return {
        "calendars": calendars,
        "events": calendars * per_calendar,
        "first_pull_s": first_pull,
        "full_reconcile_s": reconcile,
        "conflicts_detected": conflicts,
        "idle_pass_wall_s": wall,
        "idle_pass_cpu_s": cpu,
        "peak_rss_mb": after.ru_maxrss / 1024,
        **change,
    }


def _one_change(services: Services, calendar_id: str, source_id: int) -> dict[str, Any]:
    """Retitle one booking at a time and time the cycle of its calendar."""
    events = services.google.client.service().events()
    listed = events.list(calendarId=calendar_id, maxResults=CHANGES).execute()["items"]
    samples = []
    for n, item in enumerate(listed):
        body = {"summary": f"Botox {_word(5000 + n)} {_word(6000 + n)}"}
        events.patch(calendarId=calendar_id, eventId=item["id"], body=body).execute()
        start = time.perf_counter()
        cycle = run_calendar_cycle(services, source_id, now=datetime.now(UTC))
        samples.append((time.perf_counter() - start, cycle.assessed, len(cycle.pull.changed)))
    return {
        "one_change_cycle_ms": statistics.median(s for s, _, _ in samples) * 1000,
        "one_change_assessed": statistics.median(a for _, a, _ in samples),
        "one_change_max_assessed": max(a for _, a, _ in samples),
        "one_change_changed": max(c for _, _, c in samples),
    }


def _load(server: EmulatorServer, calendars: int, per_calendar: int) -> list[str]:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    rng = random.Random(7)
    ids = []
    for n in range(calendars):
        cid = server.store.insert_calendar(
            {"summary": f"Practitioner {n}", "timeZone": "Europe/London"}
        )["id"]
        for _ in range(per_calendar):
            start = now + timedelta(days=rng.randint(-170, 350), hours=rng.randint(-6, 6))
            name = f"{_word(rng.randrange(100))} {_word(1000 + rng.randrange(50))}"
            body = {
                "summary": rng.choice(TITLES).format(name=name),
                "start": {"dateTime": start.isoformat()},
                "end": {"dateTime": (start + timedelta(hours=1)).isoformat()},
            }
            server.store.insert_event(cid, body)
        ids.append(cid)
    return ids


_SYLLABLES = ("ka", "lo", "mi", "ran", "de", "su", "vel", "to", "ni", "ber")


def _word(number: int) -> str:
    """A made-up name for ``number``: digits never reach a title, so names stay distinct."""
    return "".join(_SYLLABLES[int(d)] for d in str(number)).capitalize()


def _table(results: dict[str, Any]) -> Table:
    latency, idle, push = results["latency"], results["idle"], results["push"]
    table = Table(title=f"Flag latency and idle cost ({results['machine']})")
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        (
            f"insert → flag visible, median ({latency['pairs']} conflicts)",
            f"{latency['median_ms']:.0f} ms",
        ),
        ("insert → flag visible, p95", f"{latency['p95_ms']:.0f} ms"),
        ("cycles of both calendars per flag", f"{latency['cycles_per_flag']:.2f}"),
        (
            f"with push, insert → flag visible, median ({push['pairs']} conflicts, "
            f"claims every {push['claim_seconds']:g} s)",
            f"{push['median_ms']:.0f} ms",
        ),
        ("with push, insert → flag visible, p95", f"{push['p95_ms']:.0f} ms"),
        (
            f"first pull, {idle['calendars']} × {idle['events'] // idle['calendars']:,} events",
            f"{idle['first_pull_s']:.1f} s",
        ),
        (
            f"full reconcile of {idle['events']:,} bookings (dry run)",
            f"{idle['full_reconcile_s']:.2f} s",
        ),
        ("conflicts found by it", f"{idle['conflicts_detected']:,}"),
        (
            "cycle after one booking changed, median (pull + detection + dry-run flags)",
            f"{idle['one_change_cycle_ms']:.0f} ms",
        ),
        (
            "bookings re-assessed by it (median / max)",
            f"{idle['one_change_assessed']:.0f} / {idle['one_change_max_assessed']:,}",
        ),
        ("idle pass over every calendar: wall", f"{idle['idle_pass_wall_s']:.2f} s"),
        ("idle pass over every calendar: CPU", f"{idle['idle_pass_cpu_s']:.2f} s"),
        ("peak RSS of the process", f"{idle['peak_rss_mb']:.0f} MB"),
    ]
    for row in rows:
        table.add_row(*row)
    return table


if __name__ == "__main__":
    main()
