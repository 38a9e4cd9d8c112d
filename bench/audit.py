"""What the offline audit costs beside icalendar parsing the same files (SPEC §8, issue 17).

A clinic's exports are generated: ``--files`` calendars (Google-style: X-WR-CALNAME,
X-WR-TIMEZONE, a VTIMEZONE, an ORGANIZER naming the calendar) holding ``--events`` events
between them, written the ways staff write bookings — treatment and patient in the
title, a patient attendee on some, a room attendee on some (the same UID on the room's
calendar too), about 1% weekly series with an exception. Then, each in its own
subprocess and in the same run:

- **clinic-sync**: ``clinic-sync audit FILES… --format json`` (the whole command: start-up,
  reading, detection, rendering);
- **floor**: icalendar parsing the same files, one at a time
  (``icalendar.Calendar.from_ical`` over each file's bytes) — what any reader of these
  files pays at least.

CPU time (user + system) and peak RSS come from ``resource.getrusage(RUSAGE_CHILDREN)``
in a small measuring process that runs just that one command, so processes the audit
starts to parse files in parallel are counted in its CPU time; its peak RSS is that of
its largest process (``ru_maxrss``). Wall time is given beside it, and how many processes
each side ran (the command's own and those it started, seen in ``/proc`` while it ran).
Each figure is the median of ``--repeat`` runs. Targets: CPU ≤ 1.3× the floor, peak RSS ≤ 2×.

Prints a table and writes ``bench/results/audit.json`` (with the ``figures`` list
:mod:`bench.run` reads).

Run: ``.venv/bin/python bench/audit.py [--events 10000 --files 5]``, or ``--full`` for
100k and 1M events over 50 files.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "audit.json"
TODAY = date(2026, 6, 1)
CPU_TARGET = 1.3
RSS_TARGET = 2.0

_TREATMENTS = (
    "Microneedling",
    "Botox",
    "Anti-wrinkle injections",
    "Consultation",
    "Dermal filler",
    "SkinPen microneedling",
    "Review",
    "Chemical peel",
)
_FIRST = ("Jane", "Tom", "Priya", "Chloe", "Nina", "Grace", "Olivia", "Sam", "Ali", "Mei")
_LAST = ("Doe", "Reed", "Shah", "Martin", "Park", "O'Neill", "Brown", "Khan", "Lee", "Novak")

_VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Europe/London
X-LIC-LOCATION:Europe/London
BEGIN:DAYLIGHT
TZOFFSETFROM:+0000
TZOFFSETTO:+0100
TZNAME:BST
DTSTART:19700329T010000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0100
TZOFFSETTO:+0000
TZNAME:GMT
DTSTART:19701025T020000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
"""

# Measures one command in its own process: what RUSAGE_CHILDREN sees there is that command
# and every process it waited for, nothing the benchmark ran before. The processes it
# started are counted from /proc while it runs (the command's own process included).
_MEASURE = """
import json, resource, subprocess, sys, tempfile, time
from pathlib import Path

def children(pid):
    try:
        return set(Path(f"/proc/{pid}/task/{pid}/children").read_text().split())
    except OSError:
        return set()

started = time.perf_counter()
with tempfile.TemporaryFile() as errors:
    done = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=errors)
    seen = set()
    while done.poll() is None:  # the processes it starts, looked at every 10 ms
        seen |= children(done.pid)
        time.sleep(0.01)
    wall = time.perf_counter() - started
    errors.seek(0)
    if done.returncode != 0:
        sys.exit(errors.read().decode(errors="replace")[-2000:])
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"cpu_s": usage.ru_utime + usage.ru_stime, "wall_s": wall,
                  "peak_rss_mb": usage.ru_maxrss / 1024, "processes": 1 + len(seen)}))
"""

# The floor: icalendar parsing each file, one at a time, nothing kept between files.
_FLOOR = """
import sys
from pathlib import Path
import icalendar
for name in sys.argv[1:]:
    calendar = icalendar.Calendar.from_ical(Path(name).read_bytes())
    del calendar
"""


@dataclass(frozen=True)
class Run:
    cpu_s: float
    wall_s: float
    peak_rss_mb: float
    processes: int


