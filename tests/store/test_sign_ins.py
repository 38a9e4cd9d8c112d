"""Google sign-ins kept on a web session until their callback, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from sync.store.clinics import get_or_create_clinic
from sync.store.database import session_scope
from sync.store.sign_ins import WaitingSignIn, keep_sign_in, take_sign_in
from sync.store.users import add_user, add_web_session, delete_web_session, web_session_for

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)


def _session(engine: Engine, token: str) -> tuple[int, int]:
    """A clinic and a signed-in browser's session row."""
    with session_scope(engine) as session:
        clinic = get_or_create_clinic(session, "default").id
        user = add_user(session, f"{token}@clinic.example", "hash", now=NOW).id
        later = NOW + timedelta(hours=1)
        add_web_session(session, user, token, "csrf", now=NOW, expires_at=later)
        web = web_session_for(session, token, now=NOW)
        assert web is not None
        return clinic, web.id


def _waiting(clinic: int, state: str) -> WaitingSignIn:
    return WaitingSignIn(clinic, state, "v" * 64, "https://app.example/oauth/google/callback", NOW)


def test_a_sign_in_is_taken_once_and_a_new_one_replaces_the_old(engine: Engine) -> None:
    clinic, web = _session(engine, "a")
    with session_scope(engine) as session:
        keep_sign_in(session, web, _waiting(clinic, "first"))
        keep_sign_in(session, web, _waiting(clinic, "second"))
    with session_scope(engine) as session:
        taken = take_sign_in(session, web)
    assert taken == _waiting(clinic, "second")
    with session_scope(engine) as session:
        assert take_sign_in(session, web) is None


def test_a_sign_in_belongs_to_its_session_and_goes_with_it(engine: Engine) -> None:
    clinic, web = _session(engine, "a")
    _, other = _session(engine, "b")
    with session_scope(engine) as session:
        keep_sign_in(session, web, _waiting(clinic, "mine"))
        assert take_sign_in(session, other) is None
        delete_web_session(session, "a")
    with session_scope(engine) as session:
        assert take_sign_in(session, web) is None
