"""Every clinic's profile, on demand: what a process serving many clinics keeps of them (SPEC §2).

A worker or web app serving any number of clinics asks the directory for a clinic's
profile (settings and parsed policy) and its :class:`~rules.vocabulary.Matcher`, built
once per policy. Entries live in a bounded LRU cache (cachetools), so memory follows the
clinics in use, not the clinics in the database; an entry is trusted for
``recheck_seconds`` and then its clinic's ``version`` is read again — one indexed row —
so a setting or policy changed by an admin reaches every process within that time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from time import monotonic

from cachetools import LRUCache
from sqlalchemy import Engine

from rules.vocabulary import Matcher
from sync.clinics.profile import ClinicProfile, load_profile
from sync.store.clinics import clinic_by_id, clinic_version, get_clinic
from sync.store.database import session_scope

__all__ = ["ClinicDirectory"]


@dataclass(frozen=True, slots=True)
class _Entry:
    profile: ClinicProfile
    matcher: Matcher
    checked_at: float


class ClinicDirectory:
    """Clinic profiles by id, cached (at most ``size``) and re-checked after ``recheck_seconds``."""

    def __init__(self, engine: Engine, *, size: int = 256, recheck_seconds: float = 5.0) -> None:
        self.engine = engine
        self.recheck_seconds = recheck_seconds
        self._entries: LRUCache[int, _Entry] = LRUCache(maxsize=size)
        self._lock = threading.Lock()

    def profile(self, clinic_id: int) -> ClinicProfile:
        """The clinic's profile; :class:`~sync.store.errors.RecordNotFound` if it is gone."""
        return self._entry(clinic_id).profile

    def matcher(self, clinic_id: int) -> Matcher:
        """The matcher of the clinic's policy, built once per policy version."""
        return self._entry(clinic_id).matcher

    def by_slug(self, slug: str) -> ClinicProfile:
        """The profile of the clinic called ``slug``."""
        with session_scope(self.engine) as session:
            clinic_id = get_clinic(session, slug).id
        return self.profile(clinic_id)

    def forget(self, clinic_id: int) -> None:
        """Drop the clinic's entry: the next use reads it again."""
        with self._lock:
            self._entries.pop(clinic_id, None)

    def __len__(self) -> int:
        return len(self._entries)

    def _entry(self, clinic_id: int) -> _Entry:
        now = monotonic()
        with self._lock:
            known = self._entries.get(clinic_id)
        if known is not None and now - known.checked_at < self.recheck_seconds:
            return known
        with session_scope(self.engine) as session:
            if known is not None and clinic_version(session, clinic_id) == known.profile.version:
                entry = _Entry(known.profile, known.matcher, now)
            else:
                profile = load_profile(session, clinic_by_id(session, clinic_id))
                same_policy = known is not None and _same_policy(known.profile, profile)
                matcher = known.matcher if known and same_policy else Matcher(profile.policy)
                entry = _Entry(profile, matcher, now)
        with self._lock:
            self._entries[clinic_id] = entry
        return entry


def _same_policy(old: ClinicProfile, new: ClinicProfile) -> bool:
    return old.policy_version == new.policy_version and old.policy == new.policy
