"""What reading a title costs: categories and patient name, against a regex floor (issue 17).

Reading a booking's title — its treatment categories (SPEC §3) and the patient's name
(SPEC §4 point 4) — is most of the rules engine's time. Its floor, measured in the same
run on the same titles, is one compiled regular expression: an alternation of every
phrase of the policy (treatments, exclusions, services), whole words, ignoring case —
what a matcher that tolerates no slip and reads no name would cost at least.

Both are counted in machine instructions under valgrind's callgrind, which gives the
same count run after run (CPU time on a shared machine does not): each side runs in its
own process twice, once reading the titles and once doing everything but, and the
difference divided by the number of titles is the cost of one title. Both sides first
read 500 other titles of the same clinic, as a running service would have: the engine's
bounded memos (token facts, title parts) then hold what a clinic repeats — its
treatments, and patients' names about five times each here — but no title is read
twice. CPU-time medians without valgrind are given beside it. Prints a table and writes
``bench/results/title_reading.json``.

Run: ``.venv/bin/python bench/title_reading.py [--titles 2000] [--no-callgrind]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from rules.model import Policy
from rules.titles import TitleReader
from rules.vocabulary import Matcher
from sync.policy_file import load_policy

RESULTS = Path(__file__).parent / "results" / "title_reading.json"
TARGET = 2.5
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")

FIRST = ("Jane", "Olivia", "Amelia", "Isla", "Ava", "Mia", "Grace", "Sofia", "Ana", "Zoë")
FIRST += ("Priya", "Chloe", "Emma", "Lucy", "Nina", "Tom", "Ben", "Sam", "Omar", "José")
LAST = ("Doe", "Smith", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Thomas", "López")
LAST += ("O'Brien", "Patel", "Khan", "Nguyen", "Müller", "Rossi", "Kowalski", "Reed", "Park")
TREATMENTS = (
    "Microneedling",
    "Botox 20u",
    "Dysport",
    "SkinPen®",
    "Morpheus 8",
    "Botox consult",
    "Anti-wrinkle injections",
    "Xeomen top-up",
    "Microneedling + Botox",
    "Vampire facial",
    "Toxin",
    "Fractional RF",
    "Tox maintenance",
    "💉Bótox✨",
    "Jeuveau",
    "Micro needeling",
)
OTHERS = (
    "Lip filler 1ml",
    "Hydrafacial",
    "Chemical peel",
    "Profhilo 2ml",
    "IPL",
    "Consultation",
)
NOTES = ("(new pt)", "(full face)", "#2", "review", "(3 areas)", "appt", "", "", "", "")
SEPARATORS = (" - ", " | ", ": ", " / ", " — ", " ")


def titles(count: int, seed: int) -> list[str]:
    """``count`` titles written the ways clinic staff write them."""
    rnd = random.Random(seed)
    out = []
    for _ in range(count):
        what = rnd.choice(TREATMENTS) if rnd.random() < 0.8 else rnd.choice(OTHERS)
        name = f"{rnd.choice(FIRST)} {rnd.choice(LAST)}"
        parts = [what, rnd.choice(NOTES), name]
        if rnd.random() < 0.3:
            parts.reverse()
        out.append(rnd.choice(SEPARATORS).join(part for part in parts if part))
    return out


def floor_reader(policy: Policy) -> Callable[[str], object]:
    """One compiled alternation of every phrase, whole words, ignoring case."""
    phrases = [*policy.exclusions, *policy.services]
    phrases += [phrase for category in policy.categories for phrase in category.phrases]
    longest_first = sorted({re.escape(phrase) for phrase in phrases}, key=len, reverse=True)
    pattern = re.compile(r"\b(?:" + "|".join(longest_first) + r")\b", re.IGNORECASE)
    return pattern.findall


def engine_reader(policy: Policy) -> Callable[[str], object]:
    """The engine's own reading of one title, nothing remembered between titles."""
    return TitleReader(Matcher(policy)).read


READERS = {"floor": floor_reader, "engine": engine_reader}


def child(side: str, count: int, read: bool) -> None:
    """Everything a run does; the titles are only read when ``read``."""
    policy = load_policy()
    reader = READERS[side](policy)
    for title in titles(500, seed=1):  # warm-up: a clinic's words repeat
        reader(title)
    batch = titles(count, seed=2)
    if read:
        for title in batch:
            reader(title)


def instructions(side: str, count: int, read: bool) -> int:
    """Instructions one child process executes, counted by callgrind."""
    with tempfile.TemporaryDirectory() as scratch:
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={scratch}/out",
            sys.executable,
            __file__,
            "--child",
            side,
            str(count),
            "1" if read else "0",
        ]
        # A fixed hash seed: set and dict order, and so the count, repeat run after run.
        steady = {**os.environ, "PYTHONHASHSEED": "0"}
        done = subprocess.run(command, capture_output=True, text=True, check=True, env=steady)
    found = _COLLECTED.search(done.stderr)
    if found is None:
        raise RuntimeError(f"callgrind gave no count:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_title_instructions(side: str, count: int) -> float:
    return (instructions(side, count, True) - instructions(side, count, False)) / count


def per_title_seconds(side: str, count: int, repeats: int = 7) -> float:
    """Median CPU time of one title over ``repeats`` passes in this process."""
    reader = READERS[side](load_policy())
    for title in titles(500, seed=1):
        reader(title)
    batch = titles(count, seed=2)
    samples = []
    for _ in range(repeats):
        start = time.process_time()
        for title in batch:
            reader(title)
        samples.append((time.process_time() - start) / count)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, default=1000)
    parser.add_argument("--no-callgrind", action="store_true")
    parser.add_argument("--full", action="store_true", help="the default size: it is small")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        side, count, read = args.child
        child(side, int(count), read == "1")
        return
    use_callgrind = not args.no_callgrind and shutil.which("valgrind") is not None
    rows = {}
    for side in READERS:
        rows[side] = {
            "instructions_per_title": (
                per_title_instructions(side, args.titles) if use_callgrind else None
            ),
            "cpu_us_per_title": per_title_seconds(side, args.titles) * 1e6,
        }
    report(rows, args.titles, use_callgrind)


def report(rows: dict[str, dict[str, float | None]], count: int, use_callgrind: bool) -> None:
    measure = "instructions_per_title" if use_callgrind else "cpu_us_per_title"
    engine, floor = rows["engine"][measure], rows["floor"][measure]
    if engine is None or floor is None:
        raise RuntimeError(f"no {measure} measured")
    ratio = engine / floor
    table = Table(title=f"Reading a title: {count} titles, ratio on {measure}")
    for column in ("", "instructions / title", "CPU µs / title (median)"):
        table.add_column(column, justify="right" if column else "left")
    for side, row in rows.items():
        counted, seconds = row["instructions_per_title"], row["cpu_us_per_title"]
        table.add_row(side, f"{counted:,.0f}" if counted else "—", f"{seconds or 0:.1f}")
    table.add_row("ratio", f"{ratio:.2f}× (target ≤ {TARGET}×)", "")
    Console().print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        "python": platform.python_version(),
        "titles": count,
        "measure": measure,
        "rows": rows,
        "ratio": ratio,
        "target": TARGET,
        "figures": [
            {
                "name": f"reading a title, {measure.replace('_', ' ')}",
                "value": engine,
                "unit": "instructions" if use_callgrind else "µs",
                "floor": floor,
                "ratio": ratio,
                "target": TARGET,
            }
        ],
    }
    RESULTS.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
