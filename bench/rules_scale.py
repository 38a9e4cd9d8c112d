"""How the rules engine scales: synthetic clinics of 10k, 100k and 1M bookings.

Each clinic has about ten bookings a patient over a year, written the ways staff write
them. Every stage of :func:`rules.assess.assess` is timed on its own — reading
(classification and patient identity), linking patients, detection, eligibility — so
the target (detection and eligibility of 1M bookings in under 5 s on one core, growing
no faster than n log n) is checked where it applies and the text matching is shown
beside it. Prints a table and writes ``bench/results/rules_scale.json``.

Run: ``.venv/bin/python bench/rules_scale.py [--sizes 10000 100000]`` (the default), or
``--full`` for 10k, 100k and 1M; ``make bench`` runs it with the others (:mod:`bench.run`).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import platform
import random
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar

from rich.console import Console
from rich.table import Table

from rules.assess import Scope, read_bookings
from rules.conflicts import detect_conflicts
from rules.eligibility import find_eligibility
from rules.model import Booking
from rules.patients import IdentityOptions, link_patients
from rules.vocabulary import Matcher
from sync.policy_file import load_policy

RESULTS = Path(__file__).parent / "results" / "rules_scale.json"
TODAY = date(2026, 11, 26)
BOOKINGS_PER_PATIENT = 10
FIRST = (
    "Jane",
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Grace",
    "Sofia",
    "Ana",
    "Zoë",
    "Priya",
    "Chloe",
    "Emma",
    "Lucy",
    "Nina",
    "Tom",
    "Ben",
    "Sam",
    "Omar",
    "José",
)
LAST = (
    "Doe",
    "Smith",
    "Brown",
    "Taylor",
    "Wilson",
    "Davies",
    "Evans",
    "Thomas",
    "López",
    "O'Brien",
    "Patel",
    "Khan",
    "Nguyen",
    "Müller",
    "Rossi",
    "Kowalski",
    "Reed",
    "Park",
)
TREATMENTS = (
    "Microneedling",
    "Botox 20u",
    "Dysport",
    "SkinPen®",
    "Hydrafacial",
    "Morpheus 8",
    "Botox consult",
    "Anti-wrinkle injections",
    "Xeomen top-up",
    "Lip filler",
    "Microneedling + Botox",
    "Vampire facial",
    "Chemical peel",
)
T = TypeVar("T")


def synthetic_clinic(size: int, seed: int = 7) -> list[Booking]:
    """``size`` bookings over a year, about ten a patient, some with e-mail or an id."""
    rnd = random.Random(seed)
    bookings: list[Booking] = []
    for patient in range(max(1, size // BOOKINGS_PER_PATIENT)):
        name = f"{rnd.choice(FIRST)} {rnd.choice(LAST)}-{_word(patient)}"
        patient_id = f"P{patient}" if rnd.random() < 0.3 else None
        for visit in range(BOOKINGS_PER_PATIENT):
            if len(bookings) == size:
                break
            day = TODAY + timedelta(days=rnd.randint(-170, 190))
            title = f"{rnd.choice(TREATMENTS)} - {name}"
            uid = f"{patient}-{visit}"
            bookings.append(
                Booking(
                    id=uid,
                    uid=uid,
                    calendar=f"Room {patient % 7}",
                    day=day,
                    summary=title,
                    patient_id=patient_id,
                )
            )
    return bookings


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


def timed(action: Callable[[], T]) -> tuple[T, float]:
    gc.collect()
    start = time.perf_counter()
    result = action()
    return result, time.perf_counter() - start


def measure(size: int) -> dict[str, float | int]:
    policy = load_policy()
    matcher = Matcher(policy)
    scope = Scope(today=TODAY)
    bookings = synthetic_clinic(size)
    (read, _), t_read = timed(lambda: read_bookings(bookings, matcher, scope, IdentityOptions()))
    groups, t_link = timed(lambda: link_patients(read))
    conflicts, t_detect = timed(lambda: detect_conflicts(groups, policy))
    eligible, t_elig = timed(lambda: find_eligibility(groups, policy, TODAY))
    return {
        "bookings": size,
        "patients": len(groups),
        "conflicts": len(conflicts),
        "eligibility": len(eligible),
        "read_s": t_read,
        "link_s": t_link,
        "detect_s": t_detect,
        "eligibility_s": t_elig,
        "detect_and_eligibility_s": t_detect + t_elig,
        "link_detect_eligibility_s": t_link + t_detect + t_elig,
        "total_s": t_read + t_link + t_detect + t_elig,
    }


def growth(rows: list[dict[str, float | int]], key: str) -> list[float]:
    """Time per n·log2(n), relative to the smallest size: ≤ ~1 means no worse than n log n."""
    base = rows[0]
    unit = float(base[key]) / (base["bookings"] * math.log2(base["bookings"]))
    return [float(r[key]) / (r["bookings"] * math.log2(r["bookings"])) / unit for r in rows]


def render(rows: list[dict[str, float | int]]) -> Table:
    table = Table(title="rules engine at scale (one core)")
    for column in (
        "bookings",
        "patients",
        "conflicts",
        "read s",
        "link s",
        "detect s",
        "eligibility s",
        "detect+elig s",
        "link+detect+elig s",
        "growth vs n log n",
        "total s",
    ):
        table.add_column(column, justify="right")
    for row, ratio in zip(rows, growth(rows, "detect_and_eligibility_s"), strict=True):
        table.add_row(
            f"{row['bookings']:,}",
            f"{row['patients']:,}",
            f"{row['conflicts']:,}",
            f"{row['read_s']:.2f}",
            f"{row['link_s']:.2f}",
            f"{row['detect_s']:.2f}",
            f"{row['eligibility_s']:.2f}",
            f"{row['detect_and_eligibility_s']:.2f}",
            f"{row['link_detect_eligibility_s']:.2f}",
            f"{ratio:.2f}",
            f"{row['total_s']:.2f}",
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--full", action="store_true", help="10k, 100k and 1M bookings")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    sizes = [10_000, 100_000, 1_000_000] if args.full else args.sizes
    rows = [measure(size) for size in sizes]
    Console(width=150).print(render(rows))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "target": "detection + eligibility of 1M bookings < 5 s, growth <= n log n",
        "growth_vs_nlogn": growth(rows, "detect_and_eligibility_s"),
        "rows": rows,
        "figures": [_figure(row) for row in rows],
    }
    args.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    Console().print(f"written to {args.output}")


def _figure(row: dict[str, float]) -> dict[str, object]:
    """The row as a figure for bench/run.py: the 5 s target is stated at 1M bookings."""
    return {
        "name": f"rules: detection + eligibility, {row['bookings']:,.0f} bookings",
        "value": row["detect_and_eligibility_s"],
        "unit": "s",
        "floor": None,
        "ratio": None,
        "target": 5.0 if row["bookings"] >= 1_000_000 else None,
    }


if __name__ == "__main__":
    main()
