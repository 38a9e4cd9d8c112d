"""The store's side of scoping, on SQLite and PostgreSQL (SPEC §8).

Memberships give one role per clinic; a search given no clinic finds nothing (only
``None`` means every clinic); the operator's overview counts each clinic on its own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from sync.store.audit import record_audit_event
from sync.store.audit_queries import AuditFilter, find_audit_events
from sync.store.clinics import add_clinic
from sync.store.database import session_scope
from sync.store.health import clinic_overview
from sync.store.memberships import Role, grant_membership, memberships_of, revoke_membership
from sync.store.migrate import upgrade
from sync.store.review import ConflictFilter, find_conflicts
from sync.store.sources import Provider, add_source, record_poll_failure, record_poll_success
from sync.store.users import add_user, find_user
from tests.store.conftest import blank_engine, postgres_unreachable

__all__ = ["blank_engine", "postgres_unreachable"]

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)


@pytest.fixture
def store(blank_engine: Engine) -> Engine:
    upgrade(blank_engine)
    return blank_engine


def test_a_user_holds_one_role_in_each_clinic(store: Engine) -> None:
    with session_scope(store) as session:
        alpha = add_clinic(session, "alpha", "Alpha Clinic")
        beta = add_clinic(session, "beta", "Beta Clinic")
        user = add_user(session, "mo@x.example", "hash", now=NOW)
        grant_membership(session, user.id, alpha.id, Role.AUDITOR, now=NOW)
        grant_membership(session, user.id, alpha.id, Role.ADMIN, now=NOW)  # changes the role
        grant_membership(session, user.id, beta.id, Role.AUDITOR, now=NOW)
        held = memberships_of(session, [user.id])[user.id]
        found = find_user(session, "MO@x.example")
        assert revoke_membership(session, user.id, beta.id)
        assert not revoke_membership(session, user.id, beta.id)
    assert [(m.name, m.role) for m in held] == [
        ("Alpha Clinic", Role.ADMIN),
        ("Beta Clinic", Role.AUDITOR),
    ]
    assert found is not None
    assert (found.can_act_in(alpha.id), found.can_act_in(beta.id)) == (True, False)


def test_a_search_in_no_clinic_finds_nothing_and_none_means_every_clinic(store: Engine) -> None:
    with session_scope(store) as session:
        alpha = add_clinic(session, "alpha")
        record_audit_event(session, alpha.id, "cli", "user.added", detail={}, at=NOW)
        nothing = find_audit_events(session, AuditFilter(clinic_ids=()))
        everything = find_audit_events(session, AuditFilter(clinic_ids=None))
        no_conflicts = find_conflicts(session, ConflictFilter(clinic_ids=()))
    assert (nothing.total, everything.total, no_conflicts.total) == (0, 1, 0)


def test_the_operator_overview_counts_each_clinic_on_its_own(store: Engine) -> None:
    with session_scope(store) as session:
        alpha = add_clinic(session, "alpha", "Alpha Clinic")
        beta = add_clinic(session, "beta", "Beta Clinic")
        add_clinic(session, "gamma", "Gamma Clinic")
        clinics = (alpha, alpha, beta)
        ids = [
            add_source(
                session,
                clinic.id,
                Provider.GOOGLE,
                f"cal-{n}",
                display_name=f"Room {n}",
                time_zone="UTC",
                now=NOW,
            ).id
            for n, clinic in enumerate(clinics)
        ]
        later = NOW + timedelta(minutes=5)
        record_poll_success(session, ids[0], now=NOW, next_poll_at=later)
        record_poll_failure(session, ids[1], "403 from Google", now=later, next_poll_at=later)
        rows = {row.slug: row for row in clinic_overview(session)}
    assert [rows[s].name for s in ("alpha", "beta", "gamma")] == [
        "Alpha Clinic",
        "Beta Clinic",
        "Gamma Clinic",
    ]
    assert (rows["alpha"].calendars, rows["alpha"].failing_calendars) == (2, 1)
    assert rows["alpha"].last_sync_at == NOW
    assert (rows["beta"].calendars, rows["beta"].failing_calendars) == (1, 0)
    assert (rows["gamma"].calendars, rows["gamma"].open_conflicts) == (0, 0)
    assert rows["gamma"].last_sync_at is None
