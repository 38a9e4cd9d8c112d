"""A real subscriber: vdirsyncer's ``http`` storage syncing a feed into a local folder (SPEC §7).

vdirsyncer keys the items of an ``http`` storage by a hash of their content, so the
events are checked by what they say, not by file name.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sync.web.server import WebServer
from tests.feeds.conftest import ClinicData

MN = "Microneedling - Jane Doe"
VDIRSYNCER = shutil.which("vdirsyncer", path=str(Path(sys.executable).parent)) or shutil.which(
    "vdirsyncer"
)

pytestmark = pytest.mark.skipif(VDIRSYNCER is None, reason="vdirsyncer is not installed")


def _config(tmp_path: Path, url: str) -> Path:
    local = tmp_path / "local"
    local.mkdir()
    config = tmp_path / "vdirsyncer.conf"
    config.write_text(
        f"""
[general]
status_path = "{tmp_path / "status"}/"

[pair feed]
a = "feed_remote"
b = "feed_local"
collections = null
conflict_resolution = "a wins"

[storage feed_remote]
type = "http"
url = "{url}"

[storage feed_local]
type = "filesystem"
path = "{local}/"
fileext = ".ics"
"""
    )
    return config


def _vdirsyncer(config: Path, *args: str) -> None:
    env = {**os.environ, "VDIRSYNCER_CONFIG": str(config)}
    done = subprocess.run(
        [str(VDIRSYNCER), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _summaries(folder: Path) -> set[str]:
    found = set()
    for item in folder.glob("*.ics"):
        for line in item.read_text().replace("\n ", "").splitlines():  # unfold
            if line.startswith("SUMMARY:"):
                found.add(line.removeprefix("SUMMARY:"))
    return found


def test_a_subscriber_follows_eligibility_changes(
    clinic: ClinicData, server: WebServer, tmp_path: Path
) -> None:
    clinic.book("mn1", "2026-11-20", MN)
    _, secret = clinic.issue("patient", "name:Jane Doe")
    config = _config(tmp_path, f"{server.url}/feeds/{secret}.ics")
    _vdirsyncer(config, "discover", "feed")
    _vdirsyncer(config, "sync", "feed")
    assert "Eligible for Botox from 2026-12-04 (Jane Doe)" in _summaries(tmp_path / "local")

    clinic.book("mn1", "2026-11-24", MN)  # moved: a new eligible day, the old one no longer holds
    _vdirsyncer(config, "sync", "feed")
    found = _summaries(tmp_path / "local")
    assert "Eligible for Botox from 2026-12-08 (Jane Doe)" in found
    assert "Eligible for Botox from 2026-12-04 (Jane Doe)" not in found
    assert len(list((tmp_path / "local").glob("*.ics"))) == 2
