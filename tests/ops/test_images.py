"""The image, proved without a container engine: deploy/Dockerfile's steps, followed here.

Its build stage copies four things from the repository, builds a wheel and installs it
into a fresh virtual environment; the final stage runs as a non-root user, with
``clinic-sync`` as the entry point and one command per role. This test copies the same
four things into an empty folder, builds the wheel there, installs it into a new venv
and runs each role's command and health check from outside the repository. The wheel is
installed without its dependencies, which the venv finds through a ``.pth`` line naming
the development venv's site-packages — they are already resolved there, and the point
is what the wheel itself carries (package data, entry points), at a modest cost.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ops.installs import (
    DOCKERFILE,
    copy_checkout,
    free_port,
    link_dependencies,
    operator_env,
)

_INSTRUCTION = re.compile(r"^(FROM|COPY|RUN|USER|ENTRYPOINT|CMD|HEALTHCHECK)\s+(.*)$")


def _instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = [_INSTRUCTION.match(line.strip()) for line in text.splitlines()]
    return [(m.group(1), m.group(2)) for m in found if m]


def _final_stage() -> list[tuple[str, str]]:
    steps = _instructions()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


@dataclass(frozen=True)
class Image:
    """The venv built from the wheel, and a folder to run it in (the container's WORKDIR)."""

    bin: Path
    workdir: Path

    def env(self, **settings: str) -> dict[str, str]:
        database = f"sqlite:///{self.workdir}/clinic-sync.db"
        return operator_env(self.bin, database_url=database, log_format="json", **settings)

    def run(self, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / "clinic-sync"), *args],
            capture_output=True,
            text=True,
            env=self.env(**settings),
            cwd=self.workdir,
            timeout=120,
            check=False,
        )

    def start(self, *args: str, **settings: str) -> subprocess.Popen[str]:
        with (self.workdir / f"{args[0]}.log").open("w") as log:
            return subprocess.Popen(
                [str(self.bin / "clinic-sync"), *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                env=self.env(**settings),
                cwd=self.workdir,
            )


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    """The build stage, step by step: copy, build the wheel, install it into a fresh venv."""
    base = tmp_path_factory.mktemp("image")
    context = copy_checkout(base / "src")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    wheels = base / "dist"
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(context)], check=True)
    venv = base / "opt" / "clinic-sync"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    link_dependencies(venv)
    (wheel,) = wheels.glob("clinic_sync-*.whl")
    installer = [str(venv / "bin" / "python"), "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*installer, "install", "--no-deps", "--no-index", str(wheel)], check=True)
    workdir = base / "var" / "lib" / "clinic-sync"
    workdir.mkdir(parents=True)
    return Image(venv / "bin", workdir)


@contextmanager
def _running(image: Image, *args: str, **settings: str) -> Iterator[subprocess.Popen[str]]:
    process = image.start(*args, **settings)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def _wait_for_log(image: Image, process: subprocess.Popen[str], role: str, fragment: str) -> None:
    log = image.workdir / f"{role}.log"
    deadline = time.monotonic() + 60
    while fragment not in log.read_text():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"{role} never logged {fragment!r}: {log.read_text()}"
        time.sleep(0.1)


def test_the_final_stage_runs_as_a_non_root_user_with_the_cli_as_entry_point() -> None:
    final = dict(_final_stage())
    assert final["USER"] not in {"root", "0"}
    assert re.search(rf"useradd .*\b{final['USER']}\b", DOCKERFILE.read_text())
    assert final["ENTRYPOINT"] == '["clinic-sync"]'
    assert final["HEALTHCHECK"] == "NONE"  # each role's check is set by compose / Kubernetes


def test_the_wheel_carries_the_package_and_its_data(image: Image) -> None:
    script = (
        "import sync, rules, importlib.resources as r; print(sync.__file__); "
        "print(all((r.files(p) / f).is_file() for p, f in ["
        "('rules', 'default_policy.toml'), ('sync', 'store/migrations/script.py.mako'), "
        "('sync', 'web/admin/templates/base.html'), ('sync', 'web/admin/static/admin.css'), "
        "('sync', 'web/api_docs_assets/init.js')]))"
    )
    found = subprocess.run(
        [str(image.bin / "python"), "-c", script],
        capture_output=True,
        text=True,
        cwd=image.workdir,
        env=image.env(),
        check=True,
    ).stdout.split()
    assert found[0].startswith(str(image.bin.parent)), found  # not the repository's copy
    assert found[1] == "True"


def test_each_role_s_command_runs_and_passes_its_check(image: Image) -> None:
    """What the Dockerfile's CMD and the deploy files run: db upgrade, serve, worker."""
    migrated = image.run("db", "upgrade")
    assert migrated.returncode == 0, migrated.stderr
    web_port, metrics_port = free_port(), free_port()
    with _running(image, "serve", "--host", "127.0.0.1", "--port", str(web_port)) as web:
        _wait_for_log(image, web, "serve", "Application startup complete")
        healthy = image.run("probe", "web", "--port", str(web_port))
        assert healthy.returncode == 0, healthy.stderr
    worker_settings = {"worker_metrics_port": str(metrics_port), "google_auth": "none"}
    with _running(image, "worker", **worker_settings) as worker:
        _wait_for_log(image, worker, "worker", "serving metrics on")
        healthy = image.run("probe", "worker", **worker_settings)
        assert healthy.returncode == 0, healthy.stderr
    assert worker.returncode == 0  # SIGTERM: a clean stop
    assert image.run("probe", "worker", **worker_settings).returncode == 1  # gone: unhealthy
