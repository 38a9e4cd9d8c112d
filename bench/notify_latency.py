"""Time from a booking to the admin's e-mail, with a worker polling every N seconds (issue 15).

Against the Calendar emulator (real google-api-python-client), a SQLite store and an
aiosmtpd server on loopback, a real :class:`~sync.worker.runner.Worker` runs on a thread:
it polls each calendar every ``--poll`` seconds and runs notifications every ``--notify``
seconds. For each sample a microneedling and, a week later, a Botox for a new patient are
inserted; the clock runs from the Botox insert to the e-mail reaching the SMTP server.

The floor is the same path with no timer to wait for: one clinic pass and one notification
run called back to back right after the insert (pull, detection, flag write, planning,
SMTP). The target is the issue's "within one poll": one poll interval plus one notification
interval plus the floor (the booking just missed both timers). Writes
``bench/results/notify_latency.json`` with a ``figures`` list of
``{name, value, unit, floor, ratio, target}``.

Run: ``.venv/bin/python bench/notify_latency.py [--samples 8 --poll 5 --notify 1]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import socket
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from rich.console import Console
from rich.table import Table

from sync.bootstrap import open_services
from sync.config import Settings
from sync.emulator import EmulatorServer
from sync.notify.job import open_channels, run_notifications
from sync.store.clinics import get_or_create_clinic
from sync.store.database import make_engine, session_scope
from sync.store.migrate import upgrade
from sync.store.sources import Provider, add_source
from sync.store.tables import MembershipRow
from sync.store.users import add_user
from sync.usecases.cycle import run_clinic_pass
from sync.worker.runner import Worker, WorkerOptions

RESULTS = Path(__file__).parent / "results" / "notify_latency.json"
ADMIN = "admin@bench.example"


class _Inbox:
    def __init__(self) -> None:
        self.arrivals: list[float] = []

    async def handle_DATA(self, _server: Any, _session: Any, _envelope: Any) -> str:
        self.arrivals.append(time.perf_counter())
        return "250 OK"


def main() -> None:
    args = _arguments()
    inbox, port = _Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with tempfile.TemporaryDirectory() as tmp, EmulatorServer() as server:
            settings = _settings(server, Path(tmp) / "bench.db", port, args)
            calendars = _setup(server, settings)
            floor = _floor(settings, calendars, inbox, args.samples)
            worker = _worker_samples(settings, calendars, inbox, args.samples)
    finally:
        controller.stop()
    _report(args, floor, worker)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--samples", type=int, default=8, help="bookings timed")
    parser.add_argument("--poll", type=int, default=5, help="seconds between polls")
    parser.add_argument("--notify", type=float, default=1.0, help="seconds between runs")
    # make bench FULL=1 passes --full to every script (bench/run.py): the latency of one
    # booking does not grow with a clinic, so the default is its full size.
    parser.add_argument("--full", action="store_true", help="the default size")
    return parser.parse_args()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _settings(server: EmulatorServer, db: Path, port: int, args: argparse.Namespace) -> Settings:
    return Settings(
        database_url=f"sqlite:///{db}",
        google_api_endpoint=server.url,
        google_auth="none",
        clinic="bench",
        # Plain http: the worker opens no push channel, so polling alone finds the booking.
        public_url="http://127.0.0.1:8000",
        poll_interval_seconds=args.poll,
        worker_claim_seconds=min(1.0, args.poll / 2),
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        notify_every_seconds=args.notify,
    )


def _setup(server: EmulatorServer, settings: Settings) -> tuple[str, str]:
    smith = str(server.store.insert_calendar({"summary": "Dr Smith", "timeZone": "UTC"})["id"])
    room = str(server.store.insert_calendar({"summary": "Room 2", "timeZone": "UTC"})["id"])
    engine = make_engine(settings.database_url)
    upgrade(engine)
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        clinic = get_or_create_clinic(session, "bench")
        for calendar in (smith, room):
            add_source(
                session,
                clinic.id,
                Provider.GOOGLE,
                calendar,
                display_name=calendar,
                time_zone="UTC",
                now=now,
            )
        user = add_user(session, ADMIN, "x", now=now)
        session.add(
            MembershipRow(user_id=user.id, clinic_id=clinic.id, role="admin", created_at=now)
        )
    engine.dispose()
    return smith, room


def _book(events: Any, calendars: tuple[str, str], n: int) -> None:
    day = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    who = [{"email": f"patient{n}@example.com"}]
    for calendar, title, offset in (
        (calendars[0], "Microneedling", 10),
        (calendars[1], "Botox", 17),
    ):
        start = day + timedelta(days=offset)
        body = {
            "summary": f"{title} Patient {n}",
            "start": {"dateTime": start.isoformat()},
            "end": {"dateTime": (start + timedelta(hours=1)).isoformat()},
            "attendees": who,
        }
        # The emulator may have closed an idle keep-alive connection: retry once on that.
        events.insert(calendarId=calendar, body=body).execute(num_retries=2)


def _wait_for(inbox: _Inbox, count: int, timeout: float = 120.0) -> float:
    deadline = time.perf_counter() + timeout
    while len(inbox.arrivals) < count:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"no e-mail within {timeout} s")
        time.sleep(0.01)
    return inbox.arrivals[count - 1]


def _floor(
    settings: Settings, calendars: tuple[str, str], inbox: _Inbox, samples: int
) -> list[float]:
    """The path itself: a pass and a notification run right after the insert."""
    seconds = []
    with open_services(settings) as services, open_channels(services.engine, settings) as channels:
        events = services.google.client.service().events()
        run_clinic_pass(services, now=datetime.now(UTC))
        for n in range(samples):
            _book(events, calendars, 1000 + n)
            start = time.perf_counter()
            run_clinic_pass(services, now=datetime.now(UTC))
            run_notifications(
                services.engine, settings, datetime.now(UTC), channels=channels, owner="floor"
            )
            seconds.append(_wait_for(inbox, n + 1) - start)
    return seconds


def _worker_samples(
    settings: Settings, calendars: tuple[str, str], inbox: _Inbox, samples: int
) -> list[float]:
    seconds = []
    with open_services(settings) as services:
        worker, stop = Worker(services, WorkerOptions.from_settings(settings)), threading.Event()
        thread = threading.Thread(target=worker.run, args=(stop,))
        thread.start()
        try:
            events = services.google.client.service().events()
            seen, rng = len(inbox.arrivals), random.Random(15)
            time.sleep(settings.poll_interval_seconds + 1)  # first polls done
            for n in range(samples):
                _book(events, calendars, n)
                start = time.perf_counter()
                seen += 1
                seconds.append(_wait_for(inbox, seen) - start)
                time.sleep(rng.uniform(0, settings.poll_interval_seconds))  # a random phase
        finally:
            stop.set()
            thread.join()
    return seconds


def _report(args: argparse.Namespace, floor: list[float], worker: list[float]) -> None:
    floor_median = statistics.median(floor)
    # At worst the booking just missed a poll and its flag just missed a notification run.
    target = round(args.poll + args.notify + floor_median, 1)
    ordered = sorted(worker)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    measured: list[tuple[str, float]] = [
        ("booking to e-mail, median", statistics.median(worker)),
        ("booking to e-mail, p95", p95),
        ("booking to e-mail, max", ordered[-1]),
    ]

    def figure(name: str, value: float) -> dict[str, Any]:
        return {
            "name": name,
            "value": round(value, 3),
            "unit": "s",
            "floor": round(floor_median, 3),
            "ratio": round(value / floor_median, 2),
            "target": target,
            "target_on": "value",  # seconds from booking to e-mail; the floor is shown beside
        }

    figures = [figure(name, value) for name, value in measured]
    figures.append(figure("path alone (no timers), median", floor_median))
    table = Table(title=f"Booking → e-mail: poll every {args.poll} s, notify every {args.notify} s")
    for column in ("", "seconds", "floor", "ratio", "target"):
        table.add_column(column, justify="right" if column else "left")
    for item in figures:
        table.add_row(
            item["name"],
            f"{item['value']:.2f}",
            f"{item['floor']:.2f}",
            f"{item['ratio']:.1f}×",
            f"≤ {item['target']:g}",
        )
    Console().print(table)
    RESULTS.parent.mkdir(exist_ok=True)
    summary = {
        "machine": f"{platform.system()} {platform.machine()}",
        "python": platform.python_version(),
        "samples": args.samples,
        "poll_seconds": args.poll,
        "notify_seconds": args.notify,
        "figures": figures,
    }
    RESULTS.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    Console().print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
