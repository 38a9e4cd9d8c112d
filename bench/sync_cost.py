"""What Google sync costs: first sync, an idle poll, and a poll after 1% of events changed.

50 calendars × 2,000 events are loaded into the Calendar emulator (sync.emulator); the
pull use case (sync.usecases.pull) syncs them with the real google-api-python-client into a
SQLite store. Measured, with the emulator's request counts
(https://developers.google.com/calendar/api/guides/sync):

- first sync: time, events/s, requests and the client's CPU (this thread, not the
  emulator's), beside two floors measured in the same run, both the bare client listing every
  calendar (same page size) and then one SQLite ``executemany``: of the same rows into the
  product's own tables with their indexes — target ≤ 3× this floor — and into a bare table
  of ten columns, printed without a target. The sync and its floors are measured
  ``FIRST_SYNCS`` times, each round into a store of its own, and the round with the median
  ratio is reported (with every round's ratio): a shared machine's speed drifts between one
  measurement and the next, and a single round's verdict moved between 2.8× and 3.5×;
- an idle poll of every calendar: requests (target: exactly one per calendar);
- a poll after 1% of the events changed, against a naive full re-list of every calendar
  (sync tokens dropped: same page size, every event read and compared with the store):
  requests, events transferred and time — the ratio is the headline.

Prints a table and writes ``bench/results/sync_cost.json``.

Run: ``.venv/bin/python bench/sync_cost.py`` (10 × 1,000 events, under 2 minutes), ``--full``
(50 × 2,000, about 3 minutes) or ``[--calendars 50 --events 2000 --changed 0.01]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from rules.vocabulary import Matcher
from sync.emulator import EmulatorServer
from sync.policy_file import load_policy
from sync.sources.google import CalendarClient, ClientConfig, GoogleAuth, GoogleCalendarSource
from sync.store.clinics import get_or_create_clinic
from sync.store.database import make_engine, session_scope
from sync.store.migrate import upgrade
from sync.store.sources import Provider, add_source, list_sources, save_sync_token
from sync.usecases.pull import BookingReader, PullReport, pull_clinic

RESULTS = Path(__file__).parent / "results" / "sync_cost.json"
CLINIC = "bench"
TITLES = (
    "Botox {name}",
    "Microneedling (SkinPen) - {name}",
    "{name} — Dysport 20u",
    "Consultation {name}",
    "{name} follow-up",
    "Morpheus8 {name}",
)
FIRST_NAMES = 100
LAST_NAMES = 50
"""Made-up names: 5,000 patients, so each has a realistic handful of bookings."""
T = TypeVar("T")
FIRST_SYNC_OVER_FLOOR = 3.0
"""Target: a first sync's client CPU over its floor (issue 17)."""


def main() -> None:
    args = _arguments()
    with EmulatorServer() as server, tempfile.TemporaryDirectory() as tmp:
        results = measure(server, Path(tmp), args.calendars, args.events, args.changed)
    results["figures"] = [_first_sync_figure(results), _indexed_figure(results)] + [
        {"name": f"sync: {key.replace('_', ' ')}, wall", "value": results[key]["seconds"],
         "unit": "s", "floor": None, "ratio": None, "target": None}
        for key in ("first_sync", "idle_poll", "poll_after_change")
    ]  # fmt: skip
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    Console().print(_table(results))
    Console().print(f"written to {RESULTS}")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calendars", type=int, default=10)
    parser.add_argument("--events", type=int, default=1000, help="events per calendar")
    parser.add_argument("--changed", type=float, default=0.01, help="share of events changed")
    parser.add_argument("--full", action="store_true", help="50 calendars × 2,000 events")
    args = parser.parse_args()
    if args.full:
        args.calendars, args.events = 50, 2000
    return args


