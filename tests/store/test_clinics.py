"""Removing a clinic takes everything it owns, its audit trail included, and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from sync.store.audit import list_audit_events, record_audit_event
from sync.store.clinics import (
    ClinicContents,
    add_clinic,
    calendar_counts,
    clinic_contents,
    list_clinics,
    remove_clinic,
)
from sync.store.database import session_scope
from sync.store.errors import RecordNotFound
from sync.store.sources import Provider, add_source, list_sources

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def _clinic_with_a_trail(engine: Engine, slug: str, calendars: int) -> int:
    with session_scope(engine) as session:
        clinic = add_clinic(session, slug, slug.title(), now=NOW)
        for n in range(calendars):
            url = f"https://{slug}.example/{n}.ics"
            add_source(session, clinic.id, Provider.ICS, url, display_name=url, time_zone="UTC")
        record_audit_event(session, clinic.id, "service", "test.event", at=NOW)
        return clinic.id


def test_removing_a_clinic_deletes_its_audit_trail_and_leaves_the_other_s(engine: Engine) -> None:
    """The trail's key restricts deletes; removing the whole clinic is the one exception."""
    alpha = _clinic_with_a_trail(engine, "alpha", 2)
    beta = _clinic_with_a_trail(engine, "beta", 1)
    with session_scope(engine) as session:
        assert calendar_counts(session) == {alpha: 2, beta: 1}
        assert clinic_contents(session, alpha) == ClinicContents(2, 0, 0, 1)
        remove_clinic(session, alpha)
    with session_scope(engine) as session:
        assert [clinic.slug for clinic in list_clinics(session)] == ["beta"]
        assert list_audit_events(session, alpha) == []
        assert len(list_audit_events(session, beta)) == 1
        assert len(list_sources(session, beta)) == 1
        with pytest.raises(RecordNotFound):
            clinic_contents(session, alpha)
