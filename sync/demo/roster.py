"""The demo clinic's people and the ways its staff write a booking's title (SPEC §3, §4).

Patients get unique first-and-last names drawn from two lists that share no word, so
that no two patients can be taken for one when names are compared in any word order,
and no name holds a digit (digits in a title are booking noise such as "20u", see
``bench/rules_scale.py``). Each patient is known the way a real clinic knows them: by an
explicit id in the event's private properties, by an attendee e-mail, or only by the
name staff type into the title. Titles copy ``examples/clinic-export/``: units, slashes,
brackets, symbols, emoji, typos, "w/", surname first.
"""

from __future__ import annotations

import enum
import random
import unicodedata
from dataclasses import dataclass

__all__ = [
    "MICRONEEDLING_TITLES",
    "NEUROMODULATOR_TITLES",
    "OTHER_TITLES",
    "Known",
    "Patient",
    "make_roster",
    "title_for",
]

_FIRST = (
    "Jane", "Olivia", "Amelia", "Isla", "Ava", "Mia", "Grace", "Sofia", "Ana", "Zoë",
    "Priya", "Chloe", "Emma", "Lucy", "Nina", "Hannah", "Ella", "Freya", "Aisha", "Leila",
    "Maya", "Ruby", "Poppy", "Imogen", "Harriet", "Niamh", "Siobhan", "Yasmin", "Fatima",
    "Ingrid", "Marta", "Elena", "Beatriz", "Camille", "Noémie", "Tom", "Ben", "Sam", "Omar",
    "José", "James", "Daniel", "Ravi", "Luca",
)  # fmt: skip
_LAST = (
    "Doe", "Smith", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Thomas", "López",
    "O'Brien", "Khan", "Nguyen", "Müller", "Rossi", "Kowalski", "Reed", "Park", "Hughes",
    "Clarke", "Walsh", "Murphy", "Ahmed", "Chen", "Novak", "Fischer", "Dubois", "Moreau",
    "Silva", "Costa", "Mensah", "Begum", "Fraser", "Kerr", "Byrne", "Lindqvist", "Haddad",
    "Ferreira", "Jones", "Kaur",
)  # fmt: skip

MICRONEEDLING_TITLES = (
    "Microneedling - {n}",
    "Micro-needling (SkinPen®) – {n}",
    "MN – {n}",
    "Dermapen – {n}",
    "Morpheus8 - {n}",
    "RF microneedling | {n}",
    "Vampire facial - {n}",
    "Microneedeling {n}",
    "SkinPen - {n} ✨",
    "Potenza RF - {n}",
)
NEUROMODULATOR_TITLES = (
    "Botox 20u - {n}",
    "Botox - {n}",
    "Dysport/Botox - {n}",
    "Xeomen top-up w/ {n}",
    "Dysport 50 units - {n}",
    "💉 Anti-wrinkle injections - {n}",
    "Tox top-up - {n}",
    "Bocouture 🙂 {n}",
    "Azzalure (forehead) - {n}",
)
OTHER_TITLES = (
    "Hydrafacial - {n}",
    "Profhilo - {n}",
    "Botox consult - {n}",
    "Review – {n}",
    "Peel - {n}",
    "Consultation: {n}",
)


class Known(enum.StrEnum):
    """How the clinic's calendars identify a patient (SPEC §4, in order of trust)."""

    ID = "id"
    EMAIL = "email"
    NAME = "name"


@dataclass(frozen=True, slots=True)
class Patient:
    """One patient of the demo clinic."""

    first: str
    last: str
    known: Known
    patient_id: str | None = None
    email: str | None = None

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


def make_roster(rnd: random.Random, size: int) -> tuple[Patient, ...]:
    """``size`` patients with unique names; about a quarter by id, a third by e-mail."""
    pairs = rnd.sample([(f, last) for f in _FIRST for last in _LAST], size)
    return tuple(_patient(rnd, number, first, last) for number, (first, last) in enumerate(pairs))


def _patient(rnd: random.Random, number: int, first: str, last: str) -> Patient:
    draw = rnd.random()
    if draw < 0.25:
        return Patient(first, last, Known.ID, patient_id=f"P-{1001 + number}")
    if draw < 0.6:
        return Patient(first, last, Known.EMAIL, email=_email(first, last, rnd))
    return Patient(first, last, Known.NAME)


def _email(first: str, last: str, rnd: random.Random) -> str:
    domain = rnd.choice(("example.com", "example.net", "example.org"))
    local = f"{_ascii(first)}.{_ascii(last)}".replace("'", "")
    return f"{local}@{domain}".casefold()


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def title_for(template: str, patient: Patient, rnd: random.Random) -> str:
    """``template`` with the patient's name written one of the ways staff write it."""
    draw = rnd.random()
    if draw < 0.1:
        written = patient.name.lower()
    elif draw < 0.2:
        written = _ascii(patient.name)
    elif draw < 0.3 and _surname_first_reads(template):
        written = f"{patient.last}, {patient.first}"
    else:
        written = patient.name
    return template.format(n=written, first=patient.first)


def _surname_first_reads(template: str) -> bool:
    """Whether "Doe, Jane" still reads as one name: a treatment, a dash, nothing else."""
    return template.endswith(" - {n}") and "(" not in template and template not in OTHER_TITLES
