"""What the calendar commands share: ending cleanly on errors, and the Google wiring.

Every clinic-sync error and store error ends the command in one line through
:func:`sync.cli.common.fail` (exit 2, no traceback).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime

from sqlalchemy import Engine

from sync.bootstrap import google_source, store_scope
from sync.cli.common import chosen_clinic, fail
from sync.clinics.profile import load_profile
from sync.config import Settings
from sync.errors import ClinicSyncError
from sync.sources.google.source import GoogleCalendarSource
from sync.store.database import session_scope
from sync.store.errors import StoreError

__all__ = ["clean_errors", "google", "store", "when"]


@contextmanager
def clean_errors() -> Iterator[None]:
    """Turn clinic-sync's and the store's errors into one clear line and exit status 2."""
    try:
        yield
    except (ClinicSyncError, StoreError) as err:
        fail(err)


def store(settings: Settings) -> AbstractContextManager[Engine]:
    """The configured database, migrated; its pool is closed afterwards."""
    return store_scope(settings)


@contextmanager
def google(settings: Settings, clinic: str | None = None) -> Iterator[GoogleCalendarSource]:
    """The Google account of the clinic ``--clinic`` names (its stored grant, or the
    configured credentials file); its connections are closed afterwards."""
    with store(settings) as engine:
        with session_scope(engine) as session:
            profile = load_profile(session, chosen_clinic(session, settings, clinic))
        source = google_source(settings, profile, engine=engine)
        try:
            yield source
        finally:
            source.client.close()


def when(moment: datetime | None) -> str:
    """A stored instant as a person reads it in a table (UTC, to the second)."""
    return "—" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")
