"""What an idle poll costs beside the bare client making the same requests (SPEC §9, issue 17).

``--calendars`` calendars of ``--events`` events each are loaded into the Calendar
emulator (:mod:`sync.emulator`, in this process on its own thread) and pulled once into a
SQLite store (:func:`sync.usecases.pull.pull_clinic` with the real
google-api-python-client). Nothing changes after that, and then, in the same run:

- **clinic-sync**: an idle poll of every calendar (``pull_clinic``: one ``events.list``
  with the calendar's sync token each, read against the store, nothing to write);
- **floor**: the bare client sending the same requests — ``events.list`` with the same
  sync token, ``singleEvents`` and page size, over one ``CalendarClient`` — and nothing else
  (no store, no reading).

CPU time is the calling thread's (``time.thread_time``): the emulator's own work, on its
thread, is left out of both. Each side is the median of ``--repeat`` passes, alternated.
Target: ≤ 3× the floor. Prints a table and writes ``bench/results/idle_poll.json``
(with the ``figures`` list :mod:`bench.run` reads).

Run: ``.venv/bin/python bench/idle_poll.py [--calendars 50 --events 200]``, or ``--full``
for 2,000 events a calendar.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rules.vocabulary import Matcher
from sync.emulator import EmulatorServer
from sync.policy_file import load_policy
from sync.sources.google import CalendarClient, ClientConfig, GoogleAuth, GoogleCalendarSource
from sync.store.clinics import get_or_create_clinic
from sync.store.database import make_engine, session_scope
from sync.store.migrate import upgrade
from sync.store.sources import Provider, add_source, list_sources
from sync.usecases.pull import BookingReader, pull_clinic

RESULTS = Path(__file__).parent / "results" / "idle_poll.json"
CLINIC = "bench"
TARGET = 3.0
_TITLES = ("Botox {name}", "Microneedling - {name}", "Consultation {name}", "{name} review")


def main() -> None:
    args = _arguments()
    events = 2000 if args.full else args.events
    with EmulatorServer() as server, tempfile.TemporaryDirectory() as tmp:
        result = measure(server, Path(tmp), args.calendars, events, args.repeat)
    _print(result)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calendars", type=int, default=50)
    parser.add_argument("--events", type=int, default=200, help="events per calendar")
    parser.add_argument("--repeat", type=int, default=5, help="passes of each side (median)")
    parser.add_argument("--full", action="store_true", help="2,000 events per calendar")
    return parser.parse_args()


def measure(
    server: EmulatorServer, tmp: Path, calendars: int, events: int, repeat: int
) -> dict[str, Any]:
    """Load, pull once, then time idle polls and the bare client's same requests."""
    ids = _load(server, calendars, events)
    engine = make_engine(f"sqlite:///{tmp}/bench.db")
    upgrade(engine)
    _connect(engine, ids)
    client = CalendarClient(ClientConfig(endpoint=server.url, auth=GoogleAuth.NONE))
    source = GoogleCalendarSource(client)
    reader = BookingReader(Matcher(load_policy()))
    try:
        pull_clinic(engine, source, reader, CLINIC)
        tokens = _tokens(engine)
        ours, floor, requests = [], [], []
        for _ in range(repeat):
            server.reset_stats()
            ours.append(_cpu(lambda: pull_clinic(engine, source, reader, CLINIC)))
            requests.append(sum(server.stats().values()))
            floor.append(_cpu(lambda: _bare(client, tokens, source.page_size)))
    finally:
        client.close()
        engine.dispose()
    value, bare = statistics.median(ours), statistics.median(floor)
    return {
        "machine": f"{platform.python_implementation()} {platform.python_version()}",
        "calendars": calendars,
        "events_per_calendar": events,
        "requests_per_poll": statistics.median(requests),
        "idle_poll_cpu_s": ours,
        "bare_client_cpu_s": floor,
        "figures": [
            {
                "name": f"idle poll of {calendars} calendars, client CPU",
                "value": value * 1000,
                "unit": "ms",
                "floor": bare * 1000,
                "ratio": value / bare,
                "target": TARGET,
            }
        ],
    }


def _load(server: EmulatorServer, calendars: int, events: int) -> list[str]:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    rng = random.Random(7)
    ids = []
    for number in range(calendars):
        calendar = {"summary": f"Practitioner {number}", "timeZone": "Europe/London"}
        calendar_id = server.store.insert_calendar(calendar)["id"]
        for _ in range(events):
            start = now + timedelta(days=rng.randint(-170, 350), hours=rng.randint(-6, 6))
            name = f"Patient {rng.randrange(5000)}"
            server.store.insert_event(
                calendar_id,
                {
                    "summary": rng.choice(_TITLES).format(name=name),
                    "start": {"dateTime": start.isoformat()},
                    "end": {"dateTime": (start + timedelta(hours=1)).isoformat()},
                },
            )
        ids.append(calendar_id)
    return ids


def _connect(engine: Any, ids: list[str]) -> None:
    with session_scope(engine) as session:
        clinic_id = get_or_create_clinic(session, CLINIC).id
        for calendar_id in ids:
            add_source(
                session, clinic_id, Provider.GOOGLE, calendar_id,
                display_name=calendar_id, time_zone="Europe/London",
            )  # fmt: skip


def _tokens(engine: Any) -> dict[str, str]:
    with session_scope(engine) as session:
        return {s.external_id: s.sync_token for s in list_sources(session) if s.sync_token}


def _bare(client: CalendarClient, tokens: dict[str, str], page_size: int) -> None:
    events = client.service().events()
    for calendar_id, token in tokens.items():
        events.list(
            calendarId=calendar_id, singleEvents=True, maxResults=page_size, syncToken=token
        ).execute()


def _cpu(work: Any) -> float:
    started = time.thread_time()
    work()
    return time.thread_time() - started


def _print(result: dict[str, Any]) -> None:
    figure = result["figures"][0]
    print(
        f"{result['calendars']} calendars × {result['events_per_calendar']} events, "
        f"{result['requests_per_poll']:.0f} requests a poll"
    )
    print(f"{'idle poll (clinic-sync)':<28} {figure['value']:8.1f} ms CPU")
    print(f"{'bare client, same requests':<28} {figure['floor']:8.1f} ms CPU")
    print(f"{'ratio':<28} {figure['ratio']:8.2f}×   (target ≤ {TARGET}×)")


if __name__ == "__main__":
    main()
