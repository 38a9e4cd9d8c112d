"""One patient's feed under load beside nginx serving the same bytes (SPEC §7, issue 17).

One command::

    .venv/bin/python bench/feed_load.py [--full] [--workers 2] [--seconds 4]

Builds clinics of two sizes (N and 10×N patients: a microneedling each, a Botox for every
third, a consult for every fifth) in temporary SQLite stores through the store's own
repositories, and for each serves the web app in ``--workers`` processes sharing one
listening socket (each process its own app, as ``clinic-sync serve`` makes it), then:

- **after a change**: one patient's booking is moved and that patient's feed fetched
  (``--cold-runs`` times, past the recheck time): the time to a fresh render, which
  must not grow with the clinic;
- **warm** (the larger clinic): wrk ``-t2 -c16`` for ``--seconds`` against the patient's
  cached feed, a 200 and a 304 (``If-None-Match``);
- **floor**: nginx (Debian package ``nginx``, ``worker_processes auto``) serving the same
  bytes as a static file, with the same wrk settings, a 200 and a 304, in the same run.

Each warm case also reports the CPU a request cost the serving processes (their user and
system time from ``/proc/<pid>/stat`` over the wrk run, divided by the requests wrk
counted): on a shared machine requests/s follow the other load, CPU per request much less.

``--callgrind N`` measures instead the instructions one 304 costs: one web app process
under ``valgrind --tool=callgrind`` (the smaller clinic), warmed up, its counters zeroed,
then ``N`` requests with ``If-None-Match`` one after the other on one keep-alive
connection, and the count dumped; instructions divided by ``N``, start-up left out.
Instruction counts repeat from run to run whatever else the machine does.

Needs ``wrk`` and ``nginx`` (``apt-get install -y wrk nginx``). Prints a table and writes
``bench/results/feed_load.json`` with its figures.
"""

from __future__ import annotations

import argparse
import functools
import http.client
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
from rules.vocabulary import Matcher  # noqa: E402
from sync.feeds.scope import FeedScope, ScopeKind  # noqa: E402
from sync.feeds.tokens import issue_token  # noqa: E402
from sync.policy_file import load_policy  # noqa: E402
from sync.store.bookings import upsert_bookings  # noqa: E402
from sync.store.clinics import get_or_create_clinic  # noqa: E402
from sync.store.data_version import bump_data_version  # noqa: E402
from sync.store.database import make_engine, session_scope  # noqa: E402
from sync.store.events import StoredEvent  # noqa: E402
from sync.store.migrate import upgrade  # noqa: E402
from sync.store.sources import Provider, add_source, get_source  # noqa: E402
from sync.usecases.pull import BookingReader  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "feed_load.json"
READER = BookingReader(Matcher(load_policy()))
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
    """The clinic's store: returns a clinic token, patient p0's token and the source id."""
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
            batch = READER.read(events[start : start + 1000])  # as a pull reads them
            upsert_bookings(session, source.id, batch)
        bump_data_version(session, clinic.id, datetime.now(UTC))  # as a pull does
        whole = issue_token(
            session, clinic.id, FeedScope(ScopeKind.CLINIC), actor="bench", now=datetime.now(UTC)
        )
        one = issue_token(
            session,
            clinic.id,
            FeedScope(ScopeKind.PATIENT, "email:p0@patients.example"),
            actor="bench",
            now=datetime.now(UTC),
        )
    engine.dispose()
    return whole.secret, one.secret, source.id


