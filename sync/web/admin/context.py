"""What every admin route needs: settings, the store, the clinics and the clock (SPEC §8).

Built once by :func:`sync.web.app.create_app` and handed to each router; nothing
global. Each clinic's settings and policy come from ``clinics``
(:class:`~sync.clinics.directory.ClinicDirectory`). What a request may see is its
caller's (:mod:`sync.web.admin.access`); the one clinic the app itself names is the
*sign-in clinic*, ``CLINIC_SYNC_CLINIC``, whose trail records the sign-in attempts that
belong to no member's clinic (an unknown address, an operator of no clinic).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from rules.model import Rule
from sync.accounts.login import LoginLimits
from sync.accounts.service import Actor
from sync.accounts.throttle import Throttle
from sync.clinics.directory import ClinicDirectory
from sync.clinics.profile import ClinicProfile
from sync.config import Settings
from sync.feeds.service import Clock
from sync.store.clinics import get_or_create_clinic
from sync.store.database import session_scope

__all__ = ["AdminContext"]


@dataclass(frozen=True, slots=True)
class AdminContext:
    """The admin app's dependencies."""

    settings: Settings
    engine: Engine
    clinics: ClinicDirectory
    clock: Clock

    @property
    def limits(self) -> LoginLimits:
        settings = self.settings
        throttle = Throttle(
            free_failures=settings.login_max_failures,
            delay=timedelta(seconds=settings.login_delay_seconds),
            max_delay=timedelta(seconds=settings.login_max_delay_seconds),
            address_max_failures=settings.login_address_max_failures,
            window=timedelta(seconds=settings.login_window_seconds),
        )
        return LoginLimits(
            throttle=throttle,
            session_lifetime=timedelta(hours=self.settings.admin_session_hours),
        )

    @property
    def invite_lifetime(self) -> timedelta:
        """How long an invitation link works."""
        return timedelta(hours=self.settings.invite_valid_hours)

    @property
    def reset_lifetime(self) -> timedelta:
        """How long a password-reset link works."""
        return timedelta(minutes=self.settings.password_reset_valid_minutes)

    @property
    def secure_cookies(self) -> bool:
        """Cookies are ``Secure`` when the public URL is https."""
        return self.settings.public_url.startswith("https://")

    def now(self) -> datetime:
        return self.clock()

    def sign_in_actor(self, name: str) -> Actor:
        """``name`` signing in or out, now, for the sign-in clinic's trail."""
        with session_scope(self.engine) as session:
            clinic_id = get_or_create_clinic(session, self.settings.clinic).id
        return Actor(name, clinic_id, self.now())

    def clinic(self, clinic_id: int) -> ClinicProfile:
        """The clinic's profile: its settings and policy."""
        return self.clinics.profile(clinic_id)

    def rule(self, clinic_id: int, name: str) -> Rule | None:
        """The clinic's rule called ``name`` (``None`` once its policy dropped it)."""
        rules = self.clinic(clinic_id).policy.rules
        return next((rule for rule in rules if rule.name == name), None)
