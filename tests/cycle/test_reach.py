"""A change re-assesses its reach: never every carrier of a name that links nobody (SPEC §4, §5).

Each test feeds the same edits to two clinics (:mod:`tests.cycle.twins`), one detected from
the changes alone, one re-checked in full, and compares what they stored; the number of
bookings the incremental one re-assessed is checked against the crowd it must not read.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from rules.model import Attendee, Booking, MatchKind, PatientKey
from rules.patients import name_key
from sync.store.database import session_scope
from sync.store.identity_keys import rows_with_keys
from sync.usecases.affected import Changes, reach
from tests.cycle.test_incremental import booking
from tests.cycle.twins import CALENDARS, TODAY, Twins

CROWD = 30
"""Identified patients sharing one name: the name links nobody."""


def _crowd(twins: Twins, name: str = "Jane Doe", size: int = CROWD) -> None:
    for n in range(size):
        twins.put(
            booking(
                f"crowd{n}",
                f"Hydrafacial {name}",
                n % 20,
                calendar=CALENDARS[n % 3],
                emails=(f"{name.split()[0].lower()}{n}@example.com",),
            )
        )


@pytest.fixture
def twins(engine: Engine) -> Twins:
    made = Twins(engine)
    _crowd(made)
    made.detect(full_first=True)
    return made


def test_a_booking_of_a_crowded_name_is_re_assessed_without_the_crowd(twins: Twins) -> None:
    twins.put(booking("mn", "Microneedling Jane Doe", 10))
    twins.put(booking("tox", "Botox Jane Doe", 17, calendar="room"))
    twins.detect()
    twins.assert_same()
    assert twins.open() == set()  # "Jane Doe" is thirty people: nobody is linked by it
    assert twins.incremental.assessed <= 2
    twins.put(booking("tox", "Botox Jane Doe", 16, calendar="room"))
    twins.detect()
    twins.assert_same()
    assert twins.incremental.assessed <= 2


def test_the_reach_of_a_crowded_name_is_the_change_and_the_name(twins: Twins) -> None:
    """The crowd's thirty bookings share the name with the change; none is read."""
    twins.put(booking("tox", "Botox Jane Doe", 17, calendar="room"))
    twins.detect()
    clinic = twins.incremental
    with session_scope(twins.engine) as session:
        bounded = reach(session, clinic.id, Changes(("tox",)), twins.reader, twins.scope)
        crowd = rows_with_keys(
            session, clinic.id, [PatientKey(MatchKind.NAME, name_key("Jane Doe"))]
        )
    assert len(crowd) == CROWD + 1  # what following every shared key would have read
    assert len(bounded.rows) == 1
    assert bounded.ambiguous == {name_key("Jane Doe")}


def test_an_identified_patient_left_alone_with_a_name_links_its_name_only_bookings(
    engine: Engine,
) -> None:
    """Two witnesses are needed: with one identified Jane Doe, the name links to her."""
    twins = Twins(engine)
    _crowd(twins, size=1)
    twins.put(booking("mn", "Microneedling Jane Doe", 10, emails=("jane0@example.com",)))
    twins.detect(full_first=True)
    twins.put(booking("tox", "Botox Jane Doe", 17, calendar="room"))
    twins.detect()
    twins.assert_same()
    assert twins.open() == {("mn", "tox")}


@pytest.mark.parametrize(
    "silenced",
    ["cancelled", "declined", "out of view", "another copy is kept"],
)
def test_a_carrier_linking_would_not_count_is_no_witness(engine: Engine, silenced: str) -> None:
    """One of two identified Jane Does does not count: the name links the other."""
    twins = Twins(engine)
    twins.put(booking("mn", "Microneedling Jane Doe", 10, emails=("jane@example.com",)))
    other = booking("other", "Consultation Jane Doe", 12, calendar="room", emails=("jd@x.com",))
    if silenced == "cancelled":
        other = replace(other, cancelled=True)
    elif silenced == "declined":
        other = replace(other, attendees=(Attendee("jd@x.com", response="declined"),))
    elif silenced == "out of view":
        other = replace(other, day=TODAY + timedelta(days=900))
    else:  # a copy on an earlier-ranked calendar, read without the e-mail, is the one kept
        twins.put(replace(other, calendar="laser", attendees=()))
    twins.put(other)
    twins.detect(full_first=True)
    twins.put(booking("tox", "Botox Jane Doe", 17, calendar="smith"))
    twins.detect()
    twins.assert_same()
    assert twins.open() == {("mn", "tox")}


