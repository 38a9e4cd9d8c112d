"""Migrations build the schema from nothing, are idempotent and match the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text

from sync.store.database import make_engine
from sync.store.errors import SchemaDrift
from sync.store.migrate import (
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
