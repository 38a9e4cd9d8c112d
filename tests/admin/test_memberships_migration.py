"""Migration 0014: roles live in memberships only; sessions remember their clinic (SPEC §8).

SQLite alters a table by copying it: these also pin that the rows pointing at a copied
table (a user's tokens and memberships, a clinic's calendars) survive the copy.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text

from sync.store.database import make_engine
from sync.store.migrate import downgrade, upgrade


@pytest.fixture
def at_0012(tmp_path: Path) -> Iterator[Engine]:
    """An install as 0012 left it: an admin and an auditor, members of its one clinic."""
    engine = make_engine(f"sqlite:///{tmp_path}/old.db")
    upgrade(engine, "0012")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO clinics (slug, name, created_at) "
                "VALUES ('default', 'Rivera', '2030-01-01')"
            )
        )
        for email, role in (("ana@x.example", "admin"), ("oli@x.example", "auditor")):
            connection.execute(
                text(
                    "INSERT INTO users (email, role, password_hash, created_at, operator) "
                    "VALUES (:email, :role, 'h', '2030-01-01', 0)"
                ),
                {"email": email, "role": role},
            )
            connection.execute(
                text(
                    "INSERT INTO memberships (user_id, clinic_id, role, created_at) "
                    "SELECT id, 1, :role, '2030-01-01' FROM users WHERE email = :email"
                ),
                {"email": email, "role": role},
            )
            connection.execute(
                text(
                    "INSERT INTO api_tokens (user_id, token_hash, created_at) "
                    "SELECT id, :email, '2030-01-01' FROM users WHERE email = :email"
                ),
                {"email": email},
            )
    yield engine
    engine.dispose()


def _roles(engine: Engine, table: str) -> dict[str, str]:
    query = {
        "users": "SELECT email, role FROM users",
        "memberships": "SELECT u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id",
    }[table]
    with engine.connect() as connection:
        return dict(connection.execute(text(query)).all())


def test_upgrade_keeps_each_role_as_the_membership_and_drops_the_users_column(
    at_0012: Engine,
) -> None:
    upgrade(at_0012)
    columns = {c["name"] for c in inspect(at_0012).get_columns("users")}
    assert "role" not in columns
    assert "clinic_id" in {c["name"] for c in inspect(at_0012).get_columns("web_sessions")}
    assert _roles(at_0012, "memberships") == {"ana@x.example": "admin", "oli@x.example": "auditor"}
    with at_0012.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM api_tokens")).scalar() == 2


def test_downgrade_gives_each_user_the_strongest_role_of_their_memberships(
    at_0012: Engine,
) -> None:
    upgrade(at_0012)
    with at_0012.begin() as connection:
        connection.execute(text("DELETE FROM memberships WHERE role = 'auditor'"))
    downgrade(at_0012, "0012")
    assert _roles(at_0012, "users") == {"ana@x.example": "admin", "oli@x.example": "auditor"}


def test_an_install_upgraded_from_0011_keeps_its_calendars(tmp_path: Path) -> None:
    """0012 copies ``clinics`` on SQLite: its calendars must not cascade away with the old copy."""
    engine = make_engine(f"sqlite:///{tmp_path}/older.db")
    upgrade(engine, "0011")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO clinics (slug, name, created_at) VALUES ('default', 'R', '2030-01-01')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO calendar_sources (clinic_id, provider, external_id, display_name, "
                "time_zone, enabled, consecutive_failures, created_at, lease_token) "
                "VALUES (1, 'google', 'cal-1', 'Dr Smith', 'UTC', 1, 0, '2030-01-01', 0)"
            )
        )
    upgrade(engine)
    with engine.connect() as connection:
        names = connection.execute(text("SELECT display_name FROM calendar_sources")).scalars()
        assert list(names) == ["Dr Smith"]
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()
