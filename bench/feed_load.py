"""Load on ``clinic-sync serve`` feeds versus a static file, side by side (SPEC §7: cheap to serve).

One command::

    .venv/bin/python bench/feed_load.py [--patients 5000] [--seconds 4]

Builds a clinic of N patients (one microneedling each, a Botox for every third, a
consult for every fifth) in a temporary SQLite store through the store's own
repositories, starts ``clinic-sync serve`` on a loopback port, and drives it with wrk
(Debian package ``wrk``). The same bytes of the clinic feed are then served by
``python -m http.server`` as a static file, with the same wrk settings, so the ratio
to a static file is the headline.

- **warm**: wrk for ``--seconds`` against the cached feed: a 200 (no validators) and a
  304 (``If-None-Match`` for clinic-sync, ``If-Modified-Since`` for the static server);
- **cold**: one request right after a booking changed (the cache misses, the clinic is
  assessed and rendered again), repeated ``--cold-runs`` times; the change is made to
  a consult, so the bytes stay the same and a client holding the ETag still gets 304.

Prints a table and writes ``bench/results/feed_load.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rules.model import Attendee, Booking  # noqa: E402
from sync.feeds.scope import FeedScope, ScopeKind  # noqa: E402
from sync.feeds.tokens import issue_token  # noqa: E402
from sync.store.bookings import upsert_bookings  # noqa: E402
from sync.store.clinics import get_or_create_clinic  # noqa: E402
from sync.store.database import make_engine, session_scope  # noqa: E402
from sync.store.events import StoredEvent  # noqa: E402
from sync.store.migrate import upgrade  # noqa: E402
from sync.store.sources import Provider, add_source  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "feed_load.json"
CLI = Path(sys.executable).with_name("clinic-sync")


def _name(index: int) -> str:
    """A distinct two-word name per index (letters only: digits are booking noise)."""

    def word(n: int) -> str:
        letters = ""
        for _ in range(3):
            letters += "bcdfghklmnprstvz"[n % 16] + "aeiou"[(n // 16) % 5]
            n //= 80
        return letters.capitalize()

    return f"{word(index)} {word(index * 7919 + 13)}"


def _event(event_id: str, day: date, summary: str, email: str) -> StoredEvent:
    booking = Booking(
        id=event_id,
        uid=f"{event_id}@bench",
        calendar="Dr Smith",
        day=day,
        summary=summary,
        attendees=(Attendee(email, response="accepted"),),
        calendar_email="dr.smith@clinic.example",
        organizer_email="dr.smith@clinic.example",
    )
    start = datetime(day.year, day.month, day.day, 10, tzinfo=UTC)
    return StoredEvent(booking=booking, start=start, end=start + timedelta(hours=1))


def build_clinic(url: str, patients: int) -> tuple[str, str, int]:
    """The clinic's store: returns a clinic token, a patient token and the source id."""
    engine = make_engine(url)
    upgrade(engine)
    today = datetime.now(UTC).date()
    events = []
    for i in range(patients):
        name, email = _name(i), f"p{i}@patients.example"
        events.append(
            _event(f"mn{i}", today - timedelta(days=i % 40), f"Microneedling - {name}", email)
        )
        if i % 3 == 0:
            events.append(
                _event(f"bx{i}", today + timedelta(days=30 + i % 20), f"Botox - {name}", email)
            )
        if i % 5 == 0:
            events.append(
                _event(f"co{i}", today + timedelta(days=i % 30), f"Consult - {name}", email)
            )
    with session_scope(engine) as session:
        clinic = get_or_create_clinic(session, "bench", "Bench Clinic")
        source = add_source(
            session,
            clinic.id,
            Provider.GOOGLE,
            "dr.smith@clinic.example",
            display_name="Dr Smith",
            time_zone="UTC",
        )
        for start in range(0, len(events), 1000):
            upsert_bookings(session, source.id, events[start : start + 1000])
        whole = issue_token(session, clinic.id, FeedScope(ScopeKind.CLINIC), now=datetime.now(UTC))
        one = issue_token(
            session,
            clinic.id,
            FeedScope(ScopeKind.PATIENT, "email:p3@patients.example"),
            now=datetime.now(UTC),
        )
    engine.dispose()
    return whole.secret, one.secret, source.id


def touch_consult(url: str, source_id: int, serial: int) -> None:
    """Change a consult's title: the data version moves, eligibility does not."""
    engine = make_engine(url)
    today = datetime.now(UTC).date()
    event = _event("co0", today, f"Consult {'x' * (serial % 7)}- {_name(0)}", "p0@patients.example")
    with session_scope(engine) as session:
        upsert_bookings(session, source_id, [event])
    engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


@contextmanager
def process(args: list[str], env: dict[str, str], cwd: Path) -> Iterator[None]:
    proc = subprocess.Popen(
        args, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], float]:
    request = urllib.request.Request(url, headers=headers or {})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
            status, got = response.status, dict(response.headers)
    except urllib.error.HTTPError as err:
        status, got = err.code, dict(err.headers)
    return status, got, time.perf_counter() - started


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url: str, seconds: float, headers: dict[str, str]) -> dict[str, float]:
    """Requests/s and p50/p99 latency (ms) from one wrk run."""
    args = ["wrk", "-t2", "-c16", f"-d{seconds:g}s", "--latency", "--timeout", "10s"]
    for key, value in headers.items():
        args += ["-H", f"{key}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    latency = {
        p: float(m[1]) * _UNITS[m[2]]
        for p in ("50", "99")
        if (m := re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)\b", out))
    }
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests_per_s": rps,
        "p50_ms": latency.get("50", float("nan")),
        "p99_ms": latency.get("99", float("nan")),
        "errors": float(errors[1]) if errors else 0.0,
    }


