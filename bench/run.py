"""Run every benchmark and print one table of every figure against its floor (issue 17).

``make bench`` runs each ``bench/*.py`` script (this one aside) at its small default size,
one after the other, in its own process; ``make bench FULL=1`` (or ``--full``) passes
``--full`` to each, for the full size. Then it reads what each wrote to ``bench/results/``
and prints every figure as value / floor / ratio / target, with whether the target is met.
A script that fails is reported with its exit status and the others still run.

The convention every benchmark follows
--------------------------------------
- It is a script ``bench/<name>.py`` that runs with no arguments at a size that takes at
  most a minute or two, and accepts ``--full`` for the size its targets are stated at.
- It writes ``bench/results/<name>.json``: whatever it reports (rows, settings, raw
  numbers), plus a top-level ``figures`` list, one entry per headline figure::

      {"name": "audit 100,000 events, CPU",  # what is measured, with its size
       "value": 41.2, "unit": "s",           # what clinic-sync did
       "floor": 21.0,                        # the floor measured in the same run, or null
       "ratio": 1.96,                        # value / floor, or null without a floor
       "target": 1.3,                        # the bound, or null when there is none
       "better": "lower",                    # optional: "lower" (default) or "higher"
       "target_on": "ratio"}                 # optional: what ``target`` bounds

  ``target`` bounds ``ratio`` when there is one and ``value`` otherwise, unless
  ``target_on`` says (``"value"``: a floor shown beside an absolute bound); ``better``
  says on which side of it a figure is good (requests per second: ``"higher"``).
- Floors are measured in the same run, never remembered numbers.

Run: ``.venv/bin/python bench/run.py [--full] [--only audit sync_cost]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"


@dataclass(frozen=True)
class Outcome:
    """How one script's run went."""

    name: str
    seconds: float
    status: int
    message: str = ""


def main() -> None:
    args = _arguments()
    scripts = [path for path in sorted(BENCH.glob("*.py")) if path.name != "run.py"]
    if args.only:
        scripts = [path for path in scripts if path.stem in args.only]
    outcomes = [_run(script, args.full) for script in scripts]
    rows = [row for outcome in outcomes for row in _rows(outcome)]
    _print(rows, outcomes)
    sys.exit(1 if any(outcome.status for outcome in outcomes) else 0)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="pass --full to every script")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these scripts")
    return parser.parse_args()


def _run(script: Path, full: bool) -> Outcome:
    command = [sys.executable, str(script), *(["--full"] if full else [])]
    print(f"── {script.stem}: {' '.join(command[1:])}", flush=True)
    started = time.perf_counter()
    done = subprocess.run(command, check=False, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    tail = done.stderr.strip().splitlines()[-1:] if done.returncode else []
    if done.returncode:
        sys.stderr.write(done.stderr[-4000:])
    return Outcome(script.stem, seconds, done.returncode, tail[0] if tail else "")


def _rows(outcome: Outcome) -> list[list[str]]:
    if outcome.status:
        return [[outcome.name, f"failed (exit {outcome.status}): {outcome.message}"[:100]]]
    path = RESULTS / f"{outcome.name}.json"
    try:
        figures = json.loads(path.read_text(encoding="utf-8")).get("figures")
    except (OSError, ValueError) as err:
        return [[outcome.name, f"no results ({err})"]]
    if not figures:
        return [[outcome.name, f"no figures in {path.name}"]]
    return [_row(figure) for figure in figures]


def _row(figure: dict[str, Any]) -> list[str]:
    value, floor, ratio = figure.get("value"), figure.get("floor"), figure.get("ratio")
    target, unit = figure.get("target"), figure.get("unit", "")
    on_ratio = figure.get("target_on", "ratio" if ratio is not None else "value") == "ratio"
    bounded = ratio if on_ratio else value
    return [
        str(figure.get("name", "?")),
        f"{_number(value)} {unit}".strip(),
        f"{_number(floor)} {unit}".strip() if floor is not None else "—",
        f"{ratio:.2f}×" if ratio is not None else "—",
        _target(figure, target, on_ratio),
        _verdict(bounded, target, figure.get("better", "lower")),
    ]


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def _target(figure: dict[str, Any], target: float | None, on_ratio: bool) -> str:
    if target is None:
        return "—"
    side = "≥" if figure.get("better", "lower") == "higher" else "≤"
    return f"{side} {target:g}{'×' if on_ratio else ' ' + figure.get('unit', '')}".rstrip()


def _verdict(bounded: float | None, target: float | None, better: str) -> str:
    if target is None or bounded is None:
        return ""
    met = bounded >= target if better == "higher" else bounded <= target
    return "met" if met else "NOT MET"


def _print(rows: list[list[str]], outcomes: list[Outcome]) -> None:
    header = ["figure", "value", "floor", "ratio", "target", ""]
    full = [row for row in [header, *rows] if len(row) == len(header)]
    widths = [max(len(row[i]) for row in full) for i in range(len(header))]
    print()
    for row in [header, *rows]:
        if len(row) == len(header):
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        else:  # a script that failed or wrote no figures: its name and why
            print(f"{row[0].ljust(widths[0])}  {row[1]}")
    total = sum(outcome.seconds for outcome in outcomes)
    spent = ", ".join(f"{o.name} {o.seconds:.0f} s" for o in outcomes)
    print(f"\n{len(outcomes)} benchmarks in {total:.0f} s ({spent})")


if __name__ == "__main__":
    main()
