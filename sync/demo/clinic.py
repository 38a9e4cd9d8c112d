"""A realistic, generated clinic for ``clinic-sync demo``: deterministic for a seed and a day.

Four calendars in Europe/London (three practitioners and a treatment room), 150 patients
and about 600 bookings from two months back to three months ahead, written the messy
ways staff write them (:mod:`sync.demo.roster`), plus a weekly staff huddle. The
clinic holds exactly the conflicts of :mod:`sync.demo.scenarios` — a dozen Botox
bookings 0 to 13 days after the same patient's microneedling — and its look-alikes
that are not conflicts (a consult, a cancelled or declined booking, Botox in the ideal
window). Every other patient's bookings are drawn so that none falls into the 14-day
window of SPEC §3: the demo's first sync must find the planned list and nothing else.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, time, timedelta

from sync.demo.bookings import ZONE, Extras, Json, Slot
from sync.demo.builder import (
    CALENDARS,
    ClinicBuilder,
    DemoBooking,
    DemoCalendar,
    IntendedConflict,
    Kind,
)
from sync.demo.roster import Patient, make_roster, title_for
from sync.demo.scenarios import add_decoys, add_scenarios
from sync.emulator.seed import Seed, parse_seed

__all__ = [
    "CALENDARS",
    "DemoBooking",
    "DemoCalendar",
    "DemoClinic",
    "IntendedConflict",
    "Kind",
    "generate_clinic",
]

PATIENTS = 150
BOOKINGS = 600
DAYS_BACK = 60
DAYS_AHEAD = 90
_MIN_GAP = 14


@dataclass(frozen=True)
class DemoClinic:
    """The generated clinic."""

    today: date
    patients: tuple[Patient, ...]
    bookings: tuple[DemoBooking, ...]
    conflicts: tuple[IntendedConflict, ...]

    @property
    def patient_bookings(self) -> tuple[DemoBooking, ...]:
        return tuple(b for b in self.bookings if b.patient is not None)

    def seed(self) -> Seed:
        """The emulator seed: one calendar each, with its events."""
        return parse_seed([_seed_calendar(c, self.bookings) for c in CALENDARS], "demo clinic")


def _seed_calendar(calendar: DemoCalendar, bookings: tuple[DemoBooking, ...]) -> Json:
    events = [b.body for b in bookings if b.calendar == calendar]
    return {"id": calendar.id, "summary": calendar.summary, "timeZone": ZONE, "events": events}


def generate_clinic(seed: int, today: date) -> DemoClinic:
    """The demo clinic for ``seed``, its bookings placed around ``today``."""
    rnd = random.Random(seed)  # noqa: S311 - a reproducible clinic, not a secret
    patients = make_roster(rnd, PATIENTS)
    builder = ClinicBuilder(rnd, today)
    planned = add_scenarios(builder, patients)
    used = {c.patient for c in planned}
    used |= add_decoys(builder, patients, used)
    rest = [p for p in patients if p not in used]
    _add_background(builder, rest, BOOKINGS - len(builder.bookings))
    _add_huddles(builder)
    return DemoClinic(today, patients, tuple(builder.bookings), tuple(planned))


def _add_background(builder: ClinicBuilder, patients: list[Patient], budget: int) -> None:
    counts = _spread(builder.rnd, len(patients), budget)
    for patient, count in zip(patients, counts, strict=True):
        for kind, offset in _safe_plan(builder.rnd, count):
            _book_background(builder, patient, kind, offset)


def _spread(rnd: random.Random, people: int, total: int) -> list[int]:
    """``people`` counts between 1 and 8 that add up to ``total``."""
    counts = [rnd.randint(2, 7) for _ in range(people)]
    while sum(counts) != total:
        index = rnd.randrange(people)
        step = 1 if sum(counts) < total else -1
        if 1 <= counts[index] + step <= 8:
            counts[index] += step
    return counts


def _safe_plan(rnd: random.Random, count: int) -> list[tuple[Kind, int]]:
    """``count`` (kind, day offset) pairs with no Botox within 14 days after microneedling."""
    kinds = rnd.choices(("microneedling", "neuromodulator", "other"), (25, 35, 40), k=count)
    days = [rnd.randint(-DAYS_BACK, DAYS_AHEAD) for _ in kinds]
    needling = [d for k, d in zip(kinds, days, strict=True) if k == "microneedling"]
    plan: list[tuple[Kind, int]] = []
    for kind, day in zip(kinds, days, strict=True):
        safe = _safe_day(rnd, day, needling) if kind == "neuromodulator" else day
        plan.append((kind, safe) if safe is not None else ("other", day))
    return plan


def _safe_day(rnd: random.Random, day: int, needling: list[int]) -> int | None:
    """``day`` or another day in range clear of every microneedling's window; None if none."""
    for candidate in _candidates(rnd, day):
        if all(not 0 <= candidate - m < _MIN_GAP for m in needling):
            return candidate
    return None


def _candidates(rnd: random.Random, first: int) -> Iterator[int]:
    yield first
    for _ in range(20):
        yield rnd.randint(-DAYS_BACK, DAYS_AHEAD)


def _book_background(builder: ClinicBuilder, patient: Patient, kind: Kind, offset: int) -> None:
    rnd = builder.rnd
    calendar = rnd.choice(_CALENDARS_FOR[kind])
    extras = Extras(anonymous=rnd.random() < 0.12, staff_attendee=rnd.random() < 0.15)
    title = builder.title(kind, patient)
    if kind == "neuromodulator" and rnd.random() < 0.08:
        title = title_for("Appointment - {n}", patient, rnd)
        extras = Extras(description="Service: Botox 20u\nBooked online", anonymous=extras.anonymous)
    elif kind == "microneedling" and rnd.random() < 0.1:
        extras = Extras(description="Asked about Botox for later in the year.")
    builder.book(calendar, title, builder.slot(offset), kind, patient=patient, extras=extras)


_CALENDARS_FOR: dict[Kind, tuple[DemoCalendar, ...]] = {
    "microneedling": (CALENDARS[3], CALENDARS[2], CALENDARS[0]),
    "neuromodulator": (CALENDARS[0], CALENDARS[1], CALENDARS[2]),
    "other": CALENDARS,
}


def _add_huddles(builder: ClinicBuilder) -> None:
    """A weekly staff huddle on Dr Patel's calendar: a recurring event with no patient."""
    start = builder.today - timedelta(days=DAYS_BACK)
    weeks = (DAYS_BACK + DAYS_AHEAD) // 7
    extras = Extras(recurrence=(f"RRULE:FREQ=WEEKLY;COUNT={weeks}",))
    slot = Slot(start, time(8, 30), 20)
    builder.book(CALENDARS[0], "Huddle ☕", slot, "staff", patient=None, extras=extras)
