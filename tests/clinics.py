"""Clinics for tests: made in the store with the settings and policy a test needs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from sync.clinics.profile import ClinicProfile, load_profile
from sync.clinics.settings import read_setting
from sync.store.clinics import get_or_create_clinic, set_clinic_policy, update_clinic_settings
from sync.store.database import session_scope

__all__ = ["clinic_profile"]


def clinic_profile(
    engine: Engine,
    slug: str = "default",
    *,
    name: str | None = None,
    policy_text: str | None = None,
    **settings: Any,
) -> ClinicProfile:
    """The clinic ``slug`` (made if new) with ``settings`` and ``policy_text`` stored.

    Settings are given as the service reads them (strings through
    :func:`~sync.clinics.settings.read_setting`, or values already of the right type).
    """
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        clinic = get_or_create_clinic(session, slug, name)
        if settings:
            values = {
                key: read_setting(key, value) if isinstance(value, str) else value
                for key, value in settings.items()
            }
            clinic = update_clinic_settings(session, clinic.id, values, now=now)
        if policy_text is not None:
            set_clinic_policy(session, clinic.id, policy_text, by=None, now=now)
        return load_profile(session, clinic)
