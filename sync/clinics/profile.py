"""A clinic's profile: who it is, its settings and the policy it runs with (SPEC §2, §3).

What every use case needs of a clinic, loaded from the store in one go. A stored policy
is parsed here; one that no longer parses (the rules package grew stricter since it was
saved) is reported as the clinic's set-up error naming the clinic and the policy version,
so it stops that clinic and never another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from rules.model import Policy
from rules.patients import IdentityOptions
from sync.clinics.model import ClinicSettings
from sync.policy_file import DEFAULT_POLICY_NAME, default_policy_text, parse_policy_text
from sync.store.clinics import (
    Clinic,
    clinic_by_id,
    clinic_policy,
    get_clinic,
    get_or_create_clinic,
)
from sync.store.database import session_scope

__all__ = ["ClinicProfile", "load_profile", "open_profile", "policy_source"]


@dataclass(frozen=True, slots=True)
class ClinicProfile:
    """A clinic with its settings and parsed policy; ``policy_version`` 0 is the default."""

    clinic: Clinic
    policy: Policy
    policy_version: int = 0

    @property
    def id(self) -> int:
        return self.clinic.id

    @property
    def slug(self) -> str:
        return self.clinic.slug

    @property
    def name(self) -> str:
        return self.clinic.name

    @property
    def settings(self) -> ClinicSettings:
        return self.clinic.settings

    @property
    def version(self) -> int:
        """The clinic's settings version this profile was loaded at."""
        return self.clinic.version

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.settings.time_zone)

    @property
    def identity(self) -> IdentityOptions:
        """Addresses that never identify a patient here: the clinic's staff domains."""
        return IdentityOptions(staff_domains=self.settings.staff_domains)

    def today(self, now: datetime) -> date:
        """The clinic's date at ``now`` (its 'today', SPEC §7)."""
        return now.astimezone(self.zone).date()


def policy_source(clinic: Clinic, version: int) -> str:
    """How errors name a stored policy: ``clinic <slug> policy v<N>``."""
    return f"clinic {clinic.slug} policy v{version}"


def load_profile(session: Session, clinic: Clinic) -> ClinicProfile:
    """The profile of ``clinic``, its policy read from the store (default when unset)."""
    stored = clinic_policy(session, clinic.id)
    if stored is None or stored.text is None:
        policy = parse_policy_text(default_policy_text(), f"rules/{DEFAULT_POLICY_NAME}")
        return ClinicProfile(clinic, policy, 0 if stored is None else stored.version)
    policy = parse_policy_text(stored.text, policy_source(clinic, stored.version))
    return ClinicProfile(clinic, policy, stored.version)


def open_profile(
    engine: Engine, *, slug: str | None = None, clinic_id: int | None = None, create: bool = False
) -> ClinicProfile:
    """The profile of the clinic named by ``slug`` or ``clinic_id``.

    ``create`` makes a missing slug a new clinic: a one-clinic install's clinic comes into
    being on first use, as it always has (``CLINIC_SYNC_CLINIC``, default ``default``).
    """
    with session_scope(engine) as session:
        if clinic_id is not None:
            clinic = clinic_by_id(session, clinic_id)
        elif slug is None:
            raise ValueError("a clinic slug or id is needed")
        elif create:
            clinic = get_or_create_clinic(session, slug)
        else:
            clinic = get_clinic(session, slug)
        return load_profile(session, clinic)
