"""``clinic-sync audit`` imports what the audit needs only.

Not the web app, CalDAV or the demo, and not the store: the audit reads files and
touches no database, and SQLAlchemy with the tables was the bulk of its start-up and
of its memory before the first file was opened.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXPORTS = sorted((Path(__file__).parents[2] / "examples" / "clinic-export").glob("*.ics"))
_HEAVY = ("sync.web", "sync.sources.caldav", "sync.demo", "sync.store", "sqlalchemy", "sqlmodel")

_RUN = """
import json, sys
from sync.cli import main
try:
    sys.argv[0] = "clinic-sync"
    main()
except SystemExit as done:
    code = done.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def test_audit_does_not_import_the_web_app_caldav_the_demo_or_the_store() -> None:
    args = ["audit", *map(str, EXPORTS), "--today", "2026-11-26", "--format", "json"]
    done = subprocess.run(
        [sys.executable, "-c", _RUN, *args], capture_output=True, text=True, check=True
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["code"] in (0, None)
    assert json.loads(done.stdout)["conflicts"]  # the audit did run
    loaded = [name for name in report["modules"] if name.startswith(_HEAVY)]
    assert loaded == []


def test_help_still_lists_every_command_in_its_order() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from sync.cli import main; main()", "--help"],
        capture_output=True, text=True, check=True, env={"COLUMNS": "200", "PATH": ""},
    )  # fmt: skip
    rows = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("│ ")]
    listed = [name for name in rows if not name.startswith("-")]
    assert listed[:5] == ["demo", "worker", "serve", "sync", "audit"]
    assert {"conflicts", "calendars", "connect", "feeds", "secrets", "emulator"} <= set(listed)