def measure(
    server: EmulatorServer, tmp: Path, calendars: int, events: int, changed: float
) -> dict[str, Any]:
    """Run every measurement and return them as JSON-ready numbers."""
    ids, load_s = _timed(lambda: _load(server, calendars, events))
    # The emulator runs in this process, so its data (some 200,000 tracked objects at full
    # size) would sit in the collector's oldest generation and be scanned by every full
    # collection of the floor's listing and of the sync alike: a cost of the bench, not of
    # a client talking to Google. Frozen, the collector leaves it alone for both.
    gc.freeze()
    client = CalendarClient(ClientConfig(endpoint=server.url, auth=GoogleAuth.NONE))
    source = GoogleCalendarSource(client)
    reader = BookingReader(Matcher(load_policy()))
    engines: list[Engine] = []
    try:
        # A first sync and its floors, FIRST_SYNCS times, each into a store of its own: a
        # shared machine's speed drifts between one measurement and the next, and the
        # median of the ratios (each taken within one round) is what the target reads.
        rounds = []
        for number in range(FIRST_SYNCS):
            engine = make_engine(f"sqlite:///{tmp}/bench-{number}.db")
            engines.append(engine)
            upgrade(engine)
            _connect(engine, ids)
            floor = _floor(server, client, ids, tmp / f"floor-{number}.db")
            first = _pass(server, engine, source, reader)
            indexed = _indexed_floor(
                engine, ids, tmp / f"indexed-{number}.db", floor["list_cpu_seconds"]
            )
            rounds.append((floor, first, indexed))
        idle = _pass(server, engine, source, reader)
        touched = _change(server, ids, changed)
        after = _pass(server, engine, source, reader)
        naive = _naive(server, engine, source, reader)
    finally:
        client.close()
        for engine in engines:
            engine.dispose()
    floor, first, indexed = _median_round(
        rounds, lambda r: r[1]["cpu_seconds"] / r[2]["cpu_seconds"]
    )
    summary = _summary(calendars, events, load_s, first, idle, touched, after, naive)
    summary["first_sync_floor"] = floor
    summary["first_sync_over_floor"] = round(first["cpu_seconds"] / floor["cpu_seconds"], 2)
    summary["first_sync_indexed_floor"] = indexed
    summary["first_sync_over_indexed_floor"] = round(
        first["cpu_seconds"] / indexed["cpu_seconds"], 2
    )
    summary["first_sync_rounds"] = [
        {
            "cpu_seconds": round_first["cpu_seconds"],
            "floor_cpu_seconds": round_floor["cpu_seconds"],
            "indexed_floor_cpu_seconds": round_indexed["cpu_seconds"],
            "over_indexed_floor": round(
                round_first["cpu_seconds"] / round_indexed["cpu_seconds"], 2
            ),
        }
        for round_floor, round_first, round_indexed in rounds
    ]
    return summary


FIRST_SYNCS = 3
"""Rounds of a first sync with its floors; the round with the median ratio is reported."""