def cold(url: str, runs: int, touch: Any, headers: dict[str, str]) -> dict[str, float]:
    """One request after each data change: the cache misses and the feed is rendered again."""
    times, statuses = [], set()
    for serial in range(runs):
        touch(serial)
        time.sleep(1.1)  # past CLINIC_SYNC_FEED_RECHECK_SECONDS
        status, _, elapsed = fetch(url, headers)
        times.append(elapsed * 1000)
        statuses.add(status)
    times.sort()
    return {
        "requests_per_s": 1000 / statistics.mean(times),
        "p50_ms": statistics.median(times),
        "p99_ms": times[-1],
        "statuses": sorted(statuses),  # type: ignore[dict-item]
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--full", action="store_true", help="the default size: it is full")
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        print(
            "wrk is not installed: `apt-get install -y wrk` (Debian) and run again.",
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="feed-load-") as tmp:
        return run(Path(tmp), options)


def run(tmp: Path, options: argparse.Namespace) -> int:
    url = f"sqlite:///{tmp}/bench.db"
    started = time.perf_counter()
    clinic_secret, patient_secret, source_id = build_clinic(url, options.patients)
    print(f"built a clinic of {options.patients} patients in {time.perf_counter() - started:.1f}s")
    port, static_port = free_port(), free_port()
    env = {**os.environ, "CLINIC_SYNC_DATABASE_URL": url, "CLINIC_SYNC_CLINIC": "bench"}
    rows: dict[str, dict[str, Any]] = {}
    base = f"http://127.0.0.1:{port}"
    with process([str(CLI), "serve", "--port", str(port)], env, tmp):
        wait_for(f"{base}/healthz")
        feed = f"{base}/feeds/{clinic_secret}.ics"
        status, headers, first = fetch(feed)
        body_bytes = int(headers["content-length"])
        rows["clinic-sync cold 200 (first request)"] = {
            "p50_ms": first * 1000,
            "statuses": [status],
        }
        etag = headers["etag"]
        touch = lambda serial: touch_consult(url, source_id, serial)  # noqa: E731
        rows["clinic-sync cold 200"] = cold(feed, options.cold_runs, touch, {})
        rows["clinic-sync cold 304"] = cold(feed, options.cold_runs, touch, {"If-None-Match": etag})
        fetch(feed)
        rows["clinic-sync warm 200"] = wrk(feed, options.seconds, {})
        rows["clinic-sync warm 304"] = wrk(feed, options.seconds, {"If-None-Match": etag})
        patient = f"{base}/feeds/{patient_secret}.ics"
        _, patient_headers, _ = fetch(patient)
        rows["clinic-sync warm 200, one patient"] = wrk(patient, options.seconds, {})
        rows["clinic-sync warm 304, one patient"] = wrk(
            patient, options.seconds, {"If-None-Match": patient_headers["etag"]}
        )
        static_dir = tmp / "static"
        static_dir.mkdir()
        with urllib.request.urlopen(feed) as response:
            (static_dir / "clinic.ics").write_bytes(response.read())
    static_cmd = [sys.executable, "-m", "http.server", str(static_port), "--bind", "127.0.0.1"]
    with process(static_cmd, env, static_dir):
        static = f"http://127.0.0.1:{static_port}/clinic.ics"
        wait_for(static)
        modified = fetch(static)[1]["Last-Modified"]
        rows["http.server static 200"] = wrk(static, options.seconds, {})
        rows["http.server static 304"] = wrk(
            static, options.seconds, {"If-Modified-Since": modified}
        )
    report(rows, options, body_bytes)
    return 0


def report(rows: dict[str, dict[str, Any]], options: argparse.Namespace, size: int) -> None:
    print(
        f"\nclinic feed: {options.patients} patients, {size:,} bytes; wrk -t2 -c16 "
        f"{options.seconds:g}s per warm case; cold = {options.cold_runs} requests after a change"
    )
    print(f"{'case':<38} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9}")
    for name, row in rows.items():
        rps = row.get("requests_per_s")
        print(
            f"{name:<38} {rps if rps is not None else float('nan'):>10.1f} "
            f"{row.get('p50_ms', float('nan')):>9.2f} {row.get('p99_ms', float('nan')):>9.2f}"
        )
    ratios = {
        kind: rows[f"clinic-sync warm {kind}"]["requests_per_s"]
        / rows[f"http.server static {kind}"]["requests_per_s"]
        for kind in ("200", "304")
    }
    for kind, ratio in ratios.items():
        print(f"headline: warm {kind} at {ratio:.2f}x the requests/s of a static file")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "patients": options.patients,
        "feed_bytes": size,
        "seconds_per_case": options.seconds,
        "cases": rows,
        "ratio_to_static": ratios,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "figures": [
            {
                "name": f"feed, warm {kind}, requests/s beside a static file",
                "value": rows[f"clinic-sync warm {kind}"]["requests_per_s"],
                "unit": "req/s",
                "floor": rows[f"http.server static {kind}"]["requests_per_s"],
                "ratio": ratio,
                "target": 0.2 if kind == "304" else None,
                "better": "higher",
            }
            for kind, ratio in ratios.items()
        ],
    }
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    raise SystemExit(main())
