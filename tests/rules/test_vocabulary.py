"""Treatment matching in staff-written booking text (SPEC §3) and title name words (§4.4)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from itertools import pairwise

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from rules.flag import FLAG_BEGIN, FLAG_END
from rules.model import Category, Policy, Rule
from rules.policy import parse_policy
from rules.vocabulary import Matcher, PhraseHit, name_words, normalize, tokenize

MN = frozenset({"microneedling"})
TOX = frozenset({"neuromodulator"})
NONE: frozenset[str] = frozenset()


@cache
def default_policy() -> Policy:
    text = (files("rules") / "default_policy.toml").read_text(encoding="utf-8")
    return parse_policy(text, "default_policy.toml")


@cache
def default_matcher() -> Matcher:
    return Matcher(default_policy())


def classify(title: str) -> frozenset[str]:
    return default_matcher().categories_of_text(title)


# --- normalisation and tokens ----------------------------------------------------------------


def test_normalize_folds_case_accents_and_white_space() -> None:
    assert normalize("  Bótox\t  ANNA-María\n") == "botox anna-maria"


def test_normalize_unifies_typographic_apostrophes() -> None:
    assert normalize("O’Brien") == normalize("O'Brien") == "o'brien"


def test_tokenize_splits_on_symbols_punctuation_and_emoji() -> None:
    assert tokenize("💉Botox/Dysport✨ (SkinPen®) #2, no-show") == (
        "botox",
        "dysport",
        "skinpen",
        "2",
        "no",
        "show",
    )


def test_tokenize_splits_letters_from_digits() -> None:
    assert tokenize("botox20u Morpheus8") == ("botox", "20", "u", "morpheus", "8")


def test_tokenize_keeps_apostrophes_inside_words_only() -> None:
    assert tokenize("'O'Brien' D’Arcy's") == ("o'brien", "d'arcy's")


def test_tokenize_does_not_glue_trademark_signs_to_words() -> None:
    assert tokenize("BOTOX™ Dysport℠") == ("botox", "dysport")


# --- every default phrase, written the way staff write ---------------------------------------


def _phrases(category: str) -> tuple[str, ...]:
    return default_policy().category(category).phrases


@pytest.mark.parametrize("phrase", _phrases("microneedling") + _phrases("neuromodulator"))
@pytest.mark.parametrize(
    "template",
    [
        "{}",
        "{upper} - Jane Doe",
        "💉{}✨",
        "Jane Doe / {} 20u",
        "({}®) #2",
        "{hyphens} appt",
        "{spaced}",
    ],
)
def test_every_default_phrase_matches_in_messy_writing(phrase: str, template: str) -> None:
    """Case, symbols, emoji, units, hyphens and spacing around or inside never stop a match."""
    category = "microneedling" if phrase in _phrases("microneedling") else "neuromodulator"
    title = template.format(
        phrase,
        upper=phrase.upper(),
        hyphens=phrase.replace(" ", "-"),
        spaced=phrase.replace("-", " "),
    )
    assert classify(title) == {category}


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Botox/Dysport", TOX),
        ("Botox 20u", TOX),
        ("Microneedling (SkinPen®)", MN),
        ("Bótox", TOX),
        ("MICRO-NEEDLING", MN),
        ("micro needling", MN),
        ("Micro-Needling", MN),
        ("Morpheus 8", MN),
        ("bo tox", TOX),
        ("BTXA 50 units", TOX),
        ("Anti wrinkle injections x3 areas", TOX),
        ("RF micro-needling", MN),
    ],
)
def test_spec_examples_match(title: str, expected: frozenset[str]) -> None:
    assert classify(title) == expected


@pytest.mark.parametrize(
    "title",
    ["Toxin - Jane Doe", "TOXIN 20u", "Toxin top-up | Ana Ruiz", "Tox", "Lip flip (toxin)"],
)
def test_toxin_and_tox_are_clinic_shorthand_for_a_neuromodulator(title: str) -> None:
    """SPEC §3 lists "toxin" and "tox" among the default neuromodulator phrases."""
    assert classify(title) == TOX


@pytest.mark.parametrize("title", ["Detox facial", "Detoxin", "Toxins talk", "Intoxin"])
def test_toxin_matches_whole_words_only(title: str) -> None:
    """ "toxin" has five letters: exact, whole-word matches only (SPEC §3)."""
    assert classify(title) == NONE


# --- one slip in a long phrase ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Xeomen", TOX),  # substitution
        ("Microneedeling", MN),  # insertion
        ("Dysprot", TOX),  # adjacent swap
        ("Dermpen", MN),  # deletion
        ("Morpheus", MN),  # the 8 left out
        ("micro needeling - Jane", MN),  # a slip across a space
        ("Anti-wrinkle injectoins", TOX),
    ],
)
def test_one_slip_in_a_phrase_of_six_letters_or_more_still_matches(
    title: str, expected: frozenset[str]
) -> None:
    assert classify(title) == expected


@pytest.mark.parametrize("title", ["Botx", "Tx", "Botoxx", "Bottox", "MNN", "CITT", "toxx"])
def test_short_phrases_must_be_written_exactly(title: str) -> None:
    """Botox, tox, MN and CIT are under six letters: no slip is tolerated."""
    assert classify(title) == NONE


def test_two_slips_do_not_match() -> None:
    assert classify("Xaomen") == NONE
    assert classify("Dyssprot") == NONE


def test_fuzzy_hits_say_they_are_not_exact() -> None:
    hits = default_matcher().hits(tokenize("Xeomen"))
    assert hits == [PhraseHit("neuromodulator", "Xeomin", 0, 1, exact=False)]


# --- whole words -----------------------------------------------------------------------------


@pytest.mark.parametrize("title", ["Detox facial", "Toxic", "Intoxicated", "Botoxxx", "Mnemonic"])
def test_phrases_match_whole_words_only(title: str) -> None:
    assert classify(title) == NONE


# --- exclusions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "Botox consult",
        "Microneedling - CANCELLED",
        "no show Botox",
        "Botox NO-SHOW",
        "Consultation: Dysport",
        "Microneedling + Botox (canceled)",
        "Botox consults",  # exclusion words get the same one-slip tolerance
    ],
)
def test_exclusion_words_cancel_the_match(title: str) -> None:
    assert classify(title) == NONE


def test_follow_up_is_not_an_exclusion() -> None:
    assert classify("Botox follow-up") == TOX


def test_category_exclusion_only_cancels_its_own_category() -> None:
    policy = Policy(
        categories=(
            Category("microneedling", "Microneedling", ("microneedling",)),
            Category("neuromodulator", "Botox", ("botox",), exclusions=("top-up",)),
        ),
        rules=(Rule("r", "microneedling", "neuromodulator", 14, (14, 28)),),
    )
    assert Matcher(policy).categories_of_text("Microneedling + Botox top up") == MN


def test_exclusion_hits_carry_no_category() -> None:
    hits = default_matcher().hits(tokenize("Botox consult"))
    assert hits == [
        PhraseHit("neuromodulator", "Botox", 0, 1, exact=True),
        PhraseHit(None, "consult", 1, 2, exact=True),
    ]


# --- several categories and overlaps ---------------------------------------------------------


def test_a_booking_can_hold_several_categories() -> None:
    assert classify("Microneedling + Botox") == MN | TOX


def test_longest_exact_hit_wins_over_overlapping_ones() -> None:
    hits = default_matcher().hits(tokenize("Anti-wrinkle injections"))
    assert [(hit.phrase, hit.start, hit.end, hit.exact) for hit in hits] == [
        ("anti-wrinkle injections", 0, 3, True)
    ]


def test_a_slip_does_not_swallow_the_next_word() -> None:
    """'Xeomin A Smith' must not become a misspelt 'xeomina' that eats the initial."""
    hits = default_matcher().hits(tokenize("Xeomin A Smith"))
    assert [(hit.start, hit.end) for hit in hits] == [(0, 1)]


def test_phrases_spelled_the_same_after_normalisation_are_one_hit() -> None:
    hits = default_matcher().hits(tokenize("micro-needling"))
    assert hits == [PhraseHit("microneedling", "microneedling", 0, 2, exact=True)]


# --- which booking text counts ---------------------------------------------------------------


def test_service_and_treatment_lines_of_the_description_count() -> None:
    matcher = default_matcher()
    assert matcher.categories("Jane Doe", "Booked online\nService: Botox 20u") == TOX
    assert matcher.categories("Jane Doe", "  treatment :  SkinPen") == MN


def test_other_description_text_does_not_count() -> None:
    description = "Asked about Botox\nNotes: wants microneedling next time"
    assert default_matcher().categories("Jane Doe - Facial", description) == NONE


def test_exclusion_in_a_service_line_cancels_the_title_match() -> None:
    assert default_matcher().categories("Botox - Jane Doe", "Service: Consultation") == NONE


def test_the_flag_block_is_never_read_as_booking_text() -> None:
    description = f"Service: Botox\n{FLAG_BEGIN}\nService: Microneedling\n{FLAG_END}\n"
    assert default_matcher().categories("Jane Doe", description) == TOX


def test_title_and_service_line_categories_add_up() -> None:
    assert default_matcher().categories("Microneedling", "Service: Dysport") == MN | TOX


# --- name words for patient extraction -------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "words"),
    [
        ("Botox 20u - Jane Doe", ("jane", "doe")),
        ("Jane Doe — Microneedling (SkinPen®) #2", ("jane", "doe")),
        ("Follow-up: Botox w/ Anna-Maria López", ("anna", "maria", "lopez")),
        ("Microneedling + Botox | O'Brien, Siobhan", ("o'brien", "siobhan")),
        ("Botox consult for Jane Doe", ("jane", "doe")),
        ("Dysport 50 units 2nd session with Tom Reed", ("tom", "reed")),
        ("Touch up appointment x2 - Lee Chan 1 vial", ("lee", "chan")),
        ("Xeomen top-up review: Mary Ann Smith", ("mary", "ann", "smith")),
        ("New patient: Ana Ruiz 20iu", ("ana", "ruiz")),
    ],
)
def test_name_words_are_what_is_left_of_a_title(title: str, words: tuple[str, ...]) -> None:
    assert name_words(title, default_matcher()) == words


def test_unit_letters_stay_when_not_next_to_a_number() -> None:
    """'U' or 'X' alone may be an initial; only '20 u' or 'x2' is a unit or a count."""
    assert name_words("Botox - Jane X Doe", default_matcher()) == ("jane", "x", "doe")


# --- properties ------------------------------------------------------------------------------

_TITLES = st.sampled_from(
    [
        "Botox 20u - Jane Doe",
        "Microneedling (SkinPen®) - Ana López",
        "Xeomen top-up",
        "Botox consult",
        "Detox facial - Tom",
        "Morpheus 8 | O'Brien",
        "Jane Doe",
    ]
)
_SEPARATORS = st.text(alphabet=" -/|,.:;()[]#+&®™💉✨🙂\t", max_size=4)


def _flip_case(text: str, flips: list[bool]) -> str:
    return "".join(
        char.swapcase() if flip else char for char, flip in zip(text, flips, strict=False)
    )


@given(_TITLES, st.lists(st.booleans(), min_size=40, max_size=40))
def test_matching_ignores_case(title: str, flips: list[bool]) -> None:
    assert classify(_flip_case(title, flips)) == classify(title)


@given(_TITLES, _SEPARATORS, _SEPARATORS)
def test_matching_ignores_separators_and_emoji_around_the_title(
    title: str, before: str, after: str
) -> None:
    assert classify(f"{before}{title}{after}") == classify(title)


_WORDS = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789'", min_size=1, max_size=10),
    max_size=4,
)


@given(
    st.sampled_from(_phrases("microneedling") + _phrases("neuromodulator")),
    _WORDS,
    _WORDS,
    _SEPARATORS,
)
def test_a_phrase_inserted_among_other_words_matches(
    phrase: str, before: list[str], after: list[str], separator: str
) -> None:
    """Words that name no treatment and no exclusion never hide a phrase put among them."""
    assume(not default_matcher().hits(tokenize(" ".join(before + after))))
    sep = separator if separator.strip() else " "
    title = sep.join([*before, f" {phrase} ", *after])
    category = "microneedling" if phrase in _phrases("microneedling") else "neuromodulator"
    assert category in classify(title)


def _long_phrases() -> list[tuple[str, str]]:
    return [
        ("".join(tokenize(phrase)), category.name)
        for category in default_policy().categories
        for phrase in category.phrases
        if len("".join(tokenize(phrase))) >= 6
    ]


@st.composite
def _one_slip(draw: st.DrawFn) -> tuple[str, str]:
    """A long phrase with one edit, then cut by spaces anywhere: (title, category)."""
    key, category = draw(st.sampled_from(_long_phrases()))
    at = draw(st.integers(0, len(key) - 1))
    letter = draw(st.sampled_from("abcdefghijklmnopqrstuvwxyz"))
    edits = [
        key[:at] + key[at + 1 :],
        key[:at] + letter + key[at:],
        key[:at] + letter + key[at + 1 :],
        key[:at] + key[at + 1 : at + 2] + key[at : at + 1] + key[at + 2 :],
    ]
    edited = draw(st.sampled_from(edits))
    cuts = draw(st.sets(st.integers(1, len(edited) - 1), max_size=3))
    bounds = [0, *sorted(cuts), len(edited)]
    pieces = [edited[i:j] for i, j in pairwise(bounds)]
    return " ".join(pieces), category


@given(_one_slip())
def test_any_one_slip_in_a_long_phrase_matches_however_it_is_spaced(
    slip: tuple[str, str],
) -> None:
    """Unless a piece is itself another exact phrase ("xeo MN"): exact hits win overlaps."""
    title, category = slip
    hits = default_matcher().hits(tokenize(title))
    assume(not any(hit.exact and hit.category != category for hit in hits))
    assert category in classify(f"{title} - Jane Doe")


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12))
def test_random_words_far_from_the_vocabulary_match_nothing(word: str) -> None:
    matcher = default_matcher()
    assume(not matcher.hits(tokenize(word)))
    assert classify(f"{word} - Jane Doe") == NONE
