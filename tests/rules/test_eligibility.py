"""Eligibility windows (SPEC §7)."""

from __future__ import annotations

from datetime import date

from rules.model import Category, Policy
from tests.factories import booking, rule, run

D = date.fromisoformat


def test_eligible_from_the_day_min_days_after_microneedling(default_policy: Policy) -> None:
    result = run([booking("mn", "2026-12-01", "Microneedling - Jane Doe")], default_policy)
    (item,) = result.eligibility
    assert item.eligible_from == D("2026-12-15")
    assert item.ideal == ((D("2026-12-15"), D("2026-12-29")),)
    assert item.category == "neuromodulator"
    assert item.patient.label == "Jane Doe"


def test_a_second_microneedling_pushes_eligibility_back(default_policy: Policy) -> None:
    result = run(
        [
            booking("mn1", "2026-12-01", "Microneedling - Jane Doe"),
            booking("mn2", "2026-12-10", "Microneedling - Jane Doe"),
        ],
        default_policy,
    )
    by_after = {item.after.id: item for item in result.eligibility}
    assert by_after["mn1"].eligible_from == D("2026-12-24")
    assert by_after["mn1"].ideal == ((D("2026-12-24"), D("2026-12-29")),)
    assert by_after["mn2"].eligible_from == D("2026-12-24")


def test_ideal_window_is_clipped_to_today_and_the_horizon(default_policy: Policy) -> None:
    result = run(
        [booking("mn", "2026-11-20", "MN - Jane Doe")], default_policy, today=D("2026-12-06")
    )
    (item,) = result.eligibility
    assert item.eligible_from == D("2026-12-04")
    assert item.ideal == ((D("2026-12-06"), D("2026-12-18")),)


def test_long_past_microneedling_gives_no_eligibility(default_policy: Policy) -> None:
    result = run([booking("mn", "2026-09-01", "MN - Jane Doe")], default_policy)
    assert result.eligibility == []


def test_microneedling_beyond_the_feed_horizon_gives_no_eligibility(
    default_policy: Policy,
) -> None:
    result = run([booking("mn", "2027-06-01", "MN - Jane Doe")], default_policy)
    assert result.eligibility == []


def test_more_rules_can_split_the_ideal_window() -> None:
    policy = Policy(
        categories=(
            Category("mn", "Microneedling", ("microneedling",)),
            Category("tox", "Botox", ("botox",)),
            Category("lift", "Thread lift", ("thread lift",)),
        ),
        rules=(
            rule("tox-after-mn", "mn", "tox", 14, (14, 28)),
            # Botox must also stay three days clear before a thread lift.
            rule("lift-after-tox", "tox", "lift", 3, (3, 10)),
        ),
    )
    result = run(
        [
            booking("mn", "2026-12-01", "Microneedling - Jane Doe"),
            booking("lift", "2026-12-20", "Thread lift - Jane Doe"),
        ],
        policy,
    )
    (item,) = [e for e in result.eligibility if e.rule.name == "tox-after-mn"]
    assert item.eligible_from == D("2026-12-15")
    assert item.ideal == (
        (D("2026-12-15"), D("2026-12-17")),
        (D("2026-12-21"), D("2026-12-29")),
    )
