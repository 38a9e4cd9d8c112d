"""``clinic-sync feeds``: issue prints the URL once; list never shows a token (SPEC §7)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sync.cli import app
from sync.store.audit import list_audit_events
from sync.store.database import make_engine, session_scope


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "CLINIC_SYNC_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
        "CLINIC_SYNC_PUBLIC_URL": "https://feeds.clinic.example/",
        "COLUMNS": "250",
    }


def feeds(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["feeds", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_issue_prints_the_url_and_list_never_shows_the_token(env: dict[str, str]) -> None:
    code, out, _ = feeds(env, "issue", "patient", "email:Jane@Example.com", "--label", "Jane")
    assert code == 0
    match = re.fullmatch(r"https://feeds\.clinic\.example/feeds/([A-Za-z0-9_-]{43})\.ics\n", out)
    assert match is not None, out
    code, listing, _ = feeds(env, "list")
    assert code == 0
    assert "patient email:jane@example.com" in listing
    assert "Jane" in listing
    assert match[1] not in listing


def test_rotate_prints_a_new_url_and_revoke_marks_it(env: dict[str, str]) -> None:
    _, first, _ = feeds(env, "issue", "clinic")
    code, second, _ = feeds(env, "rotate", "1")
    assert code == 0
    assert second != first
    assert second.startswith("https://")
    assert feeds(env, "revoke", "2")[0] == 0
    _, listing, _ = feeds(env, "list")
    rows = [line for line in listing.splitlines() if line.startswith(("│ 1", "│ 2"))]
    assert len(rows) == 2
    assert all("UTC" in row.split("│")[-2] for row in rows)


def test_issue_rotate_and_revoke_are_recorded_in_the_audit_trail_as_the_pages_record_them(
    env: dict[str, str], tmp_path: Path
) -> None:
    feeds(env, "issue", "clinic", "--label", "desk")
    assert feeds(env, "rotate", "1")[0] == 0
    assert feeds(env, "revoke", "2")[0] == 0
    engine = make_engine(env["CLINIC_SYNC_DATABASE_URL"])
    with session_scope(engine) as session:
        events = [e for e in list_audit_events(session, 1) if e.action.startswith("feed_token.")]
    engine.dispose()
    told = sorted((e.id, e.action, e.actor, e.detail["token_id"]) for e in events)
    assert [row[1:] for row in told] == [
        ("feed_token.issued", "cli", 1),
        ("feed_token.rotated", "cli", 2),
        ("feed_token.revoked", "cli", 2),
    ]
    [rotated] = [e for e in events if e.action == "feed_token.rotated"]
    assert rotated.detail == {
        "token_id": 2, "rotated_from_id": 1, "scope": "clinic", "value": "", "label": "desk",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("issue", "patient"), "patient key"),
        (("issue", "clinic", "extra"), "no target"),
        (("issue", "calendar", "42"), "no calendar with id 42"),
        (("revoke", "9"), "no feed token with id 9"),
    ],
)
def test_bad_input_ends_in_one_line(
    env: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    code, _, err = feeds(env, *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err
