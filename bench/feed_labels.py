"""How many patients of the demo clinic's feed share a label, per label mode (SPEC §7, issue 15).

One command::

    .venv/bin/python bench/feed_labels.py [--seed 7]

Runs the demo's own first sync (the emulator with the real Google client, a SQLite
store), renders the clinic's feed once per label mode through the feed service, and
counts, over the patients that feed lists, the labels that stand for more than one
patient — the labels are :func:`sync.feeds.labels.feed_labels`, what the render used.
Prints a table and writes ``bench/results/feed_labels.json`` (``--full`` changes nothing:
the demo clinic has one size).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import threading
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402

from sync.clinics.directory import ClinicDirectory  # noqa: E402
from sync.demo.clinic import generate_clinic  # noqa: E402
from sync.demo.first_sync import connect_calendars, first_sync  # noqa: E402
from sync.demo.run import DemoOptions, demo_settings, open_demo_services  # noqa: E402
from sync.demo.screen import Screen  # noqa: E402
from sync.emulator import EmulatorServer  # noqa: E402
from sync.feeds.labels import PatientLabel, feed_labels  # noqa: E402
from sync.feeds.scope import FeedScope, ScopeKind  # noqa: E402
from sync.feeds.service import FeedOptions, FeedService  # noqa: E402
from sync.feeds.tokens import issue_token  # noqa: E402
from sync.store.clinics import update_clinic_settings  # noqa: E402
from sync.store.database import session_scope  # noqa: E402
from sync.store.feeds import feed_label_key  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "feed_labels.json"
MODES = (PatientLabel.INITIALS, PatientLabel.INITIALS_TAG)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--full", action="store_true", help="the same: one demo clinic size")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="feed-labels-") as tmp:
        rows = measure(Path(tmp) / "demo.db", options.seed)
    report(rows, options.seed)
    return 0


def measure(database: Path, seed: int) -> dict[str, dict[str, Any]]:
    clinic = generate_clinic(seed, date.today())
    rows: dict[str, dict[str, Any]] = {}
    with EmulatorServer(seed=clinic.seed()) as emulator:
        settings = demo_settings(DemoOptions(database=database), emulator.url, "http://demo")
        with open_demo_services(settings) as services:
            sources = connect_calendars(services, clinic)
            first_sync(services, sources, Screen(Console(file=io.StringIO())), threading.Event())
            engine, clinic_id = services.engine, services.clinic.id
            with session_scope(engine) as session:
                now = datetime.now(UTC)
                issued = issue_token(
                    session, clinic_id, FeedScope(ScopeKind.CLINIC), actor="bench", now=now
                )
                key = feed_label_key(session, clinic_id)
            for mode in MODES:
                with session_scope(engine) as session:
                    _set_label(session, clinic_id, mode)
                service = FeedService(engine, ClinicDirectory(engine), FeedOptions())
                answer = service.answer(issued.secret)
                assert answer.feed is not None, "the clinic feed renders"
                view = next(iter(service._views.values()))  # what it rendered
                patients = {item.patient for item in view.assessment.eligibility}
                labels = feed_labels(patients, mode, key=key)
                rows[mode.value] = _collisions(labels.values())
    return rows


def _set_label(session: Any, clinic_id: int, mode: PatientLabel) -> None:
    changes = {"feed_patient_label": mode.value}
    update_clinic_settings(session, clinic_id, changes, now=datetime.now(UTC))


def _collisions(labels: Any) -> dict[str, Any]:
    counts = Counter(labels)
    shared = {label: n for label, n in counts.items() if n > 1}
    return {
        "patients": sum(counts.values()),
        "labels": len(counts),
        "patients_sharing_a_label": sum(shared.values()),
        "labels_of_more_than_one": len(shared),
        "largest": max(counts.values(), default=0),
        "worst": max(shared, key=lambda label: shared[label]) if shared else None,
    }


def report(rows: dict[str, dict[str, Any]], seed: int) -> None:
    print(f"demo clinic (seed {seed}), its clinic feed:")
    print(f"{'mode':<14} {'patients':>9} {'labels':>7} {'sharing':>8} {'largest':>8}  worst")
    for mode, row in rows.items():
        print(
            f"{mode:<14} {row['patients']:>9} {row['labels']:>7} "
            f"{row['patients_sharing_a_label']:>8} {row['largest']:>8}  {row['worst'] or '—'}"
        )
    figures = [
        {
            "name": f"demo feed, patients sharing a label, {mode}",
            "value": row["patients_sharing_a_label"],
            "unit": "patients",
            "floor": None,
            "ratio": None,
            "target": 0 if mode == PatientLabel.INITIALS_TAG.value else None,
        }
        for mode, row in rows.items()
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    document = {"seed": seed, "modes": rows, "figures": figures}
    document["when"] = datetime.now(UTC).isoformat(timespec="seconds")
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    raise SystemExit(main())