def _median_round(rounds: list[T], ratio: Callable[[T], float]) -> T:
    """The round whose ratio is the median (the lower middle one of an even count)."""
    ordered = sorted(rounds, key=ratio)
    return ordered[(len(ordered) - 1) // 2]


def _first_sync_figure(results: dict[str, Any]) -> dict[str, Any]:
    """The first sync's client CPU beside the bare floor, printed without a target: a table
    without the indexes the product's queries need is not the same work (see
    ``_indexed_figure``)."""
    cpu, floor = results["first_sync"]["cpu_seconds"], results["first_sync_floor"]["cpu_seconds"]
    return {
        "name": f"first sync, client CPU, {results['first_sync']['events_transferred']:,} events",
        "value": round(cpu, 3),
        "unit": "s",
        "floor": round(floor, 3),
        "ratio": results["first_sync_over_floor"],
        "target": None,
    }


def _indexed_figure(results: dict[str, Any]) -> dict[str, Any]:
    """The headline: the first sync's client CPU beside the floor that writes the product's
    own tables, target ≤ 3× (issue 17).

    The issue's "list + insert" floor put 2.0 s on inserting 100k rows; a bare table of ten
    columns takes about a third of that, the product's tables with their indexes about the
    same — so this is the floor the issue measured, and it is the same work the product must
    do.
    """
    events = results["first_sync"]["events_transferred"]
    return {
        "name": f"first sync, client CPU, {events:,} events, floor with the product's tables",
        "value": results["first_sync"]["cpu_seconds"],
        "unit": "s",
        "floor": results["first_sync_indexed_floor"]["cpu_seconds"],
        "ratio": results["first_sync_over_indexed_floor"],
        "target": FIRST_SYNC_OVER_FLOOR,
    }


def _floor(
    server: EmulatorServer, client: CalendarClient, ids: dict[str, list[str]], db: Path
) -> dict[str, Any]:
    """The bare client listing every calendar, then one executemany insert of the rows."""
    events = client.service().events()
    listed, list_cpu = _cpu(lambda: [_list_all(events, calendar_id) for calendar_id in ids])
    rows = [_row(item) for items in listed for item in items]
    _, insert_cpu = _cpu(lambda: _insert_all(db, rows))
    return {
        "cpu_seconds": round(list_cpu + insert_cpu, 3),
        "list_cpu_seconds": round(list_cpu, 3),
        "insert_cpu_seconds": round(insert_cpu, 3),
        "rows": len(rows),
    }


def _indexed_floor(
    engine: Engine, ids: dict[str, list[str]], db: Path, list_cpu: float
) -> dict[str, Any]:
    """The same listing, then one executemany each of the rows the first sync stored into
    the tables it stored them in — bookings and their identity keys, with the indexes and
    constraints of the product's migrations, on a connection set up as the product's is.

    The bare floor inserts into a table of ten columns; this one writes what the product must
    (the same rows, every index its queries need), so the two ratios together tell Python's
    share from SQLite's.
    """
    tables = ("bookings", "booking_identity_keys")
    with engine.connect() as connection:
        stored = {
            table: connection.exec_driver_sql(f"SELECT * FROM {table}").all() for table in tables
        }
        names = {
            table: list(connection.exec_driver_sql(f"SELECT * FROM {table}").keys())
            for table in tables
        }
    empty = make_engine(f"sqlite:///{db}")
    upgrade(empty)
    _connect(empty, ids)
    empty.dispose()
    with sqlite3.connect(db) as connection:
        for pragma in ("foreign_keys=ON", "journal_mode=WAL"):  # as sync.store.database
            connection.execute(f"PRAGMA {pragma}")
        _, insert_cpu = _cpu(lambda: _insert_rows(connection, stored, names))
    return {
        "cpu_seconds": round(list_cpu + insert_cpu, 3),
        "list_cpu_seconds": round(list_cpu, 3),
        "insert_cpu_seconds": round(insert_cpu, 3),
        "rows": {table: len(rows) for table, rows in stored.items()},
    }


def _insert_rows(
    connection: sqlite3.Connection, rows: dict[str, Any], names: dict[str, list[str]]
) -> None:
    for table, columns in names.items():
        marks = ", ".join("?" for _ in columns)
        statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        connection.executemany(statement, [tuple(row) for row in rows[table]])
    connection.commit()


def _list_all(events: Any, calendar_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token = None
    while True:
        page = events.list(
            calendarId=calendar_id, singleEvents=True, maxResults=2500, pageToken=token
        ).execute()
        items += page.get("items", [])
        token = page.get("nextPageToken")
        if not token:
            return items


_FLOOR_COLUMNS = (
    "event_id",
    "ical_uid",
    "etag",
    "summary",
    "description",
    "start_at",
    "end_at",
    "status",
    "attendees",
    "updated",
)


def _row(item: dict[str, Any]) -> tuple[Any, ...]:
    return (
        item["id"],
        item.get("iCalUID", ""),
        item.get("etag"),
        item.get("summary", ""),
        item.get("description", ""),
        item["start"].get("dateTime"),
        item["end"].get("dateTime"),
        item.get("status", "confirmed"),
        json.dumps(item.get("attendees", [])),
        item.get("updated"),
    )


def _insert_all(db: Path, rows: list[tuple[Any, ...]]) -> None:
    with sqlite3.connect(db) as connection:
        names = ", ".join(_FLOOR_COLUMNS)
        connection.execute(f"CREATE TABLE bookings (id INTEGER PRIMARY KEY, {names})")
        marks = ", ".join("?" for _ in _FLOOR_COLUMNS)
        connection.executemany(f"INSERT INTO bookings ({names}) VALUES ({marks})", rows)


def _cpu(work: Callable[[], T]) -> tuple[T, float]:
    """``work``'s result and the CPU seconds this thread spent on it (not the emulator's)."""
    started = time.thread_time()
    result = work()
    return result, time.thread_time() - started


def _load(server: EmulatorServer, calendars: int, events: int) -> dict[str, list[str]]:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    rng = random.Random(7)
    ids: dict[str, list[str]] = {}
    for n in range(calendars):
        calendar_id = server.store.insert_calendar(
            {"summary": f"Practitioner {n}", "timeZone": "Europe/London"}
        )["id"]
        ids[calendar_id] = [
            server.store.insert_event(calendar_id, _event(now, rng))["id"] for _ in range(events)
        ]
    return ids


def _event(now: datetime, rng: random.Random) -> dict[str, Any]:
    start = now + timedelta(days=rng.randint(-170, 350), hours=rng.randint(-6, 6))
    title = rng.choice(TITLES).format(name=_name(rng))
    return {
        "summary": title,
        "start": {"dateTime": start.isoformat()},
        "end": {"dateTime": (start + timedelta(hours=1)).isoformat()},
    }


def _name(rng: random.Random) -> str:
    """A patient's made-up name: with six real names, every booking was one of six patients."""
    # Numbers from 100 up spell two syllables or more: no "Vi" or "Na" read as noise.
    first = FIRST_NAMES + rng.randrange(FIRST_NAMES)
    return f"{_word(first)} {_word(2 * FIRST_NAMES + rng.randrange(LAST_NAMES))}"


def _word(number: int) -> str:
    """A made-up name part unique to ``number`` (letters only: digits are booking noise)."""
    letters = "bcdfghjklmnprstvz"
    vowels = "aeiou"
    out = ""
    while True:
        number, consonant = divmod(number, len(letters))
        number, vowel = divmod(number, len(vowels))
        out += letters[consonant] + vowels[vowel]
        if number == 0:
            return out.capitalize()


def _connect(engine: Engine, ids: dict[str, list[str]]) -> None:
    with session_scope(engine) as session:
        clinic_id = get_or_create_clinic(session, CLINIC).id
        for calendar_id in ids:
            add_source(
                session,
                clinic_id,
                Provider.GOOGLE,
                calendar_id,
                display_name=calendar_id,
                time_zone="Europe/London",
            )


def _pass(
    server: EmulatorServer, engine: Engine, source: GoogleCalendarSource, reader: BookingReader
) -> dict[str, Any]:
    server.reset_stats()
    started = time.thread_time()
    report, seconds = _timed(lambda: pull_clinic(engine, source, reader, CLINIC))
    cpu = time.thread_time() - started
    return _pass_numbers(report, seconds, server.stats()) | {"cpu_seconds": round(cpu, 3)}


def _pass_numbers(report: PullReport, seconds: float, stats: dict[str, int]) -> dict[str, Any]:
    failed = [pull.error for pull in report.calendars if not pull.ok]
    if failed:
        raise SystemExit(f"a calendar failed: {failed[0]}")
    return {
        "seconds": round(seconds, 3),
        "requests": sum(stats.values()),
        "requests_by_method": stats,
        "events_transferred": sum(pull.seen for pull in report.calendars),
        "inserted": sum(pull.inserted for pull in report.calendars),
        "updated": sum(pull.updated for pull in report.calendars),
        "full": all(pull.full for pull in report.calendars),
    }


def _change(server: EmulatorServer, ids: dict[str, list[str]], share: float) -> int:
    rng = random.Random(11)
    everything = [(c, e) for c, events in ids.items() for e in events]
    picked = rng.sample(everything, max(1, round(len(everything) * share)))
    for calendar_id, event_id in picked:
        summary = f"Botox {_name(rng)}"
        server.store.patch_event(calendar_id, event_id, {"summary": summary}, None)
    return len(picked)


def _naive(
    server: EmulatorServer, engine: Engine, source: GoogleCalendarSource, reader: BookingReader
) -> dict[str, Any]:
    """Re-list and re-store every calendar in full, as a client without sync tokens would."""
    with session_scope(engine) as session:
        for connected in list_sources(session):
            save_sync_token(session, connected.id, None)
    return _pass(server, engine, source, reader)


def _summary(
    calendars: int,
    events: int,
    load_s: float,
    first: dict[str, Any],
    idle: dict[str, Any],
    touched: int,
    after: dict[str, Any],
    naive: dict[str, Any],
) -> dict[str, Any]:
    total = calendars * events
    return {
        "machine": f"{platform.python_implementation()} {platform.python_version()} "
        f"on {platform.machine()}",
        "calendars": calendars,
        "events_per_calendar": events,
        "emulator_load_seconds": round(load_s, 3),
        "first_sync": first | {"events_per_second": round(total / first["seconds"])},
        "idle_poll": idle | {"requests_per_calendar": idle["requests"] / calendars},
        "changed_events": touched,
        "poll_after_change": after,
        "naive_full_relist": naive,
        "naive_over_incremental": {
            "seconds": round(naive["seconds"] / after["seconds"], 1),
            "events_transferred": round(
                naive["events_transferred"] / after["events_transferred"], 1
            ),
            "requests": round(naive["requests"] / after["requests"], 2),
        },
    }


def _table(results: dict[str, Any]) -> Table:
    table = Table(
        title=f"Google sync cost: {results['calendars']} calendars × "
        f"{results['events_per_calendar']} events ({results['machine']})"
    )
    for column in ("pass", "requests", "events transferred", "seconds", "note"):
        table.add_column(column, justify="left" if column in ("pass", "note") else "right")
    first, idle = results["first_sync"], results["idle_poll"]
    after, naive = results["poll_after_change"], results["naive_full_relist"]
    ratio = results["naive_over_incremental"]
    table.add_row(
        "first sync (full)", *_cells(first), f"{first['events_per_second']:,} events/s stored"
    )
    floor = results["first_sync_floor"]
    table.add_row(
        "  its client CPU, beside the floor",
        "",
        "",
        f"{first['cpu_seconds']:.2f}",
        f"floor {floor['cpu_seconds']:.2f} s (list {floor['list_cpu_seconds']:.2f} + "
        f"insert {floor['insert_cpu_seconds']:.2f}): {results['first_sync_over_floor']}×",
    )
    indexed = results["first_sync_indexed_floor"]
    table.add_row(
        "  beside the floor with the product's tables",
        "",
        "",
        "",
        f"floor {indexed['cpu_seconds']:.2f} s (insert {indexed['insert_cpu_seconds']:.2f} "
        f"with indexes): {results['first_sync_over_indexed_floor']}×, the median of "
        + ", ".join(f"{r['over_indexed_floor']}×" for r in results["first_sync_rounds"]),
    )
    table.add_row("idle poll", *_cells(idle), f"{idle['requests_per_calendar']:g} per calendar")
    table.add_row(
        f"poll after {results['changed_events']:,} changes", *_cells(after), "incremental"
    )
    table.add_row(
        "naive full re-list",
        *_cells(naive),
        f"{ratio['seconds']}× the time, {ratio['events_transferred']}× the events",
    )
    return table


def _cells(numbers: dict[str, Any]) -> tuple[str, str, str]:
    return (
        str(numbers["requests"]),
        f"{numbers['events_transferred']:,}",
        f"{numbers['seconds']:.2f}",
    )


def _timed(work: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


if __name__ == "__main__":
    main()
