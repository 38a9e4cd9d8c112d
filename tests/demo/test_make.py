"""``make demo`` installs the runtime only; ``make test`` the development extras too.

Read from ``make --dry-run`` in a fresh folder (no venv yet), so what each target would
install is the Makefile's own recipe, not a description of it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
MAKE = shutil.which("make")


def _dry_run(target: str, folder: Path) -> list[str]:
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(ROOT / name, folder / name)
    result = subprocess.run(
        [str(MAKE), "--dry-run", target], cwd=folder, capture_output=True, text=True, check=True
    )
    return [line for line in result.stdout.splitlines() if "pip install" in line]


@pytest.mark.skipif(MAKE is None, reason="make is not installed")
def test_make_demo_installs_the_runtime_only(tmp_path: Path) -> None:
    installs = [line for line in _dry_run("demo", tmp_path) if "-e" in line]
    assert len(installs) == 1
    assert installs[0].endswith("-e .")


@pytest.mark.skipif(MAKE is None, reason="make is not installed")
def test_make_test_installs_the_development_extras(tmp_path: Path) -> None:
    installs = [line for line in _dry_run("test", tmp_path) if "-e" in line]
    assert installs == [".venv/bin/python -m pip install --quiet -e '.[dev]'"]
