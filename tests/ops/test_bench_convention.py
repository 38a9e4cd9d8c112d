"""Every benchmark follows the convention ``make bench`` relies on (``bench/run.py``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
SCRIPTS = sorted(path for path in BENCH.glob("*.py") if path.name != "run.py")


def _options(script: Path) -> set[str]:
    """The option strings the script's argument parser declares."""
    found = set()
    for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument":
            found |= {arg.value for arg in node.args if isinstance(arg, ast.Constant)}
    return found


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.stem)
def test_a_benchmark_takes_full_as_make_bench_full_passes_it(script: Path) -> None:
    assert "--full" in _options(script), f"{script.name} has no --full option"


def test_every_benchmark_is_found() -> None:
    assert len(SCRIPTS) >= 10
