"""Building the demo clinic: its calendars, bookings with fresh ids, the conflicts it plans.

:class:`ClinicBuilder` turns "this patient, this treatment, so many days from today" into
Google event JSON (:mod:`sync.demo.bookings`) with a title written the way staff write
it (:mod:`sync.demo.roster`). The scenarios and the background of :mod:`sync.demo.clinic`
both book through it, so every event id is unique and the order — hence the clinic — is
fixed by the random seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, time, timedelta

from sync.demo.bookings import Extras, Json, Slot, event_body, instance_id
from sync.demo.roster import (
    MICRONEEDLING_TITLES,
    NEUROMODULATOR_TITLES,
    OTHER_TITLES,
    Patient,
    title_for,
)

__all__ = [
    "CALENDARS",
    "ClinicBuilder",
    "DemoBooking",
    "DemoCalendar",
    "IntendedConflict",
    "Kind",
    "calendar_named",
    "series_instance",
]


@dataclass(frozen=True, slots=True)
class DemoCalendar:
    """One of the clinic's Google calendars."""

    id: str
    summary: str


CALENDARS = (
    DemoCalendar("dr-patel@demo-clinic.example", "Dr Patel"),
    DemoCalendar("dr-okafor@demo-clinic.example", "Dr Okafor"),
    DemoCalendar("nurse-kim@demo-clinic.example", "Nurse Kim"),
    DemoCalendar("room-2@demo-clinic.example", "Treatment Room 2"),
)
Kind = str
"""``microneedling``, ``neuromodulator``, ``both``, ``other`` or ``staff``."""


@dataclass(frozen=True, slots=True)
class DemoBooking:
    """A booking as written to a calendar, and what the generator meant by it."""

    calendar: DemoCalendar
    body: Json
    slot: Slot
    kind: Kind
    patient: Patient | None

    @property
    def id(self) -> str:
        return str(self.body["id"])


@dataclass(frozen=True, slots=True)
class IntendedConflict:
    """A conflict the clinic holds on purpose: which bookings, and why it is a conflict."""

    patient: Patient
    earlier_id: str
    later_id: str
    earlier_day: date
    later_day: date
    calendar: str
    """The later booking's calendar: the one its flag goes on."""
    story: str

    @property
    def gap(self) -> int:
        return (self.later_day - self.earlier_day).days


@dataclass
class ClinicBuilder:
    """Collects bookings with fresh event ids; the scenarios and the background use it."""

    rnd: random.Random
    today: date
    bookings: list[DemoBooking] = field(default_factory=list)

    def book(
        self,
        calendar: DemoCalendar,
        summary: str,
        slot: Slot,
        kind: Kind,
        *,
        patient: Patient | None,
        extras: Extras | None = None,
    ) -> DemoBooking:
        event_id = f"demo{len(self.bookings):05d}"
        body = event_body(event_id, summary, slot, patient, extras)
        booking = DemoBooking(calendar, body, slot, kind, patient)
        self.bookings.append(booking)
        return booking

    def slot(self, offset: int) -> Slot:
        """A random opening ``offset`` days from today (now and then a whole day)."""
        day = self.today + timedelta(days=offset)
        if self.rnd.random() < 0.04:
            return Slot(day, None)
        minutes = self.rnd.randrange(9 * 60, 17 * 60 + 1, 15)
        return Slot(day, time(minutes // 60, minutes % 60), self.rnd.choice((30, 45, 60)))

    def title(self, kind: Kind, patient: Patient) -> str:
        templates = {
            "microneedling": MICRONEEDLING_TITLES,
            "neuromodulator": NEUROMODULATOR_TITLES,
        }.get(kind, OTHER_TITLES)
        return title_for(self.rnd.choice(templates), patient, self.rnd)


def calendar_named(summary: str) -> DemoCalendar:
    """The calendar whose name starts with ``summary``."""
    return next(c for c in CALENDARS if c.summary.startswith(summary))


def series_instance(booking: DemoBooking, weeks: int) -> tuple[str, date]:
    """The id and day of the instance ``weeks`` after a series' first one."""
    slot = Slot(booking.slot.day + timedelta(weeks=weeks), booking.slot.start, booking.slot.minutes)
    return instance_id(booking.id, slot), slot.day
