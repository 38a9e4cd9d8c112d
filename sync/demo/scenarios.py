"""The demo clinic's planned conflicts, and the look-alikes that must not be conflicts.

Twelve conflicts (SPEC §5): Botox 1 to 13 days after microneedling on the same calendar
and across calendars, two in the past (recorded for audit, never written to), one
"Morpheus8 + Botox" booking that conflicts with itself, one after an instance of a
recurring microneedling course, and patients matched by id, by e-mail (a title with a
first name only) and by name. The decoys put a Botox consult, a cancelled, a
"CANCELLED" and a declined Botox, a Botox before the microneedling, one in the ideal
window, a note that only mentions Botox, and a ``Service: Botox`` line 30 days later
next to a microneedling: none of them is a conflict.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import time

from sync.demo.bookings import Extras, Slot
from sync.demo.builder import (
    ClinicBuilder,
    DemoBooking,
    IntendedConflict,
    calendar_named,
    series_instance,
)
from sync.demo.roster import Known, Patient, title_for

__all__ = ["add_decoys", "add_scenarios"]


@dataclass(frozen=True, slots=True)
class _Pair:
    """Microneedling on one calendar, then Botox on another, days counted from today."""

    known: Known
    earlier: tuple[str, str, int]
    later: tuple[str, str, int]
    story: str


_PAIRS = (
    _Pair(
        Known.NAME,
        ("Dr Patel", "Micro-needling (SkinPen®) – {n}", 10),
        ("Dr Patel", "Botox 20u - {n}", 17),
        "a week apart on one calendar",
    ),
    _Pair(
        Known.NAME,
        ("Treatment Room", "Morpheus8 - {n}", 5),
        ("Dr Okafor", "Dysport/Botox - {n}", 15),
        "across calendars",
    ),
    _Pair(
        Known.EMAIL,
        ("Nurse Kim", "Dermapen – {n}", 20),
        ("Dr Patel", "Xeomen top-up w/ {n}", 21),
        "the next day, misspelt",
    ),
    _Pair(
        Known.NAME,
        ("Treatment Room", "RF microneedling | {n}", 30),
        ("Nurse Kim", "💉 Anti-wrinkle injections - {n}", 43),
        "one day short",
    ),
    _Pair(
        Known.NAME,
        ("Dr Patel", "Microneedling - {n}", -40),
        ("Dr Patel", "Botox - {n}", -35),
        "in the past",
    ),
    _Pair(
        Known.ID,
        ("Treatment Room", "Vampire facial - {n}", -25),
        ("Dr Okafor", "Tox top-up - {n}", -16),
        "in the past, across calendars",
    ),
    _Pair(
        Known.ID,
        ("Dr Okafor", "MN – {n}", 8),
        ("Dr Okafor", "Dysport 50 units - {n}", 11),
        "matched by patient id",
    ),
    _Pair(
        Known.NAME,
        ("Nurse Kim", "SkinPen - {n} ✨", 2),
        ("Dr Patel", "Bocouture 🙂 {n}", 4),
        "two days apart",
    ),
    _Pair(
        Known.EMAIL,
        ("Treatment Room", "Potenza RF - {n}", 50),
        ("Dr Okafor", "Azzalure (forehead) - {n}", 61),
        "eleven days apart",
    ),
    _Pair(
        Known.EMAIL,
        ("Dr Patel", "Microneedling - {n}", 3),
        ("Nurse Kim", "Botox - {first}", 9),
        "first name only: matched by e-mail",
    ),
)


def add_scenarios(builder: ClinicBuilder, patients: tuple[Patient, ...]) -> list[IntendedConflict]:
    """Book the planned conflicts; what each one is."""
    used: set[Patient] = set()
    planned = [_book_pair(builder, _pick(patients, used, pair.known), pair) for pair in _PAIRS]
    planned.append(_combined(builder, _pick(patients, used, Known.NAME)))
    planned.append(_after_course(builder, _pick(patients, used, Known.ID)))
    return planned


def _pick(patients: tuple[Patient, ...], used: set[Patient], known: Known) -> Patient:
    patient = next(p for p in patients if p.known is known and p not in used)
    used.add(patient)
    return patient


def _book_pair(builder: ClinicBuilder, patient: Patient, pair: _Pair) -> IntendedConflict:
    first = _book(builder, patient, pair.earlier, "microneedling")
    second = _book(builder, patient, pair.later, "neuromodulator")
    return IntendedConflict(
        patient,
        first.id,
        second.id,
        first.slot.day,
        second.slot.day,
        second.calendar.summary,
        pair.story,
    )


def _book(
    builder: ClinicBuilder, patient: Patient, where: tuple[str, str, int], kind: str
) -> DemoBooking:
    calendar, template, offset = where
    title = title_for(template, patient, builder.rnd)
    return builder.book(
        calendar_named(calendar), title, builder.slot(offset), kind, patient=patient
    )


def _combined(builder: ClinicBuilder, patient: Patient) -> IntendedConflict:
    """One booking holding both treatments conflicts with itself, gap 0 (SPEC §5)."""
    both = _book(builder, patient, ("Dr Okafor", "Morpheus8 + Botox | {n}", 12), "both")
    day = both.slot.day
    return IntendedConflict(
        patient, both.id, both.id, day, day, both.calendar.summary, "one booking, both"
    )


def _after_course(builder: ClinicBuilder, patient: Patient) -> IntendedConflict:
    """A course of three microneedling sessions four weeks apart; Botox 6 days after the 2nd."""
    start = builder.slot(-20)
    slot = Slot(start.day, start.start or time(11), 60)
    extras = Extras(recurrence=("RRULE:FREQ=WEEKLY;INTERVAL=4;COUNT=3",))
    title = title_for("Microneedling course - {n}", patient, builder.rnd)
    room = calendar_named("Treatment Room")
    series = builder.book(room, title, slot, "microneedling", patient=patient, extras=extras)
    later = _book(builder, patient, ("Dr Patel", "Botox - {n}", 14), "neuromodulator")
    earlier_id, earlier_day = series_instance(series, 4)
    return IntendedConflict(
        patient,
        earlier_id,
        later.id,
        earlier_day,
        later.slot.day,
        later.calendar.summary,
        "after a recurring course",
    )


def add_decoys(
    builder: ClinicBuilder, patients: tuple[Patient, ...], used: Collection[Patient]
) -> set[Patient]:
    """Book the look-alikes (microneedling 40 days ahead, then each one); their patients."""
    taken = set(used)
    for template, offset, extras, known in _DECOYS:
        patient = _pick(patients, taken, known)
        _book(builder, patient, ("Treatment Room", "Microneedling - {n}", 40), "microneedling")
        title = title_for(template, patient, builder.rnd)
        slot = builder.slot(40 + offset)
        builder.book(
            calendar_named("Dr Patel"), title, slot, "other", patient=patient, extras=extras
        )
    return taken - set(used)


_DECOYS: tuple[tuple[str, int, Extras | None, Known], ...] = (
    ("Botox consult - {n}", 5, None, Known.NAME),
    ("Botox - {n}", 4, Extras(status="cancelled"), Known.NAME),
    ("CANCELLED Botox - {n}", 6, None, Known.NAME),
    ("Botox 20u - {n}", 6, Extras(response="declined"), Known.EMAIL),
    ("Botox - {n}", -3, None, Known.NAME),
    ("Dysport - {n}", 21, None, Known.ID),
    ("Hydrafacial - {n}", 5, Extras(description="Asked about Botox at the end."), Known.NAME),
    ("Appointment - {n}", 30, Extras(description="Service: Botox 20u"), Known.EMAIL),
)
