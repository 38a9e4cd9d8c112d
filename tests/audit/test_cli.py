"""``clinic-sync audit`` end to end over the sample clinic export (SPEC §8)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sync.cli import app

EXPORTS = sorted((Path(__file__).parents[2] / "examples" / "clinic-export").glob("*.ics"))
TODAY = "2026-11-26"


def audit(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["audit", *map(str, args)], env={"COLUMNS": "250"})
    return result.exit_code, result.stdout, result.stderr


def audit_json(*args: str | Path) -> dict[str, list[dict[str, object]]]:
    code, out, err = audit(*EXPORTS, "--today", TODAY, "--format", "json", *args)
    assert code == 0, err
    document: dict[str, list[dict[str, object]]] = json.loads(out)
    return document


def test_sample_export_gives_exactly_the_expected_conflicts() -> None:
    found = {
        (c["patient"], c["patient_match"], c["gap_days"], c["later"]["date"])  # type: ignore[index]
        for c in audit_json()["conflicts"]
    }
    assert found == {
        ("Chloe Martin", "name", 7, "2026-09-08"),
        ("Jane Doe", "name", 7, "2026-11-17"),
        ("olivia.brown@example.com", "email", 10, "2026-11-30"),
        ("Mr Ahmed", "id", 7, "2026-12-01"),
        ("Nina Park", "name", 5, "2026-12-03"),
        ("Priya Shah", "name", 0, "2026-12-02"),
        ("Eve bold red Hacker", "name", 7, "2026-12-11"),
        ("Grace O'Neill", "name", 7, "2026-12-15"),
        ("Tom Reed", "name", 9, "2026-12-10"),
    }


def test_json_follows_the_documented_contract() -> None:
    document = audit_json()
    assert set(document) == {"conflicts", "eligibility", "skipped", "notes", "ambiguous_names"}
    conflict = next(c for c in document["conflicts"] if c["patient"] == "Tom Reed")
    assert conflict == {
        "rule": "botox-after-microneedling",
        "patient": "Tom Reed",
        "patient_key": "name:reed tom",
        "patient_match": "name",
        "earlier": {"uid": "kim-0008@clinic.example", "summary": "Vampire Facial – Tom Reed",
                    "date": "2026-12-01", "calendar": "Nurse Kim"},
        "later": {"uid": "kim-0007@clinic.example",
                  "summary": "Tox maintenance (moved) - Tom Reed",
                  "date": "2026-12-10", "calendar": "Nurse Kim"},
        "gap_days": 9,
        "min_days": 14,
        "earliest_eligible": "2026-12-15",
        "ideal_window": ["2026-12-15", "2026-12-29"],
    }  # fmt: skip
    reasons = {s["uid"]: s["reason"] for s in document["skipped"]}
    assert reasons["pat-0017@clinic.example"] == "event has no DTSTART"
    assert reasons["pat-0009@clinic.example"] == "cancelled"
    assert reasons["kim-0005@clinic.example"] == "declined by the patient"


def test_consults_notes_and_staff_events_are_not_treatments() -> None:
    later_uids = {c["later"]["uid"] for c in audit_json()["conflicts"]}  # type: ignore[index]
    assert "pat-0005@clinic.example" not in later_uids  # "Botox consult"
    assert "pat-0014@clinic.example" not in later_uids  # notes mention Botox


def test_csv_has_one_row_per_record_and_defuses_formulas(tmp_path: Path) -> None:
    evil = tmp_path / "evil.ics"
    evil.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nX-WR-CALNAME:=HYPERLINK(1)\r\n"
        "BEGIN:VEVENT\r\nUID:e1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20261201T100000Z\r\n"
        "SUMMARY:Microneedling - Al Evil\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:e2\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20261203T100000Z\r\n"
        "SUMMARY:Botox - Al Evil\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        encoding="utf-8",
    )
    code, out, _ = audit(evil, "--today", TODAY, "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    (conflict,) = [r for r in rows if r["record"] == "conflict"]
    assert conflict["earlier_calendar"] == "'=HYPERLINK(1)"
    assert conflict["ideal_window"] == "2026-12-15/2026-12-29"
    assert {r["record"] for r in rows} == {"conflict", "eligibility"}


def test_table_shows_hostile_titles_literally() -> None:
    code, out, _ = audit(*EXPORTS, "--today", TODAY)
    assert code == 0
    assert "RF microneedling - Eve [bold red]Hacker[/]" in out
    assert "\x1b" not in out


def test_terminal_control_characters_in_titles_are_neutralised(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.ics"
    sneaky.write_bytes(
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n"
        b"BEGIN:VEVENT\r\nUID:s1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20261201T100000Z\r\n"
        b"SUMMARY:Botox \x1b[2J\x1b]0;owned\x07 - Jo Bloggs\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    code, out, _ = audit(sneaky, "--today", TODAY)
    assert code == 0
    assert "\x1b" not in out
    assert "\x07" not in out


def test_a_file_that_is_not_icalendar_is_skipped_and_the_rest_audited(tmp_path: Path) -> None:
    junk = tmp_path / "notes.ics"
    junk.write_text("these are not the events you are looking for", encoding="utf-8")
    document = audit_json(junk)
    assert len(document["conflicts"]) == 9
    (skip,) = [s for s in document["skipped"] if s["calendar"] == "notes.ics"]
    assert "not an iCalendar file" in str(skip["reason"])


def test_a_broken_policy_file_stops_with_file_line_and_problem(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(
        '[categories.mn]\nphrases = ["microneedling"]\n\n'
        '[[rules]]\nname = "r"\nearlier = "mn"\nlater = "botox"\nmin_days = 14\n'
        "ideal_days = [14, 28]\n",
        encoding="utf-8",
    )
    code, out, err = audit(*EXPORTS, "--policy", policy)
    assert code == 2
    assert f"{policy}:7:" in err
    assert "botox" in err
    assert "Traceback" not in out + err


def test_a_clinic_policy_with_its_own_rule_is_used(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(
        '[categories.peel]\nphrases = ["chemical peel"]\n'
        '[categories.filler]\nphrases = ["filler"]\n'
        '[[rules]]\nname = "filler-after-peel"\nearlier = "peel"\nlater = "filler"\n'
        "min_days = 7\nideal_days = [7, 10]\n",
        encoding="utf-8",
    )
    export = tmp_path / "cal.ics"
    export.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n"
        "BEGIN:VEVENT\r\nUID:p\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20261201\r\n"
        "SUMMARY:Chemical peel - Ana Ruiz\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:f\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20261204\r\n"
        "SUMMARY:Filler - Ana Ruiz\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        encoding="utf-8",
    )
    code, out, _ = audit(export, "--policy", policy, "--today", TODAY, "--format", "json")
    assert code == 0
    (conflict,) = json.loads(out)["conflicts"]
    assert (conflict["rule"], conflict["gap_days"]) == ("filler-after-peel", 3)


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01"])
def test_a_bad_today_is_a_usage_error(value: str) -> None:
    code, _, err = audit(*EXPORTS, "--today", value)
    assert code == 2
    assert "--today" in err


@pytest.mark.parametrize("kind", ["missing", "directory", "unopenable"])
def test_a_file_that_cannot_be_opened_exits_2_with_one_line(tmp_path: Path, kind: str) -> None:
    """README: input errors end in one line on stderr and exit 2 (was: exit 0, "0 conflicts")."""
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    target = {
        "missing": tmp_path / "nope.ics",
        "directory": tmp_path,
        "unopenable": tmp_path / "a-file" / "inside.ics",  # a path through a file
    }[kind]
    code, out, err = audit(*EXPORTS, target, "--today", TODAY, "--format", "json")
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "cannot be read" in err
    assert "Traceback" not in err


def test_an_event_read_with_a_repair_is_listed_in_notes(tmp_path: Path) -> None:
    """JSON keys only grow: ``notes`` lists what was cut or dropped to read an event."""
    export = tmp_path / "long.ics"
    export.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nX-WR-CALNAME:Dr Long\r\n"
        "BEGIN:VEVENT\r\nUID:long\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20261201T100000Z\r\n"
        f"SUMMARY:Botox - Jo Bloggs\r\nDESCRIPTION:{'x' * 100_000}\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n",
        encoding="utf-8",
    )
    code, out, _ = audit(export, "--today", TODAY, "--format", "json")
    assert code == 0
    (note,) = json.loads(out)["notes"]
    assert note == {
        "uid": "long",
        "reason": "DESCRIPTION of 100,012 characters cut to 65,536",
        "calendar": "Dr Long",
    }
    code, out, _ = audit(export, "--today", TODAY)
    assert "Read with a repair (1)" in out


def _event(uid: str, day: str, summary: str, attendee: str) -> str:
    return (
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART;VALUE=DATE:{day}\r\nSUMMARY:{summary}\r\n"
        f"ATTENDEE:mailto:{attendee}\r\nEND:VEVENT\r\n"
        if attendee
        else f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART;VALUE=DATE:{day}\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\n"
    )


def test_a_name_two_identified_patients_carry_links_nobody_and_is_reported(
    tmp_path: Path,
) -> None:
    """SPEC §4: a shared name is no evidence of one person; the audit says which name it was."""
    export = tmp_path / "cal.ics"
    export.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n"
        + _event("a", "20261201", "Microneedling - Ana Ruiz", "ana.one@example.org")
        + _event("b", "20261202", "Microneedling - Ana Ruiz", "ana.two@example.org")
        + _event("c", "20261205", "Botox - Ana Ruiz", "")
        + "END:VCALENDAR\r\n",
        encoding="utf-8",
    )
    code, out, _ = audit(export, "--today", TODAY, "--format", "json")
    assert code == 0
    document = json.loads(out)
    assert document["conflicts"] == []
    (shared,) = document["ambiguous_names"]
    assert (shared["name_key"], shared["patients"], shared["unlinked"]) == ("ana ruiz", 2, 1)
    code, table, _ = audit(export, "--today", TODAY)
    assert code == 0
    assert "Names shared by different patients" in table
