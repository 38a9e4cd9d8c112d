"""New bookings while the demo runs: mostly ordinary, one in six too soon after microneedling.

:func:`new_bookings` is an endless, seeded stream of bookings for the clinic's patients:
now and then a Botox 1 to 13 days after one of the patient's microneedling bookings
still ahead (the worker must flag it), otherwise an ordinary one (a facial, a consult),
as a real clinic's day mostly is — the flags stand out, and the list of conflicts grows
slowly enough to follow. :func:`insert_booking`
writes one through the real Google client, as a receptionist's calendar app would
(an idle keep-alive connection the server has closed is retried like any Google call).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sync.demo.bookings import Json, Slot, event_body
from sync.demo.builder import CALENDARS, ClinicBuilder, DemoBooking, DemoCalendar
from sync.demo.clinic import DemoClinic
from sync.demo.roster import NEUROMODULATOR_TITLES, OTHER_TITLES, Patient, title_for
from sync.sources.google.retry import call_with_retry
from sync.sources.google.source import GoogleCalendarSource

__all__ = ["NewBooking", "insert_booking", "new_bookings"]


@dataclass(frozen=True, slots=True)
class NewBooking:
    """A booking to add to a calendar; ``after`` is the microneedling day it conflicts with."""

    calendar: DemoCalendar
    body: Json
    day: date
    patient: Patient
    after: date | None = None


ORDINARY_PER_CONFLICT = 5
"""Ordinary bookings after each conflicting one."""


def new_bookings(clinic: DemoClinic, seed: int) -> Iterator[NewBooking]:
    """One conflicting booking, then :data:`ORDINARY_PER_CONFLICT` ordinary ones, for ever."""
    rnd = random.Random(seed + 1)  # noqa: S311 - a reproducible stream, not a secret
    needling = _future_needling(clinic)
    builder = ClinicBuilder(rnd, clinic.today)
    while True:
        if needling:
            yield _conflicting(builder, rnd.choice(needling))
        for _ in range(ORDINARY_PER_CONFLICT):
            yield _ordinary(builder, rnd.choice(clinic.patients))


def insert_booking(google: GoogleCalendarSource, booking: NewBooking) -> dict[str, Any]:
    """Insert ``booking`` with ``events.insert``, retried as every Google call is."""
    body = {k: v for k, v in booking.body.items() if k != "id"}  # Google picks the id
    events = google.client.service().events()
    request = events.insert(calendarId=booking.calendar.id, body=body)
    created: dict[str, Any] = call_with_retry(request.execute, "events.insert", google.retry)
    return created


def _future_needling(clinic: DemoClinic) -> list[DemoBooking]:
    return [
        b
        for b in clinic.patient_bookings
        if b.kind == "microneedling" and b.slot.day > clinic.today and "recurrence" not in b.body
    ]


def _conflicting(builder: ClinicBuilder, needling: DemoBooking) -> NewBooking:
    assert needling.patient is not None
    rnd = builder.rnd
    offset = (needling.slot.day - builder.today).days + rnd.randint(1, 13)
    template = rnd.choice(NEUROMODULATOR_TITLES)
    calendar = rnd.choice(CALENDARS[:3])
    return _new(
        builder, calendar, template, offset, patient=needling.patient, after=needling.slot.day
    )


def _ordinary(builder: ClinicBuilder, patient: Patient) -> NewBooking:
    rnd = builder.rnd
    template = rnd.choice([t for t in OTHER_TITLES if "Botox" not in t])
    calendar = rnd.choice(CALENDARS)
    return _new(builder, calendar, template, rnd.randint(1, 60), patient=patient, after=None)


def _new(
    builder: ClinicBuilder,
    calendar: DemoCalendar,
    template: str,
    offset: int,
    *,
    patient: Patient,
    after: date | None,
) -> NewBooking:
    slot = builder.slot(offset)
    if slot.all_day:
        slot = Slot(slot.day)
    title = title_for(template, patient, builder.rnd)
    body = event_body("new", title, slot, patient)
    return NewBooking(calendar, body, builder.today + timedelta(days=offset), patient, after)
