"""Fixtures for the worker: the store's SQLite and PostgreSQL engines, and calendars in them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from sync.store.clinics import get_or_create_clinic
from sync.store.database import session_scope
from sync.store.sources import Provider, add_source
from tests.store.conftest import blank_engine, engine, postgres_unreachable

__all__ = ["add_calendars", "blank_engine", "engine", "postgres_unreachable"]

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)


def add_calendars(
    engine: Engine,
    count: int,
    *,
    clinic: str = "default",
    provider: Provider = Provider.GOOGLE,
    prefix: str = "room",
) -> list[int]:
    """Connect ``count`` calendars to ``clinic``; their ids, in order."""
    with session_scope(engine) as session:
        clinic_id = get_or_create_clinic(session, clinic).id
        return [
            add_source(
                session,
                clinic_id,
                provider,
                f"{prefix}{number}@{clinic}.example",
                display_name=f"{prefix.title()} {number}",
                time_zone="Europe/London",
                now=NOW,
            ).id
            for number in range(count)
        ]
