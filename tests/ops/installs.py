"""Installing clinic-sync as an operator would, into a fresh folder and a fresh venv.

Shared by the Dockerfile test and the README test. A fresh venv gets the dependencies
already resolved in the development venv through a ``.pth`` line (offline, and quick):
what these tests check is what the package itself carries and does once installed.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import sysconfig
from pathlib import Path

ROOT = Path(__file__).parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"


def build_context_files() -> list[str]:
    """What the Dockerfile's build stage copies from the repository (``COPY src... dest``)."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    copied: list[str] = []
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not words[1].startswith("--from"):
            copied += words[1:-1]
    return copied


def copy_checkout(destination: Path) -> Path:
    """The files a checkout needs to install (the Dockerfile's build context), copied."""
    destination.mkdir(parents=True)
    for name in build_context_files():
        source = ROOT / name
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(source, destination / name, ignore=ignore)
        else:
            shutil.copy2(source, destination / name)
    return destination


def link_dependencies(venv: Path) -> None:
    """Let ``venv`` import the development venv's packages, after its own."""
    site = sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)})
    Path(site, "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")


def operator_env(bin_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of a shell with ``bin_dir`` first on PATH and no CLINIC_SYNC_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLINIC_SYNC_")}
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env |= {f"CLINIC_SYNC_{k.upper()}": v for k, v in settings.items()}
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
