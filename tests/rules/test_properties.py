"""Invariants of detection and eligibility, checked on generated clinics (SPEC §5, §7)."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.assess import Assessment, Scope, assess
from rules.model import Booking, Policy
from rules.patients import IdentityOptions, TitleNames, identify
from rules.vocabulary import Matcher
from tests.factories import TODAY, booking, run

PATIENTS = ("Jane Doe", "John Roe", "Ana López", "Kim Lee")
TITLES = (
    "Microneedling",
    "Botox",
    "Hydrafacial",
    "Microneedling + Botox",
    "Botox consult",
    "SkinPen",
    "Dysport 20u",
)


@st.composite
def clinics(draw: st.DrawFn) -> list[Booking]:
    count = draw(st.integers(min_value=0, max_value=14))
    return [
        booking(
            f"b{index}",
            TODAY + timedelta(days=draw(st.integers(min_value=-40, max_value=80))),
            f"{draw(st.sampled_from(TITLES))} - {draw(st.sampled_from(PATIENTS))}",
        )
        for index in range(count)
    ]


def _keys(result: Assessment) -> set[tuple[str, str, str]]:
    return {c.key for c in result.conflicts}


def _oracle(bookings: list[Booking], policy: Policy, matcher: Matcher) -> set[tuple[str, str, str]]:
    """Every pair checked one by one: slow, obviously right, only for small inputs."""
    found = set()
    for rule in policy.rules:
        for first in bookings:
            for second in bookings:
                cats_first = matcher.categories(first.summary, "")
                cats_second = matcher.categories(second.summary, "")
                same = first.summary.split(" - ")[1] == second.summary.split(" - ")[1]
                gap = (second.day - first.day).days
                if (
                    same
                    and rule.earlier in cats_first
                    and rule.later in cats_second
                    and 0 <= gap < rule.min_days
                ):
                    found.add((rule.name, first.id, second.id))
    return found


@given(clinics())
def test_detection_equals_checking_every_pair(
    default_policy: Policy, matcher: Matcher, bookings: list[Booking]
) -> None:
    assert _keys(run(bookings, default_policy)) == _oracle(bookings, default_policy, matcher)


@given(clinics(), st.randoms(use_true_random=False))
def test_results_do_not_depend_on_input_order(
    default_policy: Policy, bookings: list[Booking], rnd: random.Random
) -> None:
    shuffled = list(bookings)
    rnd.shuffle(shuffled)
    first, second = run(bookings, default_policy), run(shuffled, default_policy)
    assert first.conflicts == second.conflicts
    assert first.eligibility == second.eligibility


@given(clinics())
def test_every_reported_gap_is_below_min_days(
    default_policy: Policy, bookings: list[Booking]
) -> None:
    for conflict in run(bookings, default_policy).conflicts:
        assert 0 <= conflict.gap_days < conflict.rule.min_days


@given(clinics())
@settings(deadline=None, max_examples=50)
def test_a_new_booking_on_an_eligible_day_breaks_no_rule(
    default_policy: Policy, bookings: list[Booking]
) -> None:
    result = run(bookings, default_policy)
    for item in result.eligibility:
        days = [item.eligible_from] + [
            lo + timedelta(days=k) for lo, hi in item.ideal for k in range((hi - lo).days + 1)
        ]
        for day in days:
            probe = booking("probe", day, f"Botox - {item.patient.label}")
            after = run([*bookings, probe], default_policy)
            assert not [c for c in after.conflicts if "probe" in (c.earlier.id, c.later.id)]


@given(
    st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=5),
    st.integers(min_value=0, max_value=40),
)
@settings(max_examples=60)
def test_moving_the_later_booking_further_out_never_adds_a_conflict(
    default_policy: Policy, mn_days: list[int], extra: int
) -> None:
    start = date(2026, 12, 1)
    mns = [
        booking(f"mn{i}", start + timedelta(days=d), "MN - Jane Doe") for i, d in enumerate(mn_days)
    ]
    botox_day = start + timedelta(days=max(mn_days))
    near = run([*mns, booking("bo", botox_day, "Botox - Jane Doe")], default_policy)
    far = run(
        [*mns, booking("bo", botox_day + timedelta(days=extra), "Botox - Jane Doe")], default_policy
    )
    assert _keys(far) <= _keys(near)


@given(clinics(), st.lists(st.booleans(), min_size=14, max_size=14))
def test_identities_read_before_give_the_assessment_reading_them_gives(
    default_policy: Policy, matcher: Matcher, bookings: list[Booking], read_before: list[bool]
) -> None:
    """A caller that identified some bookings already (a full re-check's stream) hands
    those identities over; the assessment is the one that reads every booking itself."""
    titles, options, scope = TitleNames(matcher), IdentityOptions(), Scope(today=TODAY)
    known = [
        identify(item, titles, options) if before else None
        for item, before in zip(bookings, read_before, strict=False)
    ]
    given_ = assess(bookings, default_policy, scope, matcher=matcher, identities=known)
    assert given_ == run(bookings, default_policy)


def test_an_identity_for_each_booking_or_none_at_all(
    default_policy: Policy, matcher: Matcher
) -> None:
    """Fewer identities than bookings is a caller's mistake, never a booking unread."""
    bookings = [booking("a", TODAY, "Botox - Jane Doe"), booking("b", TODAY, "Botox - Kim Lee")]
    with pytest.raises(ValueError, match="shorter"):
        assess(bookings, default_policy, Scope(today=TODAY), matcher=matcher, identities=[None])
