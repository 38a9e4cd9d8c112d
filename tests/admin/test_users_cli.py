"""``clinic-sync users``: add, list, disable, set-password, token (SPEC §8)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sync.accounts.passwords import verify_password
from sync.accounts.secrets import hash_secret
from sync.store.audit import list_audit_events
from sync.store.database import make_engine, session_scope
from sync.store.users import find_user, password_hash_of, user_for_api_token
from tests.admin.conftest import NOW

PASSWORD = "correct horse battery"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLINIC_SYNC_DATABASE_URL", f"sqlite:///{tmp_path}/clinic.db")
    return CliRunner()


def _run(cli: CliRunner, *args: str, stdin: str | None = None) -> str:
    from sync.cli import app

    result = cli.invoke(app, list(args), input=stdin)
    assert result.exit_code == 0, result.output + result.stderr
    return result.stdout


def _engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    return make_engine(f"sqlite:///{tmp_path}/clinic.db")


def test_add_reads_the_password_from_stdin_and_stores_only_an_argon2_hash(
    cli: CliRunner, tmp_path: Path
) -> None:
    out = _run(
        cli,
        "users",
        "add",
        "Ana@Clinic.Example",
        "--role",
        "admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert "ana@clinic.example (admin)" in out
    with session_scope(_engine(tmp_path)) as session:
        user = find_user(session, "ana@clinic.example")
        assert user is not None
        stored = password_hash_of(session, user.id)
        events = list_audit_events(session, 1)
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert verify_password(stored, PASSWORD)
    assert [(e.actor, e.action) for e in events] == [("cli", "user.added")]
    assert PASSWORD not in str(events[0].detail)


def test_a_short_password_and_a_taken_address_end_in_one_clear_line(cli: CliRunner) -> None:
    from sync.cli import app

    short = cli.invoke(
        app, ["users", "add", "a@b.example", "--role", "admin", "--password-stdin"], input="short\n"
    )
    assert short.exit_code == 2
    assert "at least 10 characters" in short.stderr
    _run(
        cli,
        "users",
        "add",
        "a@b.example",
        "--role",
        "auditor",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    again = cli.invoke(
        app,
        ["users", "add", "A@b.example", "--role", "admin", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert again.exit_code == 2
    assert "exists already" in again.stderr


def test_token_is_printed_once_and_works_until_the_user_is_disabled(
    cli: CliRunner, tmp_path: Path
) -> None:
    _run(
        cli,
        "users",
        "add",
        "a@b.example",
        "--role",
        "auditor",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    secret = _run(cli, "users", "token", "a@b.example").strip()
    assert secret.startswith("csa_")
    with session_scope(_engine(tmp_path)) as session:
        assert user_for_api_token(session, hash_secret(secret), now=NOW) is not None
    _run(cli, "users", "disable", "a@b.example")
    listing = _run(cli, "users", "list")
    assert "a@b.example" in listing
    assert "auditor" in listing
    with session_scope(_engine(tmp_path)) as session:
        assert user_for_api_token(session, hash_secret(secret), now=NOW) is None


def test_set_password_replaces_the_hash(cli: CliRunner, tmp_path: Path) -> None:
    _run(
        cli,
        "users",
        "add",
        "a@b.example",
        "--role",
        "admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    _run(
        cli, "users", "set-password", "a@b.example", "--password-stdin", stdin="another long one\n"
    )
    with session_scope(_engine(tmp_path)) as session:
        user = find_user(session, "a@b.example")
        assert user is not None
        assert verify_password(password_hash_of(session, user.id), "another long one")
