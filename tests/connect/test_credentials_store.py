"""The credentials repository: one encrypted sign-in per clinic and provider, and its state."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, text

from sync.store.clinics import get_or_create_clinic
from sync.store.credentials import (
    CredentialKind,
    CredentialState,
    get_credential,
    list_credentials,
    mark_reconnect_required,
    replace_secret,
    save_credential,
)
from sync.store.database import session_scope
from sync.store.sources import Provider

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def _clinic(engine: Engine) -> int:
    with session_scope(engine) as session:
        return get_or_create_clinic(session, "default").id


def test_saved_credential_reads_back_active(engine: Engine) -> None:
    clinic_id = _clinic(engine)
    with session_scope(engine) as session:
        save_credential(
            session, clinic_id, Provider.CALDAV, CredentialKind.PASSWORD,
            account="dr.smith", secret="gAAAA-token", endpoint="https://dav.example/", now=NOW,
        )  # fmt: skip
    with session_scope(engine) as session:
        stored = get_credential(session, clinic_id, Provider.CALDAV)
        assert get_credential(session, clinic_id, Provider.GOOGLE) is None
    assert stored is not None
    assert (stored.account, stored.endpoint, stored.secret) == (
        "dr.smith",
        "https://dav.example/",
        "gAAAA-token",
    )
    assert stored.state is CredentialState.ACTIVE
    assert not stored.needs_reconnect


def test_reconnect_mark_is_visible_and_a_new_grant_clears_it(engine: Engine) -> None:
    clinic_id = _clinic(engine)
    with session_scope(engine) as session:
        save_credential(
            session, clinic_id, Provider.GOOGLE, CredentialKind.OAUTH, account="a", secret="s"
        )
        mark_reconnect_required(session, clinic_id, Provider.GOOGLE, "invalid_grant", now=NOW)
    with session_scope(engine) as session:
        (marked,) = list_credentials(session, clinic_id)
    assert marked.needs_reconnect
    assert (marked.state_reason, marked.state_changed_at) == ("invalid_grant", NOW)
    with session_scope(engine) as session:
        save_credential(
            session, clinic_id, Provider.GOOGLE, CredentialKind.OAUTH, account="a", secret="t"
        )
        again = get_credential(session, clinic_id, Provider.GOOGLE)
    assert again is not None
    assert again.state is CredentialState.ACTIVE
    assert again.state_reason is None


def test_replacing_the_secret_keeps_the_rest(engine: Engine) -> None:
    clinic_id = _clinic(engine)
    with session_scope(engine) as session:
        saved = save_credential(
            session, clinic_id, Provider.GOOGLE, CredentialKind.OAUTH, account="a", secret="old"
        )
        replace_secret(session, saved.id, "new")
    with session_scope(engine) as session:
        stored = get_credential(session, clinic_id, Provider.GOOGLE)
        raw = session.exec(text("SELECT secret FROM credentials")).one()  # type: ignore[call-overload]
    assert stored is not None
    assert (stored.secret, stored.account) == ("new", "a")
    assert raw == ("new",)
