"""A worker on a request budget well under its need: requests per minute never above it.

200 calendars, each due every 60 s, in the Calendar emulator (sync.emulator) with Google's
per-minute per-user quota armed at the budget (sync.emulator.quota); one worker
(sync.worker.runner, 4 threads, SQLite) polls them with
``CLINIC_SYNC_GOOGLE_REQUESTS_PER_MINUTE``
set to that budget. Every call the emulator receives is timed, so the run prints the
requests of each sliding minute against the budget, the refusals (goal 0) and how polls
spread over the calendars. Writes ``bench/results/quota.json``.

Run: ``.venv/bin/python bench/quota.py [--budget 120 --calendars 200 --seconds 75]``
(``--seconds 600`` for a longer run).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sync.bootstrap import open_services
from sync.config import Settings
from sync.emulator import EmulatorServer
from sync.emulator.quota import Quota
from sync.store.clinics import get_or_create_clinic
from sync.store.database import make_engine, session_scope
from sync.store.migrate import upgrade
from sync.store.sources import Provider, add_source
from sync.worker.runner import Worker, WorkerOptions

RESULTS = Path(__file__).parent / "results" / "quota.json"


def _seed(emulator: EmulatorServer, url: str, calendars: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    soon = datetime.now(UTC) + timedelta(days=1)
    with session_scope(engine) as session:
        clinic = get_or_create_clinic(session, "default").id
        for number in range(calendars):
            calendar = emulator.store.insert_calendar({"summary": f"Room {number}"})
            start = soon + timedelta(hours=number % 24)
            emulator.store.insert_event(
                str(calendar["id"]),
                {
                    "summary": f"Consultation {number}",
                    "start": {"dateTime": start.isoformat()},
                    "end": {"dateTime": (start + timedelta(hours=1)).isoformat()},
                },
            )
            add_source(
                session,
                clinic,
                Provider.GOOGLE,
                str(calendar["id"]),
                display_name=f"R{number}",
                time_zone="UTC",
            )
    engine.dispose()


def _record_calls(emulator: EmulatorServer) -> list[tuple[float, str]]:
    calls: list[tuple[float, str]] = []
    api = emulator.account.api
    handle = api.handle

    def timed(request: Any) -> Any:
        answer = handle(request)
        calls.append((time.time(), request.path))
        return answer

    api.handle = timed  # type: ignore[method-assign]
    return calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=120)
    parser.add_argument("--calendars", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=75.0)
    parser.add_argument("--full", action="store_true", help="ten minutes (--seconds 600)")
    args = parser.parse_args()
    if args.full:
        args.seconds = 600.0
    with tempfile.TemporaryDirectory() as tmp, EmulatorServer() as emulator:
        url = f"sqlite:///{tmp}/bench.db"
        _seed(emulator, url, args.calendars)
        emulator.account.api.quota.set(Quota(per_user=args.budget))
        calls = _record_calls(emulator)
        settings = Settings(
            database_url=url,
            google_api_endpoint=emulator.url,
            google_auth="none",
            google_requests_per_minute=args.budget,
            worker_threads=4,
        )
        with open_services(settings) as services:
            worker = Worker(services, WorkerOptions.from_settings(settings))
            stop = threading.Event()
            runner = threading.Thread(target=worker.run, args=(stop,))
            started = time.time()
            runner.start()
            time.sleep(args.seconds)
            stop.set()
            runner.join(timeout=120)
        refused = emulator.account.api.quota.refused
        busiest = emulator.account.api.quota.busiest
    times = [at for at, _ in calls]
    per_minute = Counter(int((at - started) // 60) for at in times)
    polls = Counter(path.split("/")[2] for _, path in calls if path.endswith("/events"))
    spread = sorted(polls.values())
    result = {
        "calendars": args.calendars,
        "budget_per_minute": args.budget,
        "seconds": args.seconds,
        "requests": len(times),
        "busiest_sliding_minute": busiest,
        "requests_by_minute": [per_minute[m] for m in sorted(per_minute)],
        "quota_refusals": refused,
        "calendars_polled": len(polls),
        "polls_per_calendar_min_max": [spread[0], spread[-1]] if spread else [0, 0],
    }
    for key, value in result.items():
        print(f"{key:28} {value}")
    result["figures"] = [
        {"name": "quota: busiest sliding minute, requests", "value": busiest, "unit": "",
         "floor": None, "ratio": None, "target": args.budget},
        {"name": "quota: refusals", "value": refused, "unit": "",
         "floor": None, "ratio": None, "target": 0},
    ]  # fmt: skip
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
