"""The one-pass title reader gives what the old part-by-part reader gave (issue 17).

:mod:`tests.rules.reference_reading` keeps the old reader: it matched the whole title for
categories and each part again, re-tokenising, for the name. The one-pass reader must
agree with it title for title, on realistic titles and on generated ones built from the
policy's own phrases, misspelt, spaced and cut by separators anywhere.
"""

from __future__ import annotations

import dataclasses
from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.model import Policy
from rules.patients import TitleNames
from rules.titles import TitleReader
from rules.vocabulary import Matcher, name_words
from tests.factories import booking
from tests.rules.reference_reading import ReferenceReader
from tests.rules.test_title_names import NAMED, UNNAMED
from tests.rules.test_vocabulary import default_policy


@cache
def _readers(policy: Policy) -> tuple[TitleReader, Matcher, ReferenceReader]:
    matcher = Matcher(policy)
    return TitleReader(matcher), matcher, ReferenceReader(policy)


def _agree(title: str, policy: Policy | None = None) -> None:
    reader, matcher, reference = _readers(policy or default_policy())
    reading = reader.read(title)
    assert reading.categories == reference.categories_of_text(title)
    assert reading.categories == matcher.categories_of_text(title)
    assert reading.name == reference.name(title)
    assert name_words(title, matcher) == reference.name_words(title)


@pytest.mark.parametrize(
    "title",
    [
        *NAMED,
        *UNNAMED,
        "micro / needling - Jane Doe",  # a phrase across two parts still names a category
        "Micro | needeling (Ana Ruiz)",
        "Bo / tox w/ Jane Doe",
        "Botox with Jane Doe for review",
        "d'with Botox - Jane Doe",  # a connecting word inside a word
        "Xeomin A Smith",
        "O‘Brien, Siobhan - Botox",
        "Zoë Müller — Botox 20u ✨",
        "Jane Doe (Botox) Jane Doe",
        "",
        " - ",
        "((()))",
    ],
)
def test_the_one_pass_reader_agrees_on_examples(title: str) -> None:
    _agree(title)


def _pieces() -> list[str]:
    policy = default_policy()
    words = [*policy.exclusions, *policy.services]
    words += [phrase for category in policy.categories for phrase in category.phrases]
    words += ["Jane", "Doe", "Ana", "López", "O'Brien", "new pt", "full face", "1ml", "20u"]
    words += ["x2", "#2", "w/", "with", "for", "review", "Miller", "d'", "u", "3", "areas"]
    return words


_SEPARATOR = st.sampled_from([" ", " - ", "-", "/", " / ", ", ", ",", " | ", ": ", "(", ")", "+"])


@st.composite
def _titles(draw: st.DrawFn) -> str:
    """Phrases, names and noise, some with one slip or split, joined by any separator."""
    out = ""
    for _ in range(draw(st.integers(1, 6))):
        piece = draw(st.sampled_from(_pieces()))
        at = draw(st.integers(0, len(piece)))
        edit = draw(st.sampled_from(["", "drop", "add", "swap", "cut"]))
        if edit == "drop":
            piece = piece[:at] + piece[at + 1 :]
        elif edit == "add":
            piece = piece[:at] + draw(st.sampled_from("aeinorstxé'")) + piece[at:]
        elif edit == "swap" and at + 1 < len(piece):
            piece = piece[:at] + piece[at + 1] + piece[at] + piece[at + 2 :]
        elif edit == "cut":
            piece = piece[:at] + draw(_SEPARATOR) + piece[at:]
        out += draw(_SEPARATOR) + piece
    return out


@given(_titles())
def test_the_one_pass_reader_agrees_on_generated_titles(title: str) -> None:
    _agree(title)


@given(_titles())
def test_the_one_pass_reader_agrees_without_services(title: str) -> None:
    _agree(title, dataclasses.replace(default_policy(), services=()))


@given(st.text(max_size=40))
def test_the_one_pass_reader_agrees_on_any_text(title: str) -> None:
    _agree(title)


_DESCRIPTIONS = st.sampled_from(
    ["", "Notes: bring forms", "Service: Botox", "Treatment: no filler", "service: Lip filer"]
)


@given(_titles(), _DESCRIPTIONS)
def test_a_booking_read_once_has_the_categories_of_title_and_service_lines(
    title: str, description: str
) -> None:
    """What ingest and assessment store is what matching the title and its lines gives."""
    matcher = _readers(default_policy())[1]
    titles = TitleNames(matcher)
    read = booking("b1", "2026-01-05", title, description=description)
    assert titles.categories(read) == matcher.categories(title, description)
