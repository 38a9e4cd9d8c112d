"""Reading policy files: the default content and clear errors for broken files (SPEC §3)."""

from __future__ import annotations

from importlib.resources import files

import pytest

from rules.model import Category, Rule
from rules.policy import DEFAULT_SERVICES, PolicyError, parse_policy

DEFAULT_TEXT = (files("rules") / "default_policy.toml").read_text(encoding="utf-8")

GOOD = """\
name = "test"
exclusions = ["consult"]

[categories.mn]
label = "Microneedling"
phrases = [
    "microneedling",
    "SkinPen",
]

[categories.tox]
label = "Botox"
phrases = ["Botox"]
exclusions = ["top-up"]

[[rules]]
name = "tox-after-mn"
earlier = "mn"
later = "tox"
min_days = 14
ideal_days = [14, 28]
"""


def broken(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new, 1)


def error_of(text: str) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "clinic.toml")
    return caught.value


# --- the default policy ----------------------------------------------------------------------


def test_default_policy_encodes_spec_section_3_exactly() -> None:
    policy = parse_policy(DEFAULT_TEXT, "default_policy.toml")
    assert policy.name == "default"
    assert policy.source == "default_policy.toml"
    assert policy.exclusions == (
        "consult",
        "consultation",
        "cancelled",
        "canceled",
        "no-show",
        "no show",
    )
    assert policy.categories == (
        Category(
            "microneedling",
            "Microneedling",
            (
                "microneedling",
                "micro-needling",
                "micro needling",
                "MN",
                "collagen induction therapy",
                "CIT",
                "SkinPen",
                "Dermapen",
                "RejuvaPen",
                "Morpheus8",
                "Potenza",
                "Vivace",
                "Secret RF",
                "RF microneedling",
                "fractional RF",
                "PRP microneedling",
                "vampire facial",
            ),
        ),
        Category(
            "neuromodulator",
            "Botox",
            (
                "Botox",
                "Dysport",
                "Xeomin",
                "Jeuveau",
                "Daxxify",
                "Letybo",
                "Nabota",
                "Bocouture",
                "Azzalure",
                "Relfydess",
                "botulinum",
                "BTX-A",
                "BoNT-A",
                "neurotoxin",
                "neuromodulator",
                "toxin",
                "tox",
                "anti-wrinkle injection",
                "anti-wrinkle injections",
                "wrinkle relaxing injection",
                "wrinkle relaxing injections",
            ),
        ),
    )
    (rule,) = policy.rules
    assert (rule.earlier, rule.later, rule.min_days, rule.ideal_days) == (
        "microneedling",
        "neuromodulator",
        14,
        (14, 28),
    )
    assert rule.description


def test_a_valid_file_builds_the_core_records() -> None:
    policy = parse_policy(GOOD, "clinic.toml")
    assert policy.category("tox") == Category("tox", "Botox", ("Botox",), ("top-up",))
    assert policy.rules == (Rule("tox-after-mn", "mn", "tox", 14, (14, 28)),)
    assert policy.source == "clinic.toml"


def test_label_defaults_to_the_category_name() -> None:
    policy = parse_policy(broken('label = "Botox"\n', ""))
    assert policy.category("tox").label == "tox"


def test_a_rule_may_pair_any_categories_including_one_with_itself() -> None:
    text = GOOD + '\n[[rules]]\nname = "tox-gap"\nearlier = "tox"\nlater = "tox"\n'
    text += "min_days = 90\nideal_days = [90, 120]\n"
    assert [rule.name for rule in parse_policy(text).rules] == ["tox-after-mn", "tox-gap"]


# --- broken files: each names the file, the line and the problem ------------------------------


def test_error_message_reads_source_line_problem() -> None:
    error = error_of(broken("min_days = 14", "min_days = -1"))
    assert (error.source, error.line) == ("clinic.toml", 20)
    assert str(error) == f"clinic.toml:20: {error.problem}"
    assert isinstance(error, ValueError)


def test_toml_syntax_error_gives_its_line() -> None:
    error = error_of(broken('label = "Botox"', "label = Botox"))
    assert error.line == 12
    assert error.problem.startswith("not valid TOML: ")
    assert "column" in error.problem


def test_unterminated_array_is_a_syntax_error_with_a_line() -> None:
    error = error_of(broken('    "SkinPen",\n]', '    "SkinPen",\n'))
    assert error.line is not None
    assert "not valid TOML" in error.problem


def test_unknown_top_level_key_is_rejected() -> None:
    error = error_of(broken('name = "test"', 'name = "test"\nexclusion = ["x"]'))
    assert error.line == 2
    assert "unknown key 'exclusion'" in error.problem
    assert "the top level" in error.problem


def test_unknown_key_in_a_category_is_rejected() -> None:
    error = error_of(broken('phrases = ["Botox"]', 'phrase = ["Botox"]'))
    assert error.line == 13
    assert "unknown key 'phrase' in [categories.tox]" in error.problem
    assert "allowed: label, phrases, exclusions" in error.problem


def test_unknown_key_in_a_rule_is_rejected() -> None:
    error = error_of(broken("min_days = 14", "min_days = 14\nmax_days = 30"))
    assert error.line == 21
    assert "unknown key 'max_days' in [[rules]] block #1" in error.problem


def test_a_single_bracket_rules_table_gets_a_hint() -> None:
    error = error_of(broken("[[rules]]", "[rules]"))
    assert error.line == 16
    assert "[[rules]] blocks (double brackets)" in error.problem


def test_missing_key_points_at_its_table() -> None:
    error = error_of(broken('later = "tox"\n', ""))
    assert error.line == 16
    assert error.problem == "missing key 'later' in [[rules]] block #1"


