"""Reading a clinic setting from text, as an admin types it or an old process setting held it.

One reader per setting of :class:`sync.clinics.model.ClinicSettings`, each refusing what
the service could not run with in one plain sentence: the command line (``clinics set``),
the web app and the migration that moved process settings into the clinic all go
through :func:`read_setting` (SPEC §2, §3, §6, §7, §9); a clinic's slug and name have
their readers here too (:func:`read_slug`, :func:`read_name`).

Before clinics lived in the database these were process settings (``CLINIC_SYNC_*``);
:data:`MOVED_VARIABLES` names them once, for the migration that moved them into the
clinic and for ``doctor``, which warns while one is still set
(:func:`moved_variables_set`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from rules.slots import read_opening_hours
from sync.clinics.model import SETTING_NAMES
from sync.errors import InputError

__all__ = [
    "FEED_LABELS",
    "MOVED_POLICY",
    "MOVED_VARIABLES",
    "SLUG_MAX",
    "moved_variables_set",
    "process_variables",
    "read_name",
    "read_setting",
    "read_settings",
    "read_slug",
]

FEED_LABELS = ("full", "initials", "initials-tag", "id")
SLUG_MAX = 64
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_MAX_DOMAINS = 100
_MAX_DOMAINS_TEXT = 2000  # the stored, comma-separated list's column
_MAX_NAME = 200
_MAX_DAYS = 3660
_PREFIX = "CLINIC_SYNC_"

MOVED_VARIABLES: Mapping[str, str] = {
    "CLINIC_SYNC_CLINIC_TIME_ZONE": "time_zone",
    "CLINIC_SYNC_STAFF_DOMAINS": "staff_domains",
    "CLINIC_SYNC_FLAG_COLOR": "flag_color",
    "CLINIC_SYNC_PATIENT_ID_PROPERTY": "patient_id_property",
    "CLINIC_SYNC_FEED_PATIENT_LABEL": "feed_patient_label",
    "CLINIC_SYNC_SCAN_DAYS_BACK": "scan_days_back",
    "CLINIC_SYNC_SCAN_DAYS_AHEAD": "scan_days_ahead",
    "CLINIC_SYNC_FEED_HORIZON_DAYS": "feed_horizon_days",
    "CLINIC_SYNC_DRY_RUN": "dry_run",
}
"""Former process variables and the clinic setting each one became."""
MOVED_POLICY = "CLINIC_SYNC_POLICY"
"""The former process variable naming the policy file, now the clinic's stored policy."""


def read_slug(text: str) -> str:
    """A clinic's slug: lower-case letters, digits and single hyphens, at most 64."""
    if len(text) > SLUG_MAX or not _SLUG.fullmatch(text):
        raise InputError(
            f"{text!r} is not a clinic slug: lower-case letters, digits and hyphens "
            f"(not at either end), at most {SLUG_MAX} characters"
        )
    return text


def read_setting(name: str, text: str) -> object:
    """The value of setting ``name`` that ``text`` spells; :class:`InputError` otherwise."""
    reader = _READERS.get(name)
    if reader is None:
        raise InputError(f"unknown clinic setting {name!r}; known: {', '.join(SETTING_NAMES)}")
    try:
        return reader(text.strip())
    except ValueError as err:
        raise InputError(f"{name}: {err}") from err


def read_settings(pairs: Mapping[str, str]) -> dict[str, object]:
    """Every setting of ``pairs`` read (the first bad one raises)."""
    return {name: read_setting(name, text) for name, text in pairs.items()}


def process_variables(
    environ: Mapping[str, str] | None = None, dotenv: Path = Path(".env")
) -> dict[str, str]:
    """Non-empty ``CLINIC_SYNC_*`` variables as the service reads them: ``.env``, then the
    environment over it (upper-case names, values stripped)."""
    found: dict[str, str] = {}
    if dotenv.is_file():
        found.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
    found.update(os.environ if environ is None else environ)
    return {
        name.upper(): value.strip()
        for name, value in found.items()
        if name.upper().startswith(_PREFIX) and value.strip()
    }


def moved_variables_set(variables: Mapping[str, str]) -> list[str]:
    """The former process variables among ``variables`` (policy last), in a fixed order."""
    moved = [name for name in MOVED_VARIABLES if name in variables]
    return moved + ([MOVED_POLICY] if MOVED_POLICY in variables else [])


def read_name(text: str) -> str:
    """A clinic's display name: 1–200 printable characters, spaces around it dropped."""
    name = text.strip()
    if not name or len(name) > _MAX_NAME or not name.isprintable():
        raise InputError(f"a clinic's name is 1–{_MAX_NAME} printable characters")
    return name


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(f"unknown time zone {value!r} (an IANA name, e.g. Europe/London)") from err
    return value


def _domains(value: str) -> frozenset[str]:
    parts = {part.strip().lstrip("@").casefold() for part in value.split(",")}
    domains = frozenset(part for part in parts if part)
    if len(domains) > _MAX_DOMAINS or len(",".join(domains)) > _MAX_DOMAINS_TEXT:
        raise ValueError(f"at most {_MAX_DOMAINS} domains, {_MAX_DOMAINS_TEXT} characters in all")
    bad = sorted(d for d in domains if not re.fullmatch(r"[a-z0-9.-]+\.[a-z0-9-]+", d))
    if bad:
        raise ValueError(f"not a domain: {', '.join(bad)}")
    return domains


def _colour(value: str) -> str:
    if not re.fullmatch(r"[0-9]{1,2}", value) or not 1 <= int(value) <= 11:
        raise ValueError(f"{value!r} is not a Google event colorId (1–11; 11 is red)")
    return str(int(value))


def _property_key(value: str) -> str:
    if not value or len(value) > 200 or not value.isprintable():
        raise ValueError("a property key of 1–200 printable characters")
    return value


def _label(value: str) -> str:
    if value not in FEED_LABELS:
        raise ValueError(f"{value!r} is not one of {', '.join(FEED_LABELS)}")
    return value


def _days(value: str) -> int:
    try:
        days = int(value)
    except ValueError as err:
        raise ValueError(f"{value!r} is not a whole number of days") from err
    if not 0 <= days <= _MAX_DAYS:
        raise ValueError(f"between 0 and {_MAX_DAYS} days")
    return days


def _horizon(value: str) -> int:
    days = _days(value)
    if days < 1:
        raise ValueError("at least 1 day")
    return days


def _hour(value: str) -> int:
    if not re.fullmatch(r"[0-9]{1,2}", value) or not 0 <= int(value) <= 23:
        raise ValueError(f"{value!r} is not an hour of the day (0–23, the clinic's time)")
    return int(value)


def _flag(value: str) -> bool:
    folded = value.casefold()
    if folded in {"1", "true", "yes", "on"}:
        return True
    if folded in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{value!r} is not true or false")


_READERS: dict[str, Callable[[str], object]] = {
    "time_zone": _zone,
    "staff_domains": _domains,
    "flag_color": _colour,
    "patient_id_property": _property_key,
    "feed_patient_label": _label,
    "scan_days_back": _days,
    "scan_days_ahead": _days,
    "feed_horizon_days": _horizon,
    "dry_run": _flag,
    "notify_practitioners": _flag,
    "notify_digest_hour": _hour,
    "opening_hours": read_opening_hours,
}
