"""Clinics and calendar sources: natural keys, cursors and poll outcomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from sync.store.clinics import get_clinic, get_or_create_clinic, list_clinics
from sync.store.database import session_scope
from sync.store.errors import ConstraintViolation, RecordNotFound
from sync.store.sources import (
    CalendarSource,
    Provider,
    add_source,
    get_source,
    list_sources,
    record_poll_failure,
    record_poll_success,
    remove_source,
    save_sync_token,
    set_source_enabled,
)

NOW = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)


def _source(engine: Engine, external_id: str = "room1@clinic.example") -> CalendarSource:
    with session_scope(engine) as session:
        clinic = get_or_create_clinic(session, "rivera", "Rivera Aesthetics")
        return add_source(
            session,
            clinic.id,
            Provider.GOOGLE,
            external_id,
            display_name="Room 1",
            time_zone="Europe/Paris",
            now=NOW,
        )


def test_get_or_create_clinic_returns_the_same_clinic(engine: Engine) -> None:
    with session_scope(engine) as session:
        first = get_or_create_clinic(session, "rivera", "Rivera Aesthetics")
    with session_scope(engine) as session:
        again = get_or_create_clinic(session, "rivera", "ignored")
        assert get_clinic(session, "rivera") == first
        assert list_clinics(session) == [first]
    assert again == first
    assert first.name == "Rivera Aesthetics"


def test_unknown_clinic_is_not_found(engine: Engine) -> None:
    with pytest.raises(RecordNotFound, match="nowhere"), session_scope(engine) as session:
        get_clinic(session, "nowhere")


def test_added_source_reads_back_with_empty_poll_state(engine: Engine) -> None:
    source = _source(engine)
    with session_scope(engine) as session:
        assert get_source(session, source.id) == source
        assert list_sources(session, source.clinic_id) == [source]
    assert source.provider is Provider.GOOGLE
    assert (source.sync_token, source.consecutive_failures, source.enabled) == (None, 0, True)


def test_same_calendar_twice_in_a_clinic_is_refused(engine: Engine) -> None:
    _source(engine)
    with pytest.raises(ConstraintViolation, match="constraint"):
        _source(engine)


def test_poll_failures_count_up_and_success_resets_them(engine: Engine) -> None:
    source = _source(engine)
    retry = NOW + timedelta(minutes=2)
    with session_scope(engine) as session:
        record_poll_failure(session, source.id, "HTTP 503", now=NOW, next_poll_at=retry)
        record_poll_failure(session, source.id, "HTTP 429", now=retry, next_poll_at=retry)
    with session_scope(engine) as session:
        failing = get_source(session, source.id)
    assert (failing.consecutive_failures, failing.last_error) == (2, "HTTP 429")
    assert failing.last_error_at == retry
    with session_scope(engine) as session:
        record_poll_success(session, source.id, now=retry, next_poll_at=retry, sync_token="tok-2")
        healthy = get_source(session, source.id)
    assert (healthy.consecutive_failures, healthy.sync_token) == (0, "tok-2")
    assert healthy.last_sync_at == retry
    assert healthy.last_error == "HTTP 429", "the last failure stays visible for sync health"


def test_sync_token_can_be_saved_and_cleared(engine: Engine) -> None:
    source = _source(engine)
    with session_scope(engine) as session:
        save_sync_token(session, source.id, "tok-1")
        assert get_source(session, source.id).sync_token == "tok-1"
        save_sync_token(session, source.id, None)
        assert get_source(session, source.id).sync_token is None


def test_disabled_sources_are_left_out_of_enabled_listing(engine: Engine) -> None:
    source = _source(engine)
    with session_scope(engine) as session:
        set_source_enabled(session, source.id, False)
        assert list_sources(session, enabled_only=True) == []
        assert [s.id for s in list_sources(session)] == [source.id]


def test_removed_source_is_gone(engine: Engine) -> None:
    source = _source(engine)
    with session_scope(engine) as session:
        remove_source(session, source.id)
    with pytest.raises(RecordNotFound), session_scope(engine) as session:
        get_source(session, source.id)


def test_updating_an_unknown_source_is_not_found(engine: Engine) -> None:
    with pytest.raises(RecordNotFound, match="42"), session_scope(engine) as session:
        save_sync_token(session, 42, "tok")