def move_microneedling(url: str, source_id: int, serial: int) -> None:
    """Move patient p0's microneedling by a day: the patient's feed must change."""
    engine = make_engine(url)
    day = datetime.now(UTC).date() - timedelta(days=serial % 2)
    event = _event("mn0", day, f"Microneedling - {_name(0)}", "p0@patients.example")
    with session_scope(engine) as session:
        upsert_bookings(session, source_id, READER.read([event]))
        clinic_id = get_source(session, source_id).clinic_id
        bump_data_version(session, clinic_id, datetime.now(UTC))  # as a pull does
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
def process(args: list[str], env: dict[str, str], cwd: Path) -> Iterator[int]:
    proc = subprocess.Popen(
        args, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield proc.pid
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
    return status, {k.lower(): v for k, v in got.items()}, time.perf_counter() - started


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes ``pids`` have used so far."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15
    return ticks / os.sysconf("SC_CLK_TCK")


def wrk(url: str, seconds: float, headers: dict[str, str], pids: list[int]) -> dict[str, float]:
    """Requests/s, p50/p99 latency (ms) and the servers' CPU µs a request from one wrk run."""
    args = ["wrk", "-t2", "-c16", f"-d{seconds:g}s", "--latency", "--timeout", "10s"]
    for key, value in headers.items():
        args += ["-H", f"{key}: {value}"]
    cpu = cpu_seconds(pids)
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(pids) - cpu
    requests = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
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
        "requests": float(requests),
        "cpu_us_per_request": cpu / requests * 1e6,
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
    parser.add_argument("--patients", type=int, default=None, help="the smaller clinic's size")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2, help="web app processes")
    parser.add_argument("--full", action="store_true", help="clinics of 10,000 and 100,000")
    parser.add_argument(
        "--callgrind", type=int, default=None, metavar="N", help="instructions a 304 costs"
    )
    parser.add_argument("--serve-fd", type=int, default=None, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve_fd is not None:
        return serve_on(options.serve_fd)
    options.patients = options.patients or (10_000 if options.full else 1_000)
    if options.callgrind is not None:
        with tempfile.TemporaryDirectory(prefix="feed-callgrind-") as tmp:
            return instructions(Path(tmp), options.patients, options.callgrind)
    missing = [tool for tool in ("wrk", "nginx") if shutil.which(tool) is None]
    if missing:
        print(f"missing {', '.join(missing)}: `apt-get install -y wrk nginx`", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="feed-load-") as tmp:
        return run(Path(tmp), options)


def serve_on(fd: int) -> int:
    """One worker process: the web app on the inherited listening socket (as ``serve`` runs it)."""
    from sync.config import Settings
    from sync.web.app import create_app
    from sync.web.server import run_web

    sock = socket.socket(fileno=fd)
    settings = Settings()
    run_web(create_app(settings), sock, forwarded_allow_ips="127.0.0.1")
    return 0


@contextmanager
def web_app(
    url: str, workers: int, tmp: Path, wrapper: tuple[str, ...] = (), timeout: float = 30.0
) -> Iterator[tuple[str, list[int]]]:
    """``workers`` processes serving the app on one loopback socket: the base URL, their pids.

    ``wrapper`` is put before each process's command (``valgrind …``).
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    listener.set_inheritable(True)
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    env = {
        **os.environ,
        "CLINIC_SYNC_DATABASE_URL": url,
        "CLINIC_SYNC_CLINIC": "bench",
        "CLINIC_SYNC_LOG_LEVEL": "WARNING",
    }
    command = [*wrapper, sys.executable, __file__, "--serve-fd", str(listener.fileno())]
    procs = [
        subprocess.Popen(
            command, env=env, cwd=tmp, pass_fds=(listener.fileno(),),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]  # fmt: skip
    try:
        wait_for(f"{base}/healthz", timeout)
        yield base, [proc.pid for proc in procs]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=15)
        listener.close()


def instructions(tmp: Path, patients: int, count: int) -> int:
    """Print the instructions one warm 304 costs a web app process (``--callgrind``)."""
    url = f"sqlite:///{tmp}/bench.db"
    _, secret, _ = build_clinic(url, patients)
    out = tmp / "callgrind.out"
    wrapper = ("valgrind", "--tool=callgrind", f"--callgrind-out-file={out}")
    with web_app(url, 1, tmp, wrapper, timeout=600) as (base, pids):
        path = f"/feeds/{secret}.ics"
        etag = fetch(base + path)[1]["etag"]
        host, port = base.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=120)
        ask = functools.partial(_ask, connection, path, {"If-None-Match": etag})
        for _ in range(200):  # warm: the answer's header list is made, the code paths run
            ask()
        subprocess.run(
            ["callgrind_control", "--zero", str(pids[0])], check=True, capture_output=True
        )
        for _ in range(count):
            ask()
        subprocess.run(
            ["callgrind_control", "--dump", str(pids[0])], check=True, capture_output=True
        )
        connection.close()
        dumps = sorted(tmp.glob("callgrind.out.*"))
        total = _summary(dumps[-1])
    each = total / count
    print(f"{count:,} warm 304s, one keep-alive connection: {each:,.0f} instructions each")
    return 0


def _ask(connection: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> None:
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.read()
    if response.status != 304:
        raise RuntimeError(f"expected a 304, got {response.status}")


def _summary(dump: Path) -> int:
    """The instructions counted in one callgrind dump (its ``summary:`` line)."""
    for line in dump.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"no summary in {dump}")


_NGINX = """worker_processes auto; daemon off; pid {tmp}/nginx.pid; error_log {tmp}/nginx.log;
events {{ worker_connections 1024; }}
http {{ access_log off; client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  server {{ listen 127.0.0.1:{port}; root {root};
    location / {{ default_type "text/calendar; charset=utf-8"; }} }} }}
"""


@contextmanager
def nginx(root: Path, tmp: Path) -> Iterator[tuple[str, list[int]]]:
    """nginx serving ``root``: the base URL and the pids of its master and workers."""
    port = free_port()
    tmp.chmod(0o755)  # nginx's workers run as an unprivileged user: they must read the file
    conf = tmp / "nginx.conf"
    conf.write_text(_NGINX.format(tmp=tmp, port=port, root=root))
    with process(["nginx", "-c", str(conf), "-p", str(tmp)], dict(os.environ), tmp) as master:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/feed.ics")
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        yield base, [master, *map(int, children)]


def run(tmp: Path, options: argparse.Namespace) -> int:
    rows: dict[str, dict[str, Any]] = {}
    sizes = (options.patients, options.patients * 10)
    body = b""
    for size in sizes:
        url = f"sqlite:///{tmp}/bench-{size}.db"
        started = time.perf_counter()
        _, patient_secret, source_id = build_clinic(url, size)
        print(f"built a clinic of {size:,} patients in {time.perf_counter() - started:.1f}s")
        with web_app(url, options.workers, tmp) as (base, pids):
            feed = f"{base}/feeds/{patient_secret}.ics"
            fetch(feed)
            touch = functools.partial(move_microneedling, url, source_id)
            rows[f"patient feed after a change, {size:,} patients"] = cold(
                feed, options.cold_runs, touch, {}
            )
            if size != sizes[-1]:
                continue
            _, headers, _ = fetch(feed)
            with urllib.request.urlopen(feed) as response:
                body = response.read()
            rows["clinic-sync warm 200"] = wrk(feed, options.seconds, {}, pids)
            rows["clinic-sync warm 304"] = wrk(
                feed, options.seconds, {"If-None-Match": headers["etag"]}, pids
            )
    root = tmp / "static"
    root.mkdir()
    (root / "feed.ics").write_bytes(body)
    with nginx(root, tmp) as (base, pids):
        static = f"{base}/feed.ics"
        etag = fetch(static)[1]["etag"]
        rows["nginx static 200"] = wrk(static, options.seconds, {}, pids)
        rows["nginx static 304"] = wrk(static, options.seconds, {"If-None-Match": etag}, pids)
    report(rows, options, sizes, len(body))
    return 0


_WHO = ("clinic-sync warm", "nginx static")


def report(
    rows: dict[str, dict[str, Any]], options: argparse.Namespace, sizes: tuple[int, int], size: int
) -> None:
    print(
        f"\none patient's feed, {size:,} bytes; web app in {options.workers} processes; "
        f"wrk -t2 -c16 {options.seconds:g}s per warm case"
    )
    print(f"{'case':<46} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'CPU µs/req':>11}")
    nan = float("nan")
    for name, row in rows.items():
        rps = row.get("requests_per_s")
        print(
            f"{name:<46} {rps if rps is not None else nan:>10.1f} "
            f"{row.get('p50_ms', nan):>9.2f} {row.get('p99_ms', nan):>9.2f} "
            f"{row.get('cpu_us_per_request', nan):>11.1f}"
        )
    ratios = {
        kind: rows[f"clinic-sync warm {kind}"]["requests_per_s"]
        / rows[f"nginx static {kind}"]["requests_per_s"]
        for kind in ("200", "304")
    }
    small, large = (rows[f"patient feed after a change, {n:,} patients"] for n in sizes)
    figures = [
        {
            "name": f"one patient's feed, warm {kind}, req/s beside nginx",
            "value": rows[f"clinic-sync warm {kind}"]["requests_per_s"],
            "unit": "req/s",
            "floor": rows[f"nginx static {kind}"]["requests_per_s"],
            "ratio": ratio,
            "target": 0.2 if kind == "304" else None,
            "better": "higher",
        }
        for kind, ratio in ratios.items()
    ]
    for kind in ("200", "304"):
        app, floor = (rows[f"{who} {kind}"]["cpu_us_per_request"] for who in _WHO)
        figures.append({
            "name": f"one patient's feed, warm {kind}, CPU a request beside nginx",
            "value": app, "unit": "µs", "floor": floor, "ratio": app / floor, "target": None,
        })  # fmt: skip
    figures.append({
        "name": "one patient's feed, warm 304, p99 at 16 connections",
        "value": rows["clinic-sync warm 304"]["p99_ms"], "unit": "ms",
        "floor": rows["nginx static 304"]["p99_ms"], "ratio": None, "target": 20,
    })  # fmt: skip
    for n, row in zip(sizes, (small, large), strict=True):
        figures.append({
            "name": f"one patient's feed after a change, {n:,} patients (median)",
            "value": row["p50_ms"], "unit": "ms", "floor": None, "ratio": None, "target": 50,
        })  # fmt: skip
    figures.append({
        "name": f"patient feed after a change, {sizes[1]:,} vs {sizes[0]:,} patients",
        "value": large["p50_ms"], "unit": "ms", "floor": small["p50_ms"],
        "ratio": large["p50_ms"] / small["p50_ms"], "target": 2.0,
    })  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "sizes": sizes,
        "workers": options.workers,
        "feed_bytes": size,
        "seconds_per_case": options.seconds,
        "cases": rows,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "figures": figures,
    }
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    raise SystemExit(main())
