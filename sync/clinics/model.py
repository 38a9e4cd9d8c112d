"""What a clinic sets for itself, as a plain record (SPEC §3, §6, §7, §9).

Kept apart from the store and its tables, so the offline audit and the settings readers
use a new clinic's defaults without importing the database layer.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from rules.slots import DEFAULT_HOURS, OpeningHours

__all__ = ["SETTING_NAMES", "ClinicSettings"]


@dataclass(frozen=True, slots=True)
class ClinicSettings:
    """What a clinic sets for itself; the defaults are a new clinic's (SPEC §3, §6, §7, §9)."""

    time_zone: str = "UTC"
    staff_domains: frozenset[str] = frozenset()
    flag_color: str = "11"
    patient_id_property: str = "patient_id"
    feed_patient_label: str = "initials"
    scan_days_back: int = 180
    scan_days_ahead: int = 365
    feed_horizon_days: int = 120
    dry_run: bool = False
    notify_practitioners: bool = False
    notify_digest_hour: int = 8
    opening_hours: OpeningHours = DEFAULT_HOURS
    """When slots can be offered to rebook a flagged booking (``Mon-Sat 09:00-18:00/30``)."""


SETTING_NAMES = tuple(f.name for f in fields(ClinicSettings))