def test_wrong_type_says_what_was_expected() -> None:
    error = error_of(broken("min_days = 14", 'min_days = "fourteen"'))
    assert error.line == 20
    assert error.problem == "'min_days' must be a whole number, not \"fourteen\""


def test_a_fractional_number_of_days_is_rejected() -> None:
    error = error_of(broken("min_days = 14", "min_days = 14.5"))
    assert error.line == 20
    assert "whole number" in error.problem


def test_wrong_type_of_a_phrase_points_at_its_own_line() -> None:
    error = error_of(broken('    "SkinPen",', "    42,"))
    assert error.line == 8
    assert "item #2 of 'phrases' must be text in quotes, not 42" in error.problem


def test_empty_phrase_list_is_rejected() -> None:
    error = error_of(broken('phrases = ["Botox"]', "phrases = []"))
    assert error.line == 13
    assert error.problem == "category 'tox' has no phrases: list at least one"


def test_phrase_without_letters_points_at_its_item_line() -> None:
    error = error_of(broken('    "SkinPen",', '    "®",'))
    assert error.line == 8
    assert "phrase '®' has no letters or digits" in error.problem


def test_negative_min_days_is_rejected() -> None:
    error = error_of(broken("min_days = 14", "min_days = -1"))
    assert error.line == 20
    assert "min_days must be 0 or more, not -1" in error.problem


@pytest.mark.parametrize("days", ["[14]", "[14, 21, 28]", "[]"])
def test_ideal_days_must_be_two_numbers(days: str) -> None:
    error = error_of(broken("ideal_days = [14, 28]", f"ideal_days = {days}"))
    assert error.line == 21
    assert "ideal_days must be two numbers [low, high]" in error.problem


def test_ideal_window_must_not_end_before_it_starts() -> None:
    error = error_of(broken("ideal_days = [14, 28]", "ideal_days = [28, 14]"))
    assert error.line == 21
    assert "starts after it ends" in error.problem


def test_ideal_window_must_not_break_the_minimum() -> None:
    error = error_of(broken("ideal_days = [14, 28]", "ideal_days = [7, 28]"))
    assert error.line == 21
    assert "before min_days 14" in error.problem


def test_rule_naming_an_unknown_category_is_rejected() -> None:
    error = error_of(broken('earlier = "mn"', 'earlier = "microneedling"'))
    assert error.line == 18
    assert error.problem == (
        "rule 'tox-after-mn': earlier category 'microneedling' is not defined (defined: mn, tox)"
    )


def test_duplicate_rule_names_are_rejected_at_the_second_one() -> None:
    text = GOOD + '\n[[rules]]\nname = "tox-after-mn"\nearlier = "mn"\nlater = "tox"\n'
    text += "min_days = 7\nideal_days = [7, 14]\n"
    error = error_of(text)
    assert error.line == 24
    assert "two rules are named 'tox-after-mn'" in error.problem


def test_a_policy_without_rules_is_rejected() -> None:
    text = "rules = []\n" + GOOD[: GOOD.index("[[rules]]")]
    error = error_of(text)
    assert error.line == 1
    assert error.problem == "no rules: add at least one [[rules]] block"


def test_a_policy_with_no_rules_key_says_so_without_a_line() -> None:
    error = error_of(GOOD[: GOOD.index("[[rules]]")])
    assert error.line is None
    assert error.problem == "missing key 'rules' in the top level of the file"
    assert str(error) == "clinic.toml: missing key 'rules' in the top level of the file"


def test_category_names_are_plain_identifiers() -> None:
    error = error_of(broken("[categories.tox]", '[categories."Botox Shots"]'))
    assert error.line == 11
    assert "category name 'Botox Shots'" in error.problem


def test_the_first_problem_in_file_order_is_reported() -> None:
    text = broken("min_days = 14", "min_days = -1")
    text = text.replace('phrases = ["Botox"]', "phrases = []")
    assert error_of(text).line == 13


def test_comments_and_strings_with_brackets_do_not_confuse_line_numbers() -> None:
    text = broken(
        '    "SkinPen",',
        '    "Dermapen [pen]",  # a ] in a comment\n    "®",',
    )
    error = error_of(text)
    assert error.line == 9
    assert "'®'" in error.problem


def test_duplicates_after_normalisation_are_accepted() -> None:
    text = broken('    "SkinPen",', '    "SkinPen",\n    "Skin-Pen",\n    "skin pen",')
    assert parse_policy(text).category("mn").phrases[-2:] == ("Skin-Pen", "skin pen")


# --- the clinic's other services (SPEC §4 point 4) --------------------------------------------


def test_services_are_read_from_the_file() -> None:
    policy = parse_policy(broken('exclusions = ["consult"]', 'services = ["Lip flip", "Peel"]'))
    assert policy.services == ("Lip flip", "Peel")


def test_a_file_without_services_gets_the_default_list() -> None:
    """Policy files written before services existed keep working, with SPEC §4's list."""
    assert parse_policy(GOOD).services == DEFAULT_SERVICES


def test_an_empty_services_list_means_none() -> None:
    assert parse_policy(broken('name = "test"', 'name = "test"\nservices = []')).services == ()


def test_a_service_without_letters_points_at_its_line() -> None:
    error = error_of(
        broken('name = "test"', 'name = "test"\nservices = [\n    "Peel",\n    "+",\n]')
    )
    assert (error.line, error.problem) == (4, "service '+' has no letters or digits to match")


def test_services_must_be_a_list_of_text() -> None:
    error = error_of(broken('name = "test"', 'name = "test"\nservices = "Peel"'))
    assert error.line == 2
    assert error.problem == "'services' must be a list in square brackets, not \"Peel\""
