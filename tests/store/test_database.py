"""Engines are configured per backend and failures come out as clear store errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from sync.store.clinics import get_or_create_clinic, list_clinics
from sync.store.database import database_name, make_engine, normalize_url, session_scope
from sync.store.errors import DatabaseUnavailable, StoreError
from sync.store.migrate import upgrade


def test_plain_postgresql_url_uses_psycopg3() -> None:
    url = normalize_url("postgresql://clinic:pw@db.example:5432/clinic")
    assert url.drivername == "postgresql+psycopg"


def test_sqlite_url_is_left_alone() -> None:
    assert normalize_url("sqlite:///./clinic-sync.db").drivername == "sqlite"


def test_database_name_hides_the_password() -> None:
    assert "hunter2" not in database_name("postgresql://clinic:hunter2@db.example/clinic")


def test_make_engine_does_not_connect() -> None:
    """Building an engine for a server that does not exist raises nothing."""
    make_engine("postgresql://nobody@127.0.0.1:1/none").dispose()


def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/pragmas.db")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 5000
    engine.dispose()


def test_unreachable_postgres_names_the_database_without_password() -> None:
    engine = make_engine(
        "postgresql://clinic:hunter2@127.0.0.1:1/clinic", connect_args={"connect_timeout": 2}
    )
    with pytest.raises(DatabaseUnavailable) as caught:
        upgrade(engine)
    message = str(caught.value)
    assert "127.0.0.1:1/clinic" in message
    assert "hunter2" not in message
    engine.dispose()


def test_unopenable_sqlite_file_is_unavailable(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/missing-dir/clinic.db")
    with pytest.raises(DatabaseUnavailable, match="missing-dir"), session_scope(engine) as session:
        list_clinics(session)
    engine.dispose()


def test_session_scope_rolls_back_when_the_block_raises(engine: Engine) -> None:
    def create_then_fail() -> None:
        with session_scope(engine) as session:
            get_or_create_clinic(session, "rolled-back")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        create_then_fail()
    with session_scope(engine) as session:
        assert list_clinics(session) == []


def test_store_error_without_database_is_just_the_message() -> None:
    assert str(StoreError("plain")) == "plain"
