"""A policy written back as TOML, and read from the editor's form, is the policy (SPEC §3).

The policy editor stores TOML it writes itself (``render_policy``, the form's
``draft_text``); both must read back, through the one loader, as exactly the policy they
were made from, whatever text a clinic typed.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.model import Category, Policy, Rule
from rules.policy import PolicyError, parse_policy
from sync.clinics.model import ClinicSettings
from sync.policy_file import default_policy_text, render_policy
from sync.usecases.policy_draft import draft_of, draft_text

# Any text with a letter or digit to match (what the loader asks of a phrase).
words = st.text(min_size=1, max_size=12).filter(lambda t: any(c.isalnum() for c in t))
names = st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True)


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    category_names = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    categories = [
        Category(name, draw(words), tuple(draw(st.lists(words, min_size=1, max_size=3))),
                 tuple(draw(st.lists(words, max_size=2))))
        for name in category_names
    ]  # fmt: skip
    rules = []
    for number in range(draw(st.integers(min_value=1, max_value=4))):
        low = draw(st.integers(min_value=0, max_value=200))
        rules.append(
            Rule(
                name=f"rule-{number}", earlier=draw(st.sampled_from(category_names)),
                later=draw(st.sampled_from(category_names)), min_days=low,
                ideal_days=(low, low + draw(st.integers(min_value=0, max_value=60))),
                description=draw(st.text(max_size=20)), source=draw(st.text(max_size=20)),
            )
        )  # fmt: skip
    text = render_policy(Policy(tuple(categories), tuple(rules), name="x"))
    return parse_policy(text.replace('name = "x"', f"name = {_quoted(draw(words))}"), "gen")


def _quoted(text: str) -> str:
    from sync.policy_file import toml_string

    return toml_string(text)


def _same(read: Policy, policy: Policy) -> None:
    assert replace(read, source=policy.source) == policy


def test_the_shipped_policy_renders_back_to_itself() -> None:
    policy = parse_policy(default_policy_text(), "shipped")
    _same(parse_policy(render_policy(policy), "rendered"), policy)


@given(policies())
def test_any_policy_renders_back_to_itself(policy: Policy) -> None:
    _same(parse_policy(render_policy(policy), "rendered"), policy)


@given(policies())
def test_any_policy_shown_in_the_form_reads_back_to_itself(policy: Policy) -> None:
    text, _ = draft_text(draft_of(policy, ClinicSettings()))
    _same(parse_policy(text, "the form"), policy)


def test_a_category_only_switched_off_rules_name_is_dormant_and_one_no_rule_names_is_read() -> None:
    text = (
        '[categories.a]\nphrases = ["alpha"]\n[categories.b]\nphrases = ["beta"]\n'
        '[categories.c]\nphrases = ["gamma"]\n'
        '[[rules]]\nname = "on"\nearlier = "a"\nlater = "a"\nmin_days = 1\nideal_days = [1, 2]\n'
        '[[rules]]\nname = "off"\nearlier = "b"\nlater = "a"\nmin_days = 1\nideal_days = [1, 2]\n'
        "enabled = false\n"
    )
    policy = parse_policy(text, "p.toml")
    assert [c.name for c in policy.categories] == ["a", "c"]
    assert [c.name for c in policy.dormant] == ["b"]
    assert [r.name for r in policy.switched_off] == ["off"]


def test_enabled_must_be_true_or_false() -> None:
    text = default_policy_text().replace("enabled = false", 'enabled = "no"', 1)
    with pytest.raises(PolicyError) as raised:
        parse_policy(text, "p.toml")
    assert raised.value.problem == "'enabled' must be true or false, not \"no\""
    assert text.splitlines()[raised.value.line - 1] == 'enabled = "no"'  # type: ignore[operator]
