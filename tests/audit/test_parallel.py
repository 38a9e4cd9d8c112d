"""Exports read in parallel processes give the very report one process gives (SPEC §8)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from rules.assess import Scope
from rules.patients import IdentityOptions
from sync.errors import ExportError
from sync.policy_file import load_policy
from sync.usecases.audit import audit_exports, read_exports
from sync.usecases.report import render_json

ROOT = Path(__file__).parents[2]
EXPORTS = sorted((ROOT / "examples" / "clinic-export").glob("*.ics"))
SAMPLE = sorted((ROOT / ".." / "shared" / "realworld-sample").glob("*.ics"))
SCOPE = Scope(today=date(2026, 11, 26), days_back=180, days_ahead=365, feed_horizon_days=365)


def report(paths: list[Path], workers: int) -> str:
    found = audit_exports(paths, load_policy(), SCOPE, IdentityOptions(), workers=workers)
    return render_json(found.assessment, found.notes)


@pytest.mark.parametrize("workers", [2, 3])
def test_parallel_reading_gives_the_serial_report(tmp_path: Path, workers: int) -> None:
    not_ical = tmp_path / "notes.ics"
    not_ical.write_text("just some text\n", encoding="utf-8")
    paths = [*EXPORTS, not_ical, *SAMPLE]
    serial = report(paths, workers=1)
    assert '"conflicts": [\n    {' in serial  # the sample clinic has conflicts to compare
    assert report(paths, workers=workers) == serial


def _calendar(path: Path, name: str, *events: str) -> Path:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", f"X-WR-CALNAME:{name}"]
    for number, event in enumerate(events):
        lines += ["BEGIN:VEVENT", f"UID:{path.stem}-{number}", "DTSTAMP:20261101T000000Z"]
        lines += [*event.splitlines(), "END:VEVENT"]
    path.write_text("\r\n".join([*lines, "END:VCALENDAR", ""]), encoding="utf-8")
    return path


def test_an_address_of_a_calendar_read_in_another_process_names_no_patient(
    tmp_path: Path,
) -> None:
    """The desk's primary calendar is read in one process, the bookings naming it in another."""
    desk = "mailto:front.desk@clinic.example"
    practitioner = _calendar(
        tmp_path / "a.ics",
        "Dr A",
        f"DTSTART:20261110T100000Z\nSUMMARY:Microneedling\nATTENDEE:{desk}",
        f"DTSTART:20261117T100000Z\nSUMMARY:Botox\nATTENDEE:{desk}",
    )
    own = _calendar(tmp_path / "b.ics", "front.desk@clinic.example", "DTSTART:20261201T100000Z")
    assert "front.desk@clinic.example" in report([practitioner], workers=1)  # alone: a patient
    serial = report([practitioner, own], workers=1)
    assert "front.desk@clinic.example" not in serial
    assert report([practitioner, own], workers=2) == serial


def test_a_missing_file_is_an_input_error_in_parallel_too(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="cannot be read"):
        report([*EXPORTS, tmp_path / "gone.ics"], workers=2)


def test_files_read_in_different_processes_share_their_equal_values(tmp_path: Path) -> None:
    # Memory, not results: a patient seen by two practitioners has one title, day and guest.
    event = "DTSTART:20261110T100000Z\nSUMMARY:Botox - Jane Doe\nATTENDEE:mailto:jd@example.com"
    paths = [_calendar(tmp_path / f"{name}.ics", f"Dr {name}", event) for name in "ab"]
    window = (date(2026, 6, 1), date(2027, 6, 1))
    exports, _ = read_exports(paths, window, workers=2)
    first, second = (export.bookings[0] for export in exports)
    assert first.summary is second.summary
    assert first.day is second.day
    assert first.attendees is second.attendees
