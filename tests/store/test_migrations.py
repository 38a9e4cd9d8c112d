"""Migrations build the schema from nothing, are idempotent and match the models."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text

from sync.store import migrate
from sync.store.database import make_engine
from sync.store.errors import SchemaDrift
from sync.store.migrate import (
    HEAD,
    check_schema,
    current_revision,
    head_revision,
    schema_differences,
    upgrade,
)

TABLES = {"clinics", "calendar_sources", "bookings", "patients", "conflicts", "audit_events"}


def test_blank_database_has_no_revision(blank_engine: Engine) -> None:
    assert current_revision(blank_engine) is None


def test_upgrade_from_empty_reaches_head(blank_engine: Engine) -> None:
    upgrade(blank_engine)
    assert current_revision(blank_engine) == head_revision()
    assert set(inspect(blank_engine).get_table_names()) >= TABLES


def test_upgrade_twice_changes_nothing(engine: Engine) -> None:
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert schema_differences(engine) == []


def test_the_head_the_code_names_is_the_newest_revision_file() -> None:
    """Adding a migration means naming it as :data:`HEAD` too, or no store reaches it."""
    assert head_revision() == HEAD


def test_a_store_at_head_is_not_handed_to_alembic(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("Alembic ran on a store already at head")

    monkeypatch.setattr(migrate.command, "upgrade", refuse)
    upgrade(engine)
    assert current_revision(engine) == HEAD


def test_a_store_behind_head_is_still_upgraded(blank_engine: Engine) -> None:
    upgrade(blank_engine, "0028")
    upgrade(blank_engine)
    assert current_revision(blank_engine) == HEAD
    assert schema_differences(blank_engine) == []


def test_migrated_tables_match_the_models(engine: Engine) -> None:
    """Autogenerate finds nothing to add, drop or alter after the migrations ran."""
    assert schema_differences(engine) == []
    check_schema(engine)


def test_missing_column_is_reported_as_drift(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE patients DROP COLUMN display_name"))
    with pytest.raises(SchemaDrift, match="display_name") as caught:
        check_schema(engine)
    assert caught.value.differences


def test_upgrade_accepts_a_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/by-url.db"
    upgrade(url)
    engine = make_engine(url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_index_on_next_poll_at_exists(engine: Engine) -> None:
    indexes = inspect(engine).get_indexes("calendar_sources")
    assert any(index["column_names"] == ["next_poll_at"] for index in indexes)


# Migration 0012: an install that ran one clinic per process, set by CLINIC_SYNC_* variables.

_POLICY = (Path(__file__).parents[2] / "rules" / "default_policy.toml").read_text("utf-8")


@pytest.fixture
def one_clinic_install(
    blank_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Engine:
    """A store at 0011 with its clinic ``north`` (and ``south``) and two users; a clean env."""
    for name in [n for n in os.environ if n.startswith("CLINIC_SYNC_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    upgrade(blank_engine, "0011")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with blank_engine.begin() as connection:
        for slug in ("north", "south"):
            connection.execute(
                text("INSERT INTO clinics (slug, name, created_at) VALUES (:s, :s, :now)"),
                {"s": slug, "now": now},
            )
        for email, role in (("a@north.example", "admin"), ("b@north.example", "auditor")):
            connection.execute(
                text(
                    "INSERT INTO users (email, role, password_hash, created_at) "
                    "VALUES (:email, :role, 'x', :now)"
                ),
                {"email": email, "role": role, "now": now},
            )
    monkeypatch.setenv("CLINIC_SYNC_CLINIC", "north")
    return blank_engine


def _clinic(engine: Engine, slug: str) -> dict[str, object]:
    with engine.connect() as connection:
        row = connection.execute(text("SELECT * FROM clinics WHERE slug = :s"), {"s": slug})
        return dict(row.mappings().one())


def test_0012_moves_the_process_settings_into_the_named_clinic(
    one_clinic_install: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    moved = {
        "CLINIC_SYNC_CLINIC_TIME_ZONE": "Europe/London",
        "CLINIC_SYNC_STAFF_DOMAINS": "North.example, @staff.example",
        "CLINIC_SYNC_FLAG_COLOR": "5",
        "CLINIC_SYNC_PATIENT_ID_PROPERTY": "pid",
        "CLINIC_SYNC_FEED_PATIENT_LABEL": "id",
        "CLINIC_SYNC_SCAN_DAYS_BACK": "30",
        "CLINIC_SYNC_SCAN_DAYS_AHEAD": "60",
        "CLINIC_SYNC_FEED_HORIZON_DAYS": "90",
    }
    for name, value in moved.items():
        monkeypatch.setenv(name, value)
    Path(".env").write_text("CLINIC_SYNC_DRY_RUN=true\nCLINIC_SYNC_FLAG_COLOR=7\n")
    upgrade(one_clinic_install, "0012")
    north = _clinic(one_clinic_install, "north")
    assert {k: north[k] for k in ("time_zone", "staff_domains", "flag_color")} == {
        "time_zone": "Europe/London",
        "staff_domains": "north.example,staff.example",
        "flag_color": "5",  # the environment over .env, as the service read them
    }
    assert (north["patient_id_property"], north["feed_patient_label"]) == ("pid", "id")
    assert (north["scan_days_back"], north["scan_days_ahead"]) == (30, 60)
    assert north["feed_horizon_days"] == 90
    assert bool(north["dry_run"]) is True
    south = _clinic(one_clinic_install, "south")
    assert (south["time_zone"], south["flag_color"], bool(south["dry_run"])) == ("UTC", "11", False)


def test_0012_leaves_a_bad_value_at_its_default_and_says_so(
    one_clinic_install: Engine,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("CLINIC_SYNC_CLINIC_TIME_ZONE", "Mars/Base")
    monkeypatch.setenv("CLINIC_SYNC_FLAG_COLOR", "99")
    monkeypatch.setenv("CLINIC_SYNC_SCAN_DAYS_BACK", "45")
    with caplog.at_level(logging.WARNING):
        upgrade(one_clinic_install, "0012")
    north = _clinic(one_clinic_install, "north")
    assert (north["time_zone"], north["flag_color"], north["scan_days_back"]) == ("UTC", "11", 45)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("CLINIC_SYNC_CLINIC_TIME_ZONE left at its default" in m for m in warned)
    assert any("CLINIC_SYNC_FLAG_COLOR left at its default" in m for m in warned)


def test_0012_moves_the_policy_file_as_version_1(
    one_clinic_install: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(_POLICY, encoding="utf-8")
    monkeypatch.setenv("CLINIC_SYNC_POLICY", str(policy))
    upgrade(one_clinic_install, "0012")
    north = _clinic(one_clinic_install, "north")
    with one_clinic_install.connect() as connection:
        rows = connection.execute(
            text("SELECT clinic_id, version, text FROM clinic_policies")
        ).all()
    assert [tuple(row) for row in rows] == [(north["id"], 1, _POLICY)]
    assert north["version"] == 2  # a process holding the old settings notices


def test_0012_leaves_a_policy_that_does_not_parse_and_says_so(
    one_clinic_install: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("[[treatments]\n", encoding="utf-8")
    monkeypatch.setenv("CLINIC_SYNC_POLICY", str(policy))
    with caplog.at_level(logging.WARNING):
        upgrade(one_clinic_install, "0012")
    with one_clinic_install.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM clinic_policies")).scalar() == 0
    warned = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert f"CLINIC_SYNC_POLICY {policy} not moved into the clinic: {policy}:1:" in warned


def test_0012_makes_every_user_a_member_of_the_clinic_with_their_role(
    one_clinic_install: Engine,
) -> None:
    upgrade(one_clinic_install, "0012")
    north = _clinic(one_clinic_install, "north")
    with one_clinic_install.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT u.email, m.clinic_id, m.role FROM memberships m "
                "JOIN users u ON u.id = m.user_id ORDER BY u.email"
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        ("a@north.example", north["id"], "admin"),
        ("b@north.example", north["id"], "auditor"),
    ]


def test_0012_on_an_empty_install_moves_nothing(
    blank_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No clinic yet: the one made on first use gets a new clinic's defaults."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLINIC_SYNC_FLAG_COLOR", "5")
    upgrade(blank_engine)
    with blank_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM clinics")).scalar() == 0
