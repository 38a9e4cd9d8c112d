"""Plain records the rules engine reads and returns (SPEC §3–§5, §7).

Everything here is a frozen dataclass: adapters in ``sync/`` build :class:`Booking`
records from whatever a calendar provider sends, and the engine hands back
:class:`Conflict` and :class:`Eligibility` records. No field holds a provider's
object; dates are already the calendar day in the calendar's own time zone.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date

__all__ = [
    "AmbiguousName",
    "Attendee",
    "Booking",
    "Category",
    "Conflict",
    "Eligibility",
    "MatchKind",
    "Patient",
    "PatientKey",
    "Policy",
    "Rule",
    "Skip",
]


class MatchKind(enum.StrEnum):
    """How a booking was tied to its patient, strongest first (SPEC §4)."""

    ID = "id"
    EMAIL = "email"
    NAME = "name"

    @property
    def strength(self) -> int:
        return _STRENGTH[self]


_STRENGTH = {MatchKind.ID: 3, MatchKind.EMAIL: 2, MatchKind.NAME: 1}


@dataclass(frozen=True, slots=True)
class Attendee:
    """One guest of a booking, as the provider describes it."""

    email: str
    organizer: bool = False
    is_self: bool = False
    resource: bool = False
    response: str = "needsAction"
    """Google's ``responseStatus``: needsAction, declined, tentative or accepted."""


@dataclass(frozen=True, slots=True)
class Booking:
    """One occurrence of a calendar event, read from any provider.

    ``id`` is unique within the clinic (an instance of a recurring event has its own);
    ``uid`` is the event's UID as exports and reports show it (the series UID for an
    instance). ``day`` is the local calendar date of the start in the calendar's zone.
    """

    id: str
    uid: str
    calendar: str
    day: date
    summary: str = ""
    description: str = ""
    cancelled: bool = False
    attendees: tuple[Attendee, ...] = ()
    calendar_email: str = ""
    organizer_email: str = ""
    patient_id: str | None = None
    """An explicit patient id (Google private extended property or ``X-CLINIC-PATIENT-ID``)."""


@dataclass(frozen=True, slots=True)
class Category:
    """A treatment category: the phrases that identify it and the words that rule it out."""

    name: str
    label: str
    phrases: tuple[str, ...]
    exclusions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    """A booking of ``later`` must come ``min_days`` calendar days or more after ``earlier``."""

    name: str
    earlier: str
    later: str
    min_days: int
    ideal_days: tuple[int, int]
    description: str = ""
    source: str = ""
    """Where the rule comes from (a product label, a clinic protocol), shown with it."""


@dataclass(frozen=True, slots=True)
class Policy:
    """A clinic's treatment vocabulary and spacing rules, as read from a policy file.

    ``services`` are the clinic's other services (fillers, peels...): never a category,
    only words that are not a patient's name (SPEC §4 point 4).

    ``rules`` are the rules in force. ``switched_off`` are rules the file offers but has
    switched off (``enabled = false``): no booking is checked against them. ``dormant``
    are categories that only switched-off rules name: they are not read in bookings
    (their words stay what they were, a service or a name) until such a rule is on.
    """

    categories: tuple[Category, ...]
    rules: tuple[Rule, ...]
    exclusions: tuple[str, ...] = ()
    name: str = "policy"
    source: str = "<memory>"
    services: tuple[str, ...] = ()
    switched_off: tuple[Rule, ...] = ()
    dormant: tuple[Category, ...] = ()

    def category(self, name: str) -> Category:
        for category in self.categories:
            if category.name == name:
                return category
        raise KeyError(name)


@dataclass(frozen=True, slots=True, order=True)
class PatientKey:
    """The identifier a patient is known by: ``kind`` says which of SPEC §4's sources gave it."""

    kind: MatchKind
    value: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.value}"


@dataclass(frozen=True, slots=True)
class Patient:
    """A patient as linked from bookings; ``key`` is the strongest identifier seen."""

    key: PatientKey
    name: str | None = None
    ids: frozenset[str] = field(default_factory=frozenset)
    emails: frozenset[str] = field(default_factory=frozenset)

    @property
    def label(self) -> str:
        """What a person reading a report recognises: the name when known, else the key."""
        return self.name or self.key.value


@dataclass(frozen=True, slots=True)
class Conflict:
    """A pair of bookings that breaks ``rule``; identified by (rule, earlier, later)."""

    rule: Rule
    patient: Patient
    match: MatchKind
    earlier: Booking
    later: Booking

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.rule.name, self.earlier.id, self.later.id)

    @property
    def gap_days(self) -> int:
        return (self.later.day - self.earlier.day).days

    @property
    def earliest_eligible(self) -> date:
        return _add_days(self.earlier.day, self.rule.min_days)

    @property
    def ideal_window(self) -> tuple[date, date]:
        low, high = self.rule.ideal_days
        return (_add_days(self.earlier.day, low), _add_days(self.earlier.day, high))


@dataclass(frozen=True, slots=True)
class Eligibility:
    """When a patient may next have a ``category`` booking after ``after`` (SPEC §7).

    ``eligible_from`` is the first day on or after the rule's minimum on which a new booking
    of ``category`` would break no rule of the policy; ``ideal`` lists the parts of the
    ideal window on which that holds (several when other bookings split it).
    """

    patient: Patient
    rule: Rule
    category: str
    after: Booking
    eligible_from: date
    ideal: tuple[tuple[date, date], ...]


@dataclass(frozen=True, slots=True)
class Skip:
    """A booking or input the engine left out, and why (never silently dropped)."""

    uid: str
    reason: str
    calendar: str = ""


@dataclass(frozen=True, slots=True)
class AmbiguousName:
    """A name that bookings of several identified patients carry (SPEC §4: no guessing).

    Sharing it is no evidence of one person, so no booking is linked through it: the
    ``unlinked`` bookings known only by this name are left without a patient (and say so).
    """

    name_key: str
    bookings: int
    """Bookings that carry the name."""
    patients: int
    """Identified patients among them: different ids or e-mails, once those are joined."""
    unlinked: int
    """Bookings known only by the name, left without a patient."""


def _add_days(day: date, days: int) -> date:
    return date.fromordinal(day.toordinal() + days)
