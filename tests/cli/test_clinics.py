"""``clinic-sync clinics``: add, list, show, set and remove clinics; bad input stores nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from sync.errors import PolicyFileError
from sync.policy_file import default_policy_text, load_policy
from sync.store.audit import list_audit_events
from sync.store.clinics import get_clinic, list_clinics, policy_history
from sync.store.database import session_scope
from sync.store.migrate import upgrade
from tests.cli.conftest import Run, book_too_soon, ok, refused

BAD_POLICY = '[[treatments]]\nname = "Botox"\nphrases = ["botox"]\nbogus = [\n'


def _stored(store: Engine) -> list[str]:
    upgrade(store)
    with session_scope(store) as session:
        return [clinic.slug for clinic in list_clinics(session)]


def _policy_error(path: Path) -> str:
    try:
        load_policy(path)
    except PolicyFileError as err:
        return str(err)
    raise AssertionError(f"{path} parses")


def test_an_added_clinic_is_listed_with_its_settings_and_name_shown_literally(cli: Run) -> None:
    name = "Alpha [bold]Clinic[/bold]"
    ok(cli("clinics", "add", "alpha", "--name", name, "time_zone=Europe/London", "dry_run=yes"))
    listed = ok(cli("clinics", "list"))
    row = next(line for line in listed.splitlines() if "alpha" in line)
    assert name in row  # markup shown as typed, never interpreted
    for cell in ("Europe/London", "default", "yes", " 0 "):
        assert cell in row


def test_show_gives_every_setting_and_the_policy_history(cli: Run, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(load_policy_text(), encoding="utf-8")
    ok(cli("clinics", "add", "alpha", "--name", "Alpha", "--policy", str(policy)))
    ok(cli("clinics", "set", "alpha", "--policy", "default", "flag_color=9"))
    shown = ok(cli("clinics", "show", "alpha"))
    for setting in ("time_zone", "staff_domains", "flag_color", "patient_id_property"):
        assert setting in shown
    assert "v2 (back to the default)" in shown
    history = [line for line in shown.splitlines() if "command line" in line]
    assert [line.split()[1] for line in history] == ["2", "1"]
    assert "the built-in default" in history[0]
    assert "the clinic's own" in history[1]


def load_policy_text() -> str:
    return default_policy_text()


def test_a_slug_is_lower_case_letters_digits_and_hyphens(cli: Run, store: Engine) -> None:
    for slug in ("Alpha", "al_pha", "alpha-", "a--b", "a" * 65, "al pha", ""):
        assert "is not a clinic slug" in refused(cli("clinics", "add", slug, "--name", "X"))
    ok(cli("clinics", "add", "north-2", "--name", "North 2"))
    assert _stored(store) == ["north-2"]


def test_a_taken_slug_is_refused(cli: Run) -> None:
    ok(cli("clinics", "add", "alpha", "--name", "Alpha"))
    assert "exists already" in refused(cli("clinics", "add", "alpha", "--name", "Other"))


def test_a_bad_setting_is_refused_and_nothing_is_stored(cli: Run, store: Engine) -> None:
    line = refused(cli("clinics", "add", "alpha", "--name", "A", "time_zone=Mars/Base"))
    assert "time_zone: unknown time zone 'Mars/Base'" in line
    assert "unknown clinic setting 'colour'" in refused(
        cli("clinics", "add", "alpha", "--name", "A", "colour=9")
    )
    assert "is not NAME=VALUE" in refused(cli("clinics", "add", "alpha", "--name", "A", "x"))
    assert _stored(store) == []


def test_a_bad_policy_file_is_refused_with_load_policy_s_error(
    cli: Run, store: Engine, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD_POLICY, encoding="utf-8")
    expected = _policy_error(bad)
    assert expected.startswith(f"{bad}:")  # file:line: problem
    line = refused(cli("clinics", "add", "alpha", "--name", "A", "--policy", str(bad)))
    assert line == f"error: {expected}"
    assert _stored(store) == []
    missing = tmp_path / "missing.toml"
    line = refused(cli("clinics", "add", "alpha", "--name", "A", "--policy", str(missing)))
    assert line == f"error: {_policy_error(missing)}"


def test_set_is_all_or_nothing(cli: Run, store: Engine, tmp_path: Path) -> None:
    ok(cli("clinics", "add", "alpha", "--name", "Alpha"))
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD_POLICY, encoding="utf-8")
    refused(cli("clinics", "set", "alpha", "flag_color=9", "scan_days_back=-1"))
    refused(cli("clinics", "set", "alpha", "flag_color=9", "--name", "B", "--policy", str(bad)))
    refused(cli("clinics", "set", "alpha", "flag_color=9", "--name", "  "))
    with session_scope(store) as session:
        clinic = get_clinic(session, "alpha")
        assert (clinic.name, clinic.settings.flag_color, clinic.version) == ("Alpha", "11", 1)
        assert policy_history(session, clinic.id) == []


def test_set_changes_settings_name_and_policy_and_the_audit_trail_says_so(
    cli: Run, store: Engine, tmp_path: Path
) -> None:
    ok(cli("clinics", "add", "alpha", "--name", "Alpha"))
    policy = tmp_path / "policy.toml"
    policy.write_text(load_policy_text(), encoding="utf-8")
    args = ["staff_domains=@Alpha.example, b.example", "dry_run=true", "--name", "Alpha Skin"]
    ok(cli("clinics", "set", "alpha", *args, "--policy", str(policy)))
    with session_scope(store) as session:
        clinic = get_clinic(session, "alpha")
        events = list_audit_events(session, clinic.id)
        history = policy_history(session, clinic.id)
    assert clinic.name == "Alpha Skin"
    assert clinic.settings.staff_domains == frozenset({"alpha.example", "b.example"})
    assert clinic.settings.dry_run is True
    assert [(p.version, p.text, p.created_by) for p in history] == [
        (1, load_policy_text(), "command line")
    ]
    assert events[-1].action == "clinic.settings_changed"
    assert events[-1].actor == "command line"
    assert dict(events[-1].detail) == {
        "staff_domains": "alpha.example,b.example",
        "dry_run": "true",
        "name": "Alpha Skin",
        "policy_version": 1,
    }


def test_set_with_nothing_to_change_says_what_it_takes(cli: Run) -> None:
    ok(cli("clinics", "add", "alpha", "--name", "Alpha"))
    assert "nothing to change" in refused(cli("clinics", "set", "alpha"))


def test_set_makes_the_default_clinic_on_first_use_but_no_other(cli: Run, store: Engine) -> None:
    """A one-clinic install configures its clinic with no `clinics add` first."""
    ok(cli("clinics", "set", "default", "staff_domains=clinic.example"))
    assert _stored(store) == ["default"]
    line = refused(cli("clinics", "set", "gamma", "dry_run=true"))
    assert line == "error: no clinic 'gamma'; `clinic-sync clinics list` shows them"
    assert _stored(store) == ["default"]


def test_show_and_remove_of_an_unknown_clinic_say_so_in_one_line(cli: Run) -> None:
    for command in (("show", "nope"), ("remove", "nope", "--yes")):
        line = refused(cli("clinics", *command))
        assert line == "error: no clinic 'nope'; `clinic-sync clinics list` shows them"


def test_remove_asks_first_and_says_what_it_deletes(
    cli: Run,
    store: Engine,
    new_calendar: Callable[..., str],
    insert: Callable[..., Any],
) -> None:
    room = new_calendar("Alpha room")
    book_too_soon(insert, room, "Ann Lee")
    ok(cli("clinics", "add", "alpha", "--name", "Alpha"))
    ok(cli("calendars", "add", room, "--clinic", "alpha"))
    ok(cli("sync", "--once", "--clinic", "alpha"))
    kept = cli("clinics", "remove", "alpha", input="n\n")
    assert kept.exit_code == 1
    assert "1 calendar(s), 2 booking(s), 1 conflict(s)" in kept.stdout
    assert _stored(store) == ["alpha"]
    removed = ok(cli("clinics", "remove", "alpha", "--yes"))
    assert "removed clinic alpha (Alpha): 1 calendar(s), 2 booking(s), 1 conflict(s)" in removed
    assert _stored(store) == []
    with store.connect() as connection:
        for table in ("calendar_sources", "bookings", "conflicts", "audit_events"):
            assert connection.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0


def test_the_help_lists_every_setting(cli: Run) -> None:
    shown = ok(cli("clinics", "set", "--help"))
    for setting in ("time_zone", "staff_domains", "flag_color", "feed_horizon_days", "dry_run"):
        assert setting in shown


def test_opening_hours_are_set_as_typed_and_shown_the_same_way(cli: Run) -> None:
    ok(cli("clinics", "add", "alpha", "--name", "Alpha"))
    assert "Mon-Sat 09:00-18:00/30" in ok(cli("clinics", "show", "alpha"))
    ok(cli("clinics", "set", "alpha", "opening_hours=Mon,Wed,Fri 08:30-17:00/20"))
    assert "Mon,Wed,Fri 08:30-17:00/20" in ok(cli("clinics", "show", "alpha"))
    line = refused(cli("clinics", "set", "alpha", "opening_hours=Mon 18:00-09:00"))
    assert "opening_hours: a clinic closes after it opens" in line
