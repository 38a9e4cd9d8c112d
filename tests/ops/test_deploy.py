"""The deploy files run commands and settings that exist (README: Operations).

No container engine runs here, so the files are checked for what they ask of clinic-sync:
every command an image, unit or manifest runs is a real command, and every
``CLINIC_SYNC_*`` variable they set is a real setting.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from sync.cli import app
from sync.config import Settings

DEPLOY = Path(__file__).parents[2] / "deploy"
_VARIABLE = re.compile(r"\bCLINIC_SYNC_[A-Z0-9_]+\b")


def _yaml_documents() -> list[tuple[str, Any]]:
    found = []
    for path in sorted([*DEPLOY.glob("*.yml"), *DEPLOY.glob("kubernetes/*.yaml")]):
        found += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


def _commands() -> list[list[str]]:
    """Every clinic-sync command line the deploy files run."""
    lines: list[list[str]] = []
    for _, doc in _yaml_documents():
        lines += [list(map(str, value)) for value in _find(doc, ("command", "args"))]
    for unit in DEPLOY.glob("systemd/*.service"):
        for exec_line in re.findall(r"^Exec\w*=(.+)$", unit.read_text(), re.MULTILINE):
            words = shlex.split(exec_line)
            lines.append(words[1:])
    return lines


def _find(node: Any, keys: tuple[str, ...]) -> list[Any]:
    if isinstance(node, dict):
        hits = [value for key, value in node.items() if key in keys and isinstance(value, list)]
        return hits + [hit for value in node.values() for hit in _find(value, keys)]
    if isinstance(node, list):
        return [hit for item in node for hit in _find(item, keys)]
    return []


def test_deploy_yaml_parses() -> None:
    assert len(_yaml_documents()) >= 7


@pytest.mark.parametrize("line", _commands(), ids=" ".join)
def test_every_command_the_deploy_files_run_exists(line: list[str]) -> None:
    words = [word for word in line if not word.startswith("-")][:2]
    result = CliRunner().invoke(app, [*words, "--help"])
    assert result.exit_code == 0, f"clinic-sync {' '.join(words)}: {result.output}"


def test_every_setting_the_deploy_files_name_exists() -> None:
    known = {f"CLINIC_SYNC_{name.upper()}" for name in Settings.model_fields}
    named = set()
    for path in DEPLOY.rglob("*"):
        if path.is_file():
            named |= set(_VARIABLE.findall(path.read_text()))
    assert named - known == set()
