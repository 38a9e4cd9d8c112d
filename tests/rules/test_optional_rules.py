"""The optional rules the shipped policy offers switched off, each with its source (SPEC §3, §5).

Neuromodulator re-treatment is a rule whose two categories are the same; "microneedling
after toxin or filler" runs the other way from the shipped rule. The engine handles both
as it is; these tests pin it, against an all-pairs oracle too.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from rules.model import Booking, Policy
from rules.optional_rules import FILLER, OPTIONAL_RULES
from rules.vocabulary import Matcher
from tests.factories import TODAY, booking, pairs, run

RETREATMENT = "neuromodulator-retreatment"
AFTER_TOXIN = "microneedling-after-neuromodulator"
AFTER_FILLER = "microneedling-after-filler"
SHIPPED = "botox-after-microneedling"


def _all_on(policy: Policy) -> Policy:
    """``policy`` with every switched-off rule on (and the categories they name read)."""
    return replace(
        policy,
        categories=policy.categories + policy.dormant,
        rules=policy.rules + policy.switched_off,
        switched_off=(),
        dormant=(),
    )


def test_the_shipped_policy_offers_the_optional_rules_switched_off(default_policy: Policy) -> None:
    assert default_policy.switched_off == OPTIONAL_RULES
    assert default_policy.dormant == (FILLER,)
    assert [rule.name for rule in default_policy.rules] == [SHIPPED]
    assert all(rule.source for rule in OPTIONAL_RULES)
    assert "https://hcp.botoxcosmetic.com/product-information" in OPTIONAL_RULES[0].source


def test_switched_off_rules_find_nothing_and_their_dormant_category_is_not_read(
    default_policy: Policy,
) -> None:
    bookings = [
        booking("t1", "2026-11-01", "Botox - Jane Doe"),
        booking("t2", "2026-11-20", "Botox - Jane Doe"),
        booking("f", "2026-11-21", "Lip filler 1ml - Jane Doe"),
        booking("m", "2026-11-22", "Microneedling - Jane Doe"),
    ]
    assert pairs(run(bookings, default_policy)) == set()
    assert Matcher(default_policy).categories("Lip filler 1ml - Jane Doe", "") == frozenset()
    assert Matcher(_all_on(default_policy)).categories("Lip filler", "") == {"filler"}


def test_botox_again_within_90_days_conflicts_once_per_pair_and_at_90_days_it_does_not(
    default_policy: Policy,
) -> None:
    bookings = [
        booking("a", "2026-07-01", "Botox - Jane Doe"),
        booking("b", "2026-08-29", "Dysport - Jane Doe"),  # 59 days after a
        booking("c", "2026-11-27", "Botox - Jane Doe"),  # 90 days after b
    ]
    found = {p for p in pairs(run(bookings, _all_on(default_policy))) if p[0] == RETREATMENT}
    assert found == {(RETREATMENT, "a", "b", 59)}


def test_microneedling_soon_after_toxin_or_filler_conflicts_the_reverse_of_the_shipped_rule(
    default_policy: Policy,
) -> None:
    bookings = [
        booking("t", "2026-11-01", "Botox - Jane Doe"),
        booking("f", "2026-11-03", "Dermal filler - Jane Doe"),
        booking("m", "2026-11-10", "Microneedling - Jane Doe"),
    ]
    assert pairs(run(bookings, _all_on(default_policy))) == {
        (AFTER_TOXIN, "t", "m", 9),
        (AFTER_FILLER, "f", "m", 7),
    }
    assert pairs(run(bookings, default_policy)) == set()  # off by default


TITLES = ("Botox", "Dysport 20u", "Microneedling", "Lip filler", "Microneedling + Botox", "Peel")
PATIENTS = ("Jane Doe", "John Roe")


@st.composite
def clinics(draw: st.DrawFn) -> list[Booking]:
    count = draw(st.integers(min_value=0, max_value=12))
    return [
        booking(
            f"b{index}",
            TODAY + timedelta(days=draw(st.integers(min_value=-150, max_value=150))),
            f"{draw(st.sampled_from(TITLES))} - {draw(st.sampled_from(PATIENTS))}",
        )
        for index in range(count)
    ]


def _oracle(bookings: list[Booking], policy: Policy) -> set[tuple[str, str, str]]:
    """Every ordered pair checked one by one (a booking with itself too), per rule."""
    matcher = Matcher(policy)
    found = set()
    for rule in policy.rules:
        for first in bookings:
            for second in bookings:
                if first.summary.split(" - ")[1] != second.summary.split(" - ")[1]:
                    continue
                gap = (second.day - first.day).days
                if not (
                    rule.earlier in matcher.categories(first.summary, "")
                    and rule.later in matcher.categories(second.summary, "")
                    and 0 <= gap < rule.min_days
                ):
                    continue
                same_category = rule.earlier == rule.later
                if not same_category or (first.day, first.id) < (second.day, second.id):
                    found.add((rule.name, first.id, second.id))
    return found


@given(clinics())
def test_with_every_optional_rule_on_detection_equals_checking_every_pair(
    default_policy: Policy, bookings: list[Booking]
) -> None:
    policy = _all_on(default_policy)
    assert {c.key for c in run(bookings, policy).conflicts} == _oracle(bookings, policy)
