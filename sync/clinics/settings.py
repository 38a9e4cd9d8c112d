"""Reading a clinic setting from text, as an admin types it or an old process setting held it.

One reader per setting of :class:`sync.store.clinics.ClinicSettings`, each refusing what
the service could not run with in one plain sentence: the command line (``clinics set``),
the web app and the migration that moved process settings into the clinic all go
through :func:`read_setting` (SPEC §2, §3, §6, §7, §9).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sync.clinics.model import SETTING_NAMES
from sync.errors import InputError

__all__ = ["FEED_LABELS", "read_setting", "read_settings"]

FEED_LABELS = ("full", "initials", "id")
_MAX_DOMAINS = 100
_MAX_DAYS = 3660


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


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(f"unknown time zone {value!r} (an IANA name, e.g. Europe/London)") from err
    return value


def _domains(value: str) -> frozenset[str]:
    parts = {part.strip().lstrip("@").casefold() for part in value.split(",")}
    domains = frozenset(part for part in parts if part)
    if len(domains) > _MAX_DOMAINS:
        raise ValueError(f"at most {_MAX_DOMAINS} domains")
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
}
