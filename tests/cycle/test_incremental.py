"""Detection over what a change reaches stores exactly what a full re-check stores (SPEC §4, §5).

Each test feeds the same edits to two clinics of one store (:mod:`tests.cycle.twins`):
one detected from the changes alone, one re-checked in full after every step.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from rules.model import Attendee, Booking
from tests.cycle.twins import CALENDARS, TODAY, Twins


def booking(
    booking_id: str,
    summary: str,
    days: int,
    *,
    calendar: str = "smith",
    emails: tuple[str, ...] = (),
    patient_id: str | None = None,
) -> Booking:
    return Booking(
        id=booking_id,
        uid=booking_id,
        calendar=calendar,
        day=TODAY + timedelta(days=days),
        summary=summary,
        attendees=tuple(Attendee(email) for email in emails),
        calendar_email=calendar,
        patient_id=patient_id,
    )


@pytest.fixture
def twins(engine: Engine) -> Twins:
    made = Twins(engine)
    for n in range(20):  # other patients, which an incremental pass need not read
        made.put(booking(f"other{n}", f"Hydrafacial Person {chr(65 + n)}x", n, calendar="laser"))
    made.detect(full_first=True)
    return made


def test_a_booking_bridging_an_id_and_an_email_links_them_and_unlinks_when_it_goes(
    twins: Twins,
) -> None:
    twins.put(booking("mn", "Microneedling Jane Doe", 10, patient_id="P1"))
    twins.put(booking("tox", "Botox Jane Doe", 17, calendar="room", emails=("jane@example.com",)))
    twins.detect()
    assert twins.open() == set()  # an id and an e-mail: two patients until something ties them
    bridge = booking(
        "consult", "Consultation Jane Doe", 12, patient_id="P1", emails=("jane@example.com",)
    )
    twins.put(bridge)
    twins.detect()
    twins.assert_same()
    assert twins.open() == {("mn", "tox")}
    assert twins.incremental.assessed < twins.full.assessed
    twins.put(replace(bridge, patient_id=None))  # the bridge loses its id: keys given up
    twins.detect()
    twins.assert_same()
    assert twins.open() == set()
    twins.put(bridge)
    twins.detect()
    twins.delete("smith", "consult")
    twins.detect()
    assert {row[3] for row in twins.assert_same()} == {"resolved"}


def test_a_name_shared_by_two_identified_patients_is_not_guessed(twins: Twins) -> None:
    twins.put(booking("mn", "Microneedling Jane Doe", 10, patient_id="P1"))
    twins.put(booking("tox", "Botox Jane Doe", 17, calendar="room"))
    twins.detect()
    twins.assert_same()
    assert twins.open() == {("mn", "tox")}  # the name-only Botox joins the one Jane Doe
    twins.put(
        booking(
            "facial", "Consultation - Jane Doe", 30, calendar="laser", emails=("jd@example.com",)
        )
    )
    twins.detect()
    twins.assert_same()
    assert twins.open() == set()  # two Jane Does now: the Botox is linked to neither
    twins.delete("laser", "facial")
    twins.detect()
    twins.assert_same()
    assert twins.open() == {("mn", "tox")}


def test_a_copy_on_another_calendar_is_kept_or_dropped_like_a_full_check_does(
    twins: Twins,
) -> None:
    twins.put(booking("mn", "Microneedling Ann Lee", 3, emails=("ann@example.com",)))
    tox = booking("tox", "Botox Ann Lee", 9, calendar="room", emails=("ann@example.com",))
    twins.put(tox)
    twins.put(replace(tox, calendar="laser"))
    twins.detect()
    twins.assert_same()
    twins.delete("laser", "tox")
    twins.detect()
    twins.assert_same()
    twins.put(replace(tox, summary="Hydrafacial Ann Lee"))  # the copy left is no Botox now
    twins.detect()
    twins.assert_same()
    assert twins.open() == set()


def test_copies_that_disagree_are_all_read_so_the_same_one_is_kept(twins: Twins) -> None:
    """A calendar not yet synced holds an older copy; a full check keeps that one (by rank)."""
    twins.put(booking("tox", "Botox Jane Doe", 9))
    twins.put(booking("tox", "Botox John Roe", 9, calendar="laser"))
    twins.detect()
    twins.put(booking("mn", "Microneedling Jane Doe", 2, calendar="room"))
    twins.detect()
    twins.assert_same()
    assert twins.open() == set()  # the copy kept names John Roe


NAMES = ("Jane Doe", "John Roe", "Ann Lee", "Mia Wong", "Eve Park", "Jane Doe", "")
TREATMENTS = (
    "Microneedling",
    "Botox",
    "Dysport 20u",
    "Consultation",
    "Hydrafacial",
    "Microneedling + Botox",
)
EMAILS = (
    "jane@example.com",
    "jd@example.com",
    "ann@example.com",
    "mia@example.com",
    "eve@example.com",
)
IDS = ("P1", "P2", "P3", "P4")


class _Edits:
    """Random inserts, moves, retitles, re-identifications, copies and deletes."""

    def __init__(self, twins: Twins, seed: int) -> None:
        self.twins = twins
        self.rng = random.Random(seed)
        self.live: dict[tuple[str, str], Booking] = {}
        self.made = 0

    def step(self) -> None:
        rng = self.rng
        kind = rng.choices(
            ("insert", "move", "retitle", "identity", "copy", "delete"),
            weights=(40, 15, 15, 10, 10, 10),
        )[0]
        if kind == "insert" or not self.live:
            self.made += 1
            self._put(
                self._identified(
                    booking(f"b{self.made}", self._title(), 0, calendar=rng.choice(CALENDARS))
                )
            )
            return
        key = rng.choice(sorted(self.live))
        current = self.live[key]
        if kind == "move":
            self._put(replace(current, day=TODAY + timedelta(days=rng.randint(0, 30))))
        elif kind == "retitle":
            self._put(replace(current, summary=self._title()))
        elif kind == "identity":
            self._put(self._identified(current))
        elif kind == "copy":
            self._put(replace(current, calendar=rng.choice(CALENDARS)))
        else:
            del self.live[key]
            self.twins.delete(*key)

    def _put(self, made: Booking) -> None:
        made = replace(made, calendar_email=made.calendar)
        self.live[(made.calendar, made.id)] = made
        self.twins.put(made)

    def _title(self) -> str:
        name = self.rng.choice(NAMES)
        form = self.rng.choice(("{t} {n}", "{t} - {n}", "{n} | {t}"))
        return form.format(t=self.rng.choice(TREATMENTS), n=name).strip(" -|")

    def _identified(self, made: Booking) -> Booking:
        rng = self.rng
        patient_id = rng.choice(IDS) if rng.random() < 0.3 else None
        count = rng.choices((0, 1, 2), weights=(5, 4, 1))[0]
        emails = tuple(rng.sample(EMAILS, count))
        return replace(
            made,
            day=TODAY + timedelta(days=rng.randint(0, 30)),
            patient_id=patient_id,
            attendees=tuple(Attendee(email) for email in emails),
        )


@pytest.mark.parametrize("seed", range(8))
def test_random_edits_across_calendars_leave_the_same_conflicts_as_a_full_check(
    twins: Twins, seed: int
) -> None:
    edits = _Edits(twins, seed)
    seen: set[str] = set()
    for _ in range(30):
        for _ in range(edits.rng.choice((1, 1, 2))):
            edits.step()
        twins.detect()
        stored = twins.assert_same()
        seen |= {row[3] for row in stored}
    assert "open" in seen  # the edits did make conflicts to compare
