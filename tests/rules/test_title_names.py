"""Reading a patient's name from a clinic's titles (SPEC §4 point 4).

What is taken out: treatment phrases, exclusions, the clinic's other services (the policy
lists them), volumes, units and counts, and descriptive notes. What is left, when it is
2 to 4 words in one part of the title, is the name; when two parts could each be a
different name, the title gives none.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.model import Policy
from rules.patients import TitleNames
from rules.policy import DEFAULT_SERVICES
from rules.vocabulary import Matcher

# Titles as clinics write them, each with the patient's name as it should be read.
NAMED = {
    # SPEC §4's own cases: descriptive parts must not become the name.
    "Lip filler 1ml - Jane Doe": "Jane Doe",
    "Jeuveau (new pt) Jane Doe": "Jane Doe",
    "Fractional RF (full face) - Jane Doe": "Jane Doe",
    # Other services beside the patient.
    "Dermal filler 0.5ml | Ana Ruiz": "Ana Ruiz",
    "Lip Fillers 1 syringe w/ Priya Patel": "Priya Patel",
    "Profhilo 2ml - Sofia Rossi": "Sofia Rossi",
    "Skin booster (Profhilo) - Mei Chen": "Mei Chen",
    "Sculptra 2 vials - Laura Gómez": "Laura Gómez",
    "HydraFacial + Botox - Emma Brown": "Emma Brown",
    "Chemical peel: Olivia Wilson": "Olivia Wilson",
    "IPL (full face) - Grace Taylor": "Grace Taylor",
    "Laser hair removal | Chloe Martin": "Chloe Martin",
    "PRP injections (hair) - Noah Clark": "Noah Clark",
    "PDO threads / Zoe Hall": "Zoe Hall",
    "Thread lift - Mia Young": "Mia Young",
    "Kybella 2 vials - Liam King": "Liam King",
    "Consultation - Ella Scott": "Ella Scott",
    "Review (2 weeks) - Ava Green": "Ava Green",
    # Descriptive notes, areas and counts beside a treatment.
    "Botox (lower face) - Jane Doe": "Jane Doe",
    "Tox 3 areas - Kim Lee": "Kim Lee",
    "Botox forehead + glabella - Tom Reed": "Tom Reed",
    "Dysport crow's feet (existing pt) - Lucy Adams": "Lucy Adams",
    "Microneedling (new patient) - Amelia Baker": "Amelia Baker",
    "Xeomin top-up review - Ruby Nelson": "Ruby Nelson",
    "Toxin (deposit paid) - Isla Carter": "Isla Carter",
    "SkinPen #2 - rescheduled - Ivy Mitchell": "Ivy Mitchell",
    "Morpheus8 full face TBC | Hannah Perez": "Hannah Perez",
    # The name beside a treatment, or split by a comma.
    "Botox Jane Doe": "Jane Doe",
    "Microneedling + Botox | O'Brien, Siobhan": "O'brien Siobhan",
    "Jane Doe (Botox) Jane Doe": "Jane Doe",
    # Misspelt services are still taken out...
    "Hydrafacail - Jane Doe": "Jane Doe",
    "Lip fillr - Jane Doe": "Jane Doe",
    "Vampire facials - Jane Doe": "Jane Doe",
    # ...but a surname one slip from a service is not lost.
    "Jane Miller - Botox": "Jane Miller",
    "Lip filler - Sara Fuller": "Sara Fuller",
    "Botox - Carol Peele": "Carol Peele",
}

# Titles where no part is clearly the name: no guessing (SPEC §4).
UNNAMED = [
    "Botox - Jane Doe - Anna Smith",
    "Jane Doe / Anna Smith - Microneedling",
    "Botox - new pt",
    "Lip filler 1ml",
    "Fractional RF (full face)",
    "Tox maintenance (moved) - Tom",
    "Consultation + review",
    "Botox - Jane",
]


@pytest.fixture(scope="module")
def titles(matcher: Matcher) -> TitleNames:
    return TitleNames(matcher)


@pytest.mark.parametrize(("title", "name"), NAMED.items())
def test_the_name_is_read_from_a_realistic_title(titles: TitleNames, title: str, name: str) -> None:
    assert titles(title)[0] == name


@pytest.mark.parametrize("title", UNNAMED)
def test_a_title_without_one_clear_name_gives_none(titles: TitleNames, title: str) -> None:
    assert titles(title) == (None, None)


def test_services_come_from_the_policy(default_policy: Policy) -> None:
    """A clinic that lists no services gets the descriptive part as a possible name."""
    bare = TitleNames(Matcher(dataclasses.replace(default_policy, services=())))
    assert bare("Lip filler - Jane Doe") == (None, None)  # two parts could be the name
    assert bare("Lip filler") == ("Lip filler", "filler lip")
    own = dataclasses.replace(default_policy, services=("Lip flip",))
    assert TitleNames(Matcher(own))("Lip flip - Jane Doe")[0] == "Jane Doe"


def test_the_default_services_are_spec_section_4s_list(default_policy: Policy) -> None:
    assert default_policy.services == DEFAULT_SERVICES


# --- properties --------------------------------------------------------------------------------

_NAMES = st.sampled_from(["Jane Doe", "Ana María López", "Tom Reed", "Siobhan O'Brien"])
_TREATMENTS = st.sampled_from(["Botox", "Microneedling", "Toxin 20u", "SkinPen", "Dysport x2"])
_DESCRIPTIVE = st.sampled_from(
    [
        "Lip filler 1ml",
        "(new pt)",
        "(full face)",
        "Profhilo 2ml",
        "review",
        "HydraFacial",
        "(3 areas)",
        "PRP injections",
        "Dermal fillers",
    ]
)
_SEPARATOR = st.sampled_from([" - ", " | ", " / ", ": ", " + ", " "])


@given(_TREATMENTS, st.lists(_DESCRIPTIVE, max_size=3), _NAMES, _SEPARATOR, st.booleans())
def test_descriptive_parts_never_become_or_hide_the_name(
    matcher: Matcher,
    treatment: str,
    notes: list[str],
    name: str,
    separator: str,
    name_first: bool,
) -> None:
    parts = [name, treatment, *notes] if name_first else [treatment, *notes, name]
    read = TitleNames(matcher)(separator.join(parts))
    assert read[1] == TitleNames(matcher)(f"Botox - {name}")[1]


@given(_TREATMENTS, st.lists(_DESCRIPTIVE, max_size=3), _SEPARATOR)
def test_services_never_change_a_titles_categories(
    default_policy: Policy, treatment: str, notes: list[str], separator: str
) -> None:
    """Services only fill gaps treatments leave: a listed service never hides a treatment."""
    bare = Matcher(dataclasses.replace(default_policy, services=()))
    title = separator.join([treatment, *notes, "Jane Doe"])
    assert Matcher(default_policy).categories_of_text(title) == bare.categories_of_text(title)


@given(_NAMES, _NAMES, _TREATMENTS, _SEPARATOR)
def test_two_different_names_in_one_title_give_none(
    matcher: Matcher, first: str, second: str, treatment: str, separator: str
) -> None:
    read = TitleNames(matcher)(f"{treatment} - {first}{separator.strip() or '-'} {second}")
    if first == second:
        assert read[0] is not None
    else:
        assert read == (None, None)
