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
    assert "ana@clinic.example (default: admin)" in out
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


def _add(cli: CliRunner, email: str, *options: str) -> str:
    return _run(cli, "users", "add", email, *options, "--password-stdin", stdin=PASSWORD + "\n")


def _clinic(tmp_path: Path, slug: str, name: str) -> None:
    from sync.store.clinics import add_clinic
    from sync.store.migrate import upgrade

    engine = _engine(tmp_path)
    upgrade(engine)
    with session_scope(engine) as session:
        add_clinic(session, slug, name)
    engine.dispose()


def test_grant_and_revoke_change_a_users_clinics_and_roles_one_clinic_at_a_time(
    cli: CliRunner, tmp_path: Path
) -> None:
    """Roles are per clinic: grant adds or changes one, revoke ends one, list shows them."""
    _clinic(tmp_path, "alpha", "Alpha Clinic")
    _clinic(tmp_path, "beta", "Beta Clinic")
    assert "(Alpha Clinic: admin)" in _add(
        cli, "mo@x.example", "--clinic", "alpha", "--role", "admin"
    )
    granted = _run(cli, "users", "grant", "mo@x.example", "--clinic", "beta", "--role", "auditor")
    assert "Alpha Clinic: admin, Beta Clinic: auditor" in granted
    _add(cli, "bo@x.example", "--clinic", "beta", "--role", "admin")
    of_alpha = _run(cli, "users", "list", "--clinic", "alpha")
    assert "mo@x.example" in of_alpha
    assert "bo@x.example" not in of_alpha
    revoked = _run(cli, "users", "revoke", "mo@x.example", "--clinic", "alpha")
    assert "Beta Clinic: auditor" in revoked
    assert "Alpha" not in revoked
    with session_scope(_engine(tmp_path)) as session:
        user = find_user(session, "mo@x.example")
        assert user is not None
        assert [(m.slug, m.role.value) for m in user.memberships] == [("beta", "auditor")]
        beta = user.memberships[0].clinic_id
        trail = [e.action for e in list_audit_events(session, beta)]
    assert "user.granted" in trail


def test_an_operator_is_a_member_of_no_clinic_and_a_user_needs_one_or_the_other(
    cli: CliRunner, tmp_path: Path
) -> None:
    from sync.cli import app

    assert "(operator)" in _add(cli, "op@x.example", "--operator")
    with session_scope(_engine(tmp_path)) as session:
        operator = find_user(session, "op@x.example")
    assert operator is not None
    assert (operator.operator, operator.memberships) == (True, ())
    neither = cli.invoke(app, ["users", "add", "no@x.example", "--password-stdin"], input="x\n")
    assert neither.exit_code == 2
    assert "--operator" in neither.stderr


def test_a_clinic_that_does_not_exist_is_named_in_one_line(cli: CliRunner) -> None:
    from sync.cli import app

    _add(cli, "mo@x.example", "--role", "admin")
    result = cli.invoke(
        app, ["users", "grant", "mo@x.example", "--clinic", "nope", "--role", "admin"]
    )
    assert result.exit_code == 2
    assert "no clinic 'nope'" in result.stderr
    first = cli.invoke(app, ["users", "revoke", "mo@x.example", "--clinic", "default"])
    assert first.exit_code == 0
    again = cli.invoke(app, ["users", "revoke", "mo@x.example", "--clinic", "default"])
    assert again.exit_code == 2
    assert "is not a member" in again.stderr
