"""How the admin UI words a conflict for people: whose, when, and in one line (SPEC §4, §8).

Stored conflicts name their patient by a key made to compare names ("begum tom", an
e-mail, "P-1073"); staff know the patient by the name on the booking. The name shown is
the one the booking's title gives (its name part, read by :class:`rules.titles.TitleReader`
with the clinic's own vocabulary: the title as stored is already cleaned at the ingest
boundary), the later booking's first, then the earlier one's; only a title with no name
falls back to the key. Dates and times are the clinic's (its time zone); a conflict's
title reads like "Jane Doe: Botox on Thu 17 Jan 10:00 — 7 days after Microneedling".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rules.model import Policy, Rule
from rules.titles import TitleReader
from rules.vocabulary import Matcher
from sync.store.review import BookingSide, ConflictView

__all__ = [
    "Wording",
    "appointment",
    "clinic_zone",
    "day_words",
    "eligible_from",
    "gap_words",
    "moment",
    "patient_name",
]


@dataclass(frozen=True, slots=True)
class Wording:
    """What a page shows of a conflict beyond its stored facts."""

    view: ConflictView
    patient: str
    """The patient's name as the booking writes it (else the key)."""
    starts: str
    """The later booking's date and time in the clinic's zone ("Thu 17 Jan 2030 10:00")."""
    eligible: date | None
    """The earliest day the later treatment would break no rule (``None``: rule dropped)."""
    title: str
    earlier_starts: str
    """The earlier booking's date and time, read like ``starts``."""

    @property
    def eligible_day(self) -> str:
        return "—" if self.eligible is None else day_words(self.eligible)

    @classmethod
    def of(cls, view: ConflictView, policy: Policy, matcher: Matcher) -> Wording:
        rule = next((r for r in policy.rules if r.name == view.rule_name), None)
        patient = patient_name(view, TitleReader(matcher))
        zone = clinic_zone(view)
        starts = appointment(view.later, zone)
        later, earlier = _labels(policy, rule)
        title = f"{patient}: {later} on {starts} — {gap_words(view.gap_days)} {earlier}"
        eligible = eligible_from(view, rule)
        return cls(view, patient, starts, eligible, title, appointment(view.earlier, zone))


def patient_name(view: ConflictView, reader: TitleReader) -> str:
    """The name the bookings' titles give, as staff wrote it; the stored key otherwise."""
    for side in (view.later, view.earlier):
        name = reader.read(side.summary).name
        if name:
            return name
    return view.patient_value


def clinic_zone(view: ConflictView) -> ZoneInfo:
    try:
        return ZoneInfo(view.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def appointment(side: BookingSide, zone: ZoneInfo) -> str:
    """A booking's day, and its start time unless it lasts all day, in ``zone``."""
    if side.all_day:
        return f"{day_words(side.day)}, all day"
    local = side.start.astimezone(zone)
    return f"{day_words(local.date())} {local:%H:%M}"


def moment(at: datetime, zone: ZoneInfo) -> str:
    """An instant as the clinic reads it: "2 Mar 2030 09:14"."""
    local = at.astimezone(zone)
    return f"{local.day} {local:%b %Y %H:%M}"


def eligible_from(view: ConflictView, rule: Rule | None) -> date | None:
    """The first day after the earlier booking that the rule allows (SPEC §5, §7)."""
    return None if rule is None else view.earlier.day + timedelta(days=rule.min_days)


def gap_words(days: int) -> str:
    if days == 0:
        return "the same day as"
    return f"{days} day{'' if days == 1 else 's'} after"


def day_words(day: date) -> str:
    """A day as people read it: "Thu 17 Jan 2030"."""
    return f"{day:%a} {day.day} {day:%b %Y}"


def _labels(policy: Policy, rule: Rule | None) -> tuple[str, str]:
    if rule is None:
        return "A booking", "an earlier one"
    known = {category.name: category.label for category in policy.categories}
    return known.get(rule.later, rule.later), known.get(rule.earlier, rule.earlier)