def main() -> None:
    args = _arguments()
    sizes = [100_000, 1_000_000] if args.full else [args.events]
    files = 50 if args.full else args.files
    rows = []
    with tempfile.TemporaryDirectory(prefix="audit-bench-") as tmp:
        for events in sizes:
            paths = write_exports(Path(tmp) / str(events), events, files)
            rows.append(_measure(paths, events, args.repeat))
            for path in paths:
                path.unlink()
    _print(rows)
    document = {
        "python": sys.version.split()[0],
        "cores": os.cpu_count(),
        "today": TODAY.isoformat(),
        "rows": rows,
        "figures": [figure for row in rows for figure in _figures(row)],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000, help="events over all files")
    parser.add_argument("--files", type=int, default=5, help="calendar exports")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side (median)")
    parser.add_argument("--full", action="store_true", help="100k and 1M events, 50 files")
    return parser.parse_args()


def write_exports(folder: Path, events: int, files: int, seed: int = 17) -> list[Path]:
    """``files`` exports holding ``events`` events between them (see the module docstring)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    calendars = [f"Practitioner {number:02d}" for number in range(files - 1)] + ["Room 1"]
    outputs = {name: _Export(folder / f"{_slug(name)}.ics", name) for name in calendars}
    room = outputs["Room 1"]
    for number in range(events - events // 20):
        calendar = outputs[calendars[number % max(1, files - 1)]]
        event = _event(rng, number, calendar.name)
        calendar.write(event)
        if number % 20 == 0 and files > 1:  # the room's copy of the same booking
            room.write(event.replace(calendar.organizer_line, room.organizer_line))
    for export in outputs.values():
        export.close()
    return [export.path for export in outputs.values()]


class _Export:
    def __init__(self, path: Path, name: str) -> None:
        self.path, self.name = path, name
        self.address = f"{_slug(name)}@clinic.example"
        self.organizer_line = f"ORGANIZER;CN={name}:mailto:{self.address}"
        self._out = path.open("w", encoding="utf-8", newline="\r\n")
        self._out.write(
            "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\n"
            f"CALSCALE:GREGORIAN\nMETHOD:PUBLISH\nX-WR-CALNAME:{name}\n"
            f"X-WR-TIMEZONE:Europe/London\n{_VTIMEZONE}"
        )

    def write(self, event: str) -> None:
        self._out.write(event)

    def close(self) -> None:
        self._out.write("END:VCALENDAR\n")
        self._out.close()


def _event(rng: random.Random, number: int, calendar: str) -> str:
    patient = number // 7  # about seven bookings a patient
    first, last = _FIRST[patient % len(_FIRST)], _LAST[(patient // 10) % len(_LAST)]
    name = f"{first} {last} {patient}"
    start = datetime.combine(TODAY, datetime.min.time()) + timedelta(
        days=rng.randint(-170, 360), hours=rng.randint(8, 17)
    )
    end = start + timedelta(minutes=rng.choice((30, 45, 60)))
    lines = [
        "BEGIN:VEVENT",
        f"DTSTART;TZID=Europe/London:{start:%Y%m%dT%H%M%S}",
        f"DTEND;TZID=Europe/London:{end:%Y%m%dT%H%M%S}",
        "DTSTAMP:20260501T090000Z",
        f"UID:bench-{number:07d}@clinic.example",
        f"ORGANIZER;CN={calendar}:mailto:{_slug(calendar)}@clinic.example",
        f"SUMMARY:{rng.choice(_TREATMENTS)} - {name}",
        "STATUS:CONFIRMED",
    ]
    if number % 3 == 0:
        lines.append(f"ATTENDEE;CN={name};PARTSTAT=ACCEPTED:mailto:patient{patient}@example.com")
    if number % 5 == 0:
        lines.append("DESCRIPTION:Booked by phone\\, deposit paid.")
    if number % 100 == 0:  # a weekly series with one moved instance
        lines.append("RRULE:FREQ=WEEKLY;COUNT=4")
    lines.append("END:VEVENT")
    if number % 100 == 0:
        moved = start + timedelta(weeks=1)
        lines += [
            "BEGIN:VEVENT",
            f"DTSTART;TZID=Europe/London:{moved + timedelta(hours=1):%Y%m%dT%H%M%S}",
            f"DTEND;TZID=Europe/London:{end + timedelta(weeks=1, hours=1):%Y%m%dT%H%M%S}",
            "DTSTAMP:20260501T090000Z",
            f"UID:bench-{number:07d}@clinic.example",
            f"RECURRENCE-ID;TZID=Europe/London:{moved:%Y%m%dT%H%M%S}",
            f"SUMMARY:{rng.choice(_TREATMENTS)} - {name}",
            "END:VEVENT",
        ]
    return "\n".join(lines) + "\n"


def _slug(name: str) -> str:
    return name.lower().replace(" ", "-")


def _measure(paths: list[Path], events: int, repeat: int) -> dict[str, Any]:
    audit = [
        str(ROOT / ".venv" / "bin" / "clinic-sync"), "audit", *map(str, paths),
        "--today", TODAY.isoformat(), "--format", "json",
    ]  # fmt: skip
    floor = [sys.executable, "-c", _FLOOR, *map(str, paths)]
    runs: dict[str, list[Run]] = {"clinic-sync": [], "floor": []}
    for _ in range(repeat):  # interleaved, so a busy moment on the machine hits both
        runs["floor"].append(_run(floor))
        runs["clinic-sync"].append(_run(audit))
    size = sum(path.stat().st_size for path in paths)
    row: dict[str, Any] = {"events": events, "files": len(paths), "megabytes": size / 2**20}
    for side, measured in runs.items():
        row[side] = {
            "cpu_s": statistics.median(run.cpu_s for run in measured),
            "wall_s": statistics.median(run.wall_s for run in measured),
            "peak_rss_mb": statistics.median(run.peak_rss_mb for run in measured),
            "processes": max(run.processes for run in measured),
        }
    row["cpu_ratio"] = row["clinic-sync"]["cpu_s"] / row["floor"]["cpu_s"]
    row["rss_ratio"] = row["clinic-sync"]["peak_rss_mb"] / row["floor"]["peak_rss_mb"]
    return row


def _run(command: list[str]) -> Run:
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed: {done.stderr}")
    return Run(**json.loads(done.stdout))


def _figures(row: dict[str, Any]) -> list[dict[str, Any]]:
    ours, floor, events = row["clinic-sync"], row["floor"], f"{row['events']:,}"
    return [
        {
            "name": f"audit {events} events, CPU",
            "value": ours["cpu_s"],
            "unit": "s",
            "floor": floor["cpu_s"],
            "ratio": row["cpu_ratio"],
            "target": CPU_TARGET,
        },
        {
            "name": f"audit {events} events, peak RSS",
            "value": ours["peak_rss_mb"],
            "unit": "MB",
            "floor": floor["peak_rss_mb"],
            "ratio": row["rss_ratio"],
            "target": RSS_TARGET,
        },
        {
            "name": f"audit {events} events, wall",
            "value": ours["wall_s"],
            "unit": "s",
            "floor": floor["wall_s"],
            "ratio": ours["wall_s"] / floor["wall_s"],
            "target": None,
        },
    ]


def _print(rows: list[dict[str, Any]]) -> None:
    header = f"{'events':>10} {'side':<12} {'CPU s':>8} {'wall s':>8} {'RSS MB':>8} {'procs':>6}"
    print(header)
    for row in rows:
        for side in ("clinic-sync", "floor"):
            measured = row[side]
            print(
                f"{row['events']:>10,} {side:<12} {measured['cpu_s']:>8.2f} "
                f"{measured['wall_s']:>8.2f} {measured['peak_rss_mb']:>8.0f} "
                f"{measured['processes']:>6}"
            )
        print(
            f"{'':>10} {'ratio':<12} {row['cpu_ratio']:>8.2f} {'':>8} {row['rss_ratio']:>8.2f}"
            f"   (targets {CPU_TARGET} / {RSS_TARGET})"
        )


if __name__ == "__main__":
    main()