def test_witnesses_of_one_patient_are_one_witness(engine: Engine) -> None:
    """Two identified Jane Doe bookings joined by an id are one patient: the name links."""
    twins = Twins(engine)
    twins.put(booking("a", "Consultation Jane Doe", 3, emails=("jane@example.com",)))
    twins.put(booking("b", "Microneedling Jane Doe", 10, patient_id="P1"))
    twins.put(
        booking("c", "Hydrafacial Jane Doe", 5, patient_id="P1", emails=("jane@example.com",))
    )
    twins.detect(full_first=True)
    twins.put(booking("tox", "Botox Jane Doe", 17, calendar="room"))
    twins.detect()
    twins.assert_same()
    assert twins.open() == {("b", "tox")}


def test_a_change_that_splits_a_crowd_patient_is_followed(twins: Twins) -> None:
    """A crowd member's bookings re-identified: the name's witnesses change, results agree."""
    twins.put(booking("tox", "Botox Jane Doe", 17, calendar="room"))
    twins.put(booking("mn", "Microneedling Jane Doe", 10, emails=("jane0@example.com",)))
    twins.detect()
    twins.assert_same()
    for n in range(1, CROWD):
        twins.delete(CALENDARS[n % 3], f"crowd{n}")
    twins.detect()
    twins.assert_same()
    assert twins.open() == {("mn", "tox")}  # Jane 0 is the only Jane Doe left


class _CrowdEdits:
    """Random edits over a clinic where a crowd shares names: cancels, declines, moves away."""

    NAMES = ("Jane Doe", "John Roe", "Ann Lee", "Mia Wong", "")
    TREATMENTS = ("Microneedling", "Botox", "Microneedling", "Botox", "Consultation")

    def __init__(self, twins: Twins, seed: int) -> None:
        self.twins = twins
        self.rng = random.Random(seed)
        self.live: dict[tuple[str, str], Booking] = {}
        self.made = 0

    def step(self) -> None:
        rng = self.rng
        kinds = ("insert", "cancel", "decline", "away", "identity", "delete")
        kind = rng.choices(kinds, weights=(45, 10, 10, 10, 15, 10))[0]
        if kind == "insert" or not self.live:
            self.made += 1
            title = f"{rng.choice(self.TREATMENTS)} {rng.choice(self.NAMES)}".strip()
            made = booking(
                f"b{self.made}", title, rng.randint(0, 20), calendar=rng.choice(CALENDARS)
            )
            self._put(self._identity(made))
            return
        key = rng.choice(sorted(self.live))
        current = self.live[key]
        if kind == "cancel":
            self._put(replace(current, cancelled=not current.cancelled))
        elif kind == "decline":
            attendees = tuple(replace(a, response="declined") for a in current.attendees)
            self._put(replace(current, attendees=attendees))
        elif kind == "away":
            self._put(replace(current, day=TODAY + timedelta(days=rng.choice((2, 400, -200)))))
        elif kind == "identity":
            self._put(self._identity(current))
        else:
            del self.live[key]
            self.twins.delete(*key)

    def _identity(self, made: Booking) -> Booking:
        rng = self.rng
        emails = (f"p{rng.randrange(3)}@example.com",) if rng.random() < 0.5 else ()
        patient_id = f"P{rng.randrange(4)}" if rng.random() < 0.2 else None
        return replace(made, attendees=tuple(Attendee(e) for e in emails), patient_id=patient_id)

    def _put(self, made: Booking) -> None:
        made = replace(made, calendar_email=made.calendar)
        self.live[(made.calendar, made.id)] = made
        self.twins.put(made)


@pytest.mark.parametrize("seed", range(6))
def test_random_edits_beside_a_crowd_leave_the_same_conflicts_as_a_full_check(
    engine: Engine, seed: int
) -> None:
    twins = Twins(engine)
    _crowd(twins, size=4)
    _crowd(twins, name="John Roe", size=2)
    twins.put(booking("mn", "Microneedling Ann Lee", 0, emails=("p0@example.com",)))
    twins.detect(full_first=True)
    edits = _CrowdEdits(twins, seed)
    seen: set[str] = set()
    for _ in range(40):
        for _ in range(edits.rng.choice((1, 1, 2))):
            edits.step()
        twins.detect()
        seen |= {row[3] for row in twins.assert_same()}
    assert "open" in seen
