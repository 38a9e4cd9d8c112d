"""Feed repositories and tokens on SQLite and PostgreSQL (SPEC §7)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from rules.model import MatchKind, PatientKey
from sync.errors import InputError
from sync.feeds.scope import FeedScope, ScopeKind, parse_patient_key
from sync.feeds.tokens import (
    hash_token,
    issue_token,
    live_token,
    new_token,
    revoke_token,
    rotate_token,
)
from sync.store.database import session_scope
from sync.store.feeds import (
    EventSequence,
    FeedFetch,
    get_feed_token,
    list_feed_tokens,
    load_event_sequences,
    record_fetches,
    save_event_sequences,
)
from tests.feeds.conftest import ClinicData, Clock

NOW = datetime(2026, 11, 26, 9, tzinfo=UTC)


@pytest.fixture
def data(engine: Engine) -> ClinicData:
    return ClinicData(engine, Clock()).setup()


def test_a_token_has_at_least_128_random_bits_and_is_url_safe() -> None:
    tokens = {new_token() for _ in range(50)}
    assert len(tokens) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", token) for token in tokens)  # 256 bits


def test_only_the_hash_of_a_token_is_stored(data: ClinicData) -> None:
    token_id, secret = data.issue("clinic")
    with data.engine.connect() as connection:
        rows = [str(tuple(r)) for r in connection.execute(text("SELECT * FROM feed_tokens"))]
    assert secret not in "".join(rows)
    with session_scope(data.engine) as session:
        assert get_feed_token(session, token_id).token_hash == hash_token(secret)


def test_issue_revoke_and_rotate(data: ClinicData) -> None:
    token_id, secret = data.issue("patient", "email:Jane@Example.com", label="Jane")
    with session_scope(data.engine) as session:
        token, live = live_token(session, secret)
        assert live
        assert token is not None
        assert token.scope_value == "email:jane@example.com"
        rotated = rotate_token(session, data.clinic_id, token_id, actor="cli", now=NOW)
        assert live_token(session, secret)[1] is False, "the old URL dies at once"
        assert live_token(session, rotated.secret)[1] is True
        assert rotated.token.rotated_from_id == token_id
        assert (rotated.token.scope_value, rotated.token.label) == (token.scope_value, "Jane")
        revoke_token(session, data.clinic_id, rotated.token.id, actor="test", now=NOW)
        assert live_token(session, rotated.secret) == (get_feed_token(session, 2), False)
        assert live_token(session, "never-issued") == (None, False)
        assert [t.revoked for t in list_feed_tokens(session, data.clinic_id)] == [True, True]


def test_a_revoked_token_cannot_be_rotated(data: ClinicData) -> None:
    token_id, _ = data.issue("clinic")
    with session_scope(data.engine) as session:
        revoke_token(session, data.clinic_id, token_id, actor="test", now=NOW)
        with pytest.raises(InputError, match="revoked"):
            rotate_token(session, data.clinic_id, token_id, actor="cli", now=NOW)


@pytest.mark.parametrize(
    ("scope", "problem"),
    [
        (FeedScope(ScopeKind.PATIENT, "jane"), "patient key"),
        (FeedScope(ScopeKind.PATIENT, "phone:123"), "patient key"),
        (FeedScope(ScopeKind.CALENDAR, "999"), "no calendar"),
        (FeedScope(ScopeKind.CALENDAR, "dr@x"), "calendar's id"),
    ],
)
def test_a_scope_that_names_nothing_is_refused(
    data: ClinicData, scope: FeedScope, problem: str
) -> None:
    with session_scope(data.engine) as session, pytest.raises(InputError, match=problem):
        issue_token(session, data.clinic_id, scope, actor="test", now=NOW)


def test_patient_keys_are_normalised_like_the_engine_compares_them() -> None:
    assert parse_patient_key("name:  Siobhan   O'Brien") == parse_patient_key(
        "name:O'Brien, Siobhan"
    )
    assert parse_patient_key("EMAIL:Anna@X.org") == PatientKey(MatchKind.EMAIL, "anna@x.org")


def test_fetches_are_logged_and_move_last_fetched(data: ClinicData) -> None:
    token_id, _ = data.issue("clinic")
    later = NOW + timedelta(minutes=3)
    with session_scope(data.engine) as session:
        fetches = [FeedFetch(later, token_id, 200), FeedFetch(NOW, token_id, 304)]
        record_fetches(session, [*fetches, FeedFetch(NOW, None, 404)])
        assert get_feed_token(session, token_id).last_fetched_at == later
        record_fetches(session, [FeedFetch(NOW, token_id, 200)])  # an older batch: no step back
        assert get_feed_token(session, token_id).last_fetched_at == later
    with data.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM feed_fetches")).scalar() == 4


def test_sequences_insert_then_update_in_bulk(data: ClinicData) -> None:
    uids = [f"u{i}@clinic-sync" for i in range(1200)]  # more than one chunk
    with session_scope(data.engine) as session:
        save_event_sequences(
            session, data.clinic_id, [EventSequence(u, "a", 0) for u in uids], now=NOW
        )
    with session_scope(data.engine) as session:
        save_event_sequences(session, data.clinic_id, [EventSequence(uids[7], "b", 1)], now=NOW)
        stored = load_event_sequences(session, data.clinic_id, uids)
    assert len(stored) == 1200
    assert stored[uids[7]] == EventSequence(uids[7], "b", 1)
    assert stored[uids[8]] == EventSequence(uids[8], "a", 0)
