"""Conflict detection (SPEC §5)."""

from __future__ import annotations

from datetime import date

from rules.model import Category, Policy
from tests.factories import booking, guest, pairs, rule, run

RULE = "botox-after-microneedling"


def test_botox_inside_fourteen_days_after_microneedling_conflicts(default_policy: Policy) -> None:
    result = run(
        [
            booking("mn", "2026-12-01", "Microneedling - Jane Doe"),
            booking("bo", "2026-12-08", "Botox - Jane Doe"),
        ],
        default_policy,
    )
    (conflict,) = result.conflicts
    assert (conflict.earlier.id, conflict.later.id, conflict.gap_days) == ("mn", "bo", 7)
    assert conflict.earliest_eligible == date(2026, 12, 15)
    assert conflict.ideal_window == (date(2026, 12, 15), date(2026, 12, 29))


def test_gap_of_exactly_min_days_is_allowed_and_one_less_is_not(default_policy: Policy) -> None:
    def gap(days: int) -> set[tuple[str, str, str, int]]:
        later = date.fromordinal(date(2026, 12, 1).toordinal() + days)
        return pairs(
            run(
                [
                    booking("mn", "2026-12-01", "MN - Jane Doe"),
                    booking("bo", later, "Botox - Jane Doe"),
                ],
                default_policy,
            )
        )

    assert gap(13) == {(RULE, "mn", "bo", 13)}
    assert gap(14) == set()
    assert gap(40) == set()


def test_botox_before_microneedling_is_not_a_conflict(default_policy: Policy) -> None:
    result = run(
        [
            booking("bo", "2026-12-01", "Botox - Jane Doe"),
            booking("mn", "2026-12-03", "Microneedling - Jane Doe"),
        ],
        default_policy,
    )
    assert result.conflicts == []


def test_same_day_counts_as_gap_zero_whichever_starts_first(default_policy: Policy) -> None:
    result = run(
        [
            booking("bo", "2026-12-01", "Botox - Jane Doe"),
            booking("mn", "2026-12-01", "Microneedling - Jane Doe"),
        ],
        default_policy,
    )
    assert pairs(result) == {(RULE, "mn", "bo", 0)}


def test_one_booking_with_both_treatments_conflicts_with_itself(default_policy: Policy) -> None:
    result = run(
        [booking("both", "2026-12-01", "Microneedling + Botox - Jane Doe")], default_policy
    )
    assert pairs(result) == {(RULE, "both", "both", 0)}


def test_other_patients_never_conflict(default_policy: Policy) -> None:
    result = run(
        [
            booking("mn", "2026-12-01", "Microneedling - Jane Doe"),
            booking("bo", "2026-12-05", "Botox - John Roe"),
        ],
        default_policy,
    )
    assert result.conflicts == []


def test_cancelled_declined_and_excluded_bookings_are_ignored(default_policy: Policy) -> None:
    jane = guest("jane@example.com", response="declined")
    result = run(
        [
            booking("mn", "2026-12-01", "Microneedling - Jane Doe"),
            booking("c1", "2026-12-03", "Botox - Jane Doe", cancelled=True),
            booking("c2", "2026-12-04", "Botox - Jane Doe", attendees=(jane,)),
            booking("c3", "2026-12-05", "Botox consult - Jane Doe"),
            booking("c4", "2026-12-06", "No-show: Botox - Jane Doe"),
        ],
        default_policy,
    )
    assert result.conflicts == []
    reasons = {s.uid: s.reason for s in result.skipped}
    assert reasons == {"c1": "cancelled", "c2": "declined by the patient"}


def test_bookings_outside_the_scan_horizon_are_ignored(default_policy: Policy) -> None:
    old = [
        booking("mn", "2026-01-01", "MN - Jane Doe"),
        booking("bo", "2026-01-05", "Botox - Jane Doe"),
    ]
    far = [
        booking("mn2", "2028-01-01", "MN - Jane Doe"),
        booking("bo2", "2028-01-05", "Botox - Jane Doe"),
    ]
    assert run(old + far, default_policy).conflicts == []


def test_each_earlier_booking_inside_the_window_gives_its_own_conflict(
    default_policy: Policy,
) -> None:
    result = run(
        [
            booking("mn1", "2026-12-01", "Microneedling - Jane Doe"),
            booking("mn2", "2026-12-06", "Dermapen - Jane Doe"),
            booking("mn0", "2026-11-01", "SkinPen - Jane Doe"),
            booking("bo", "2026-12-10", "Botox - Jane Doe"),
        ],
        default_policy,
    )
    assert pairs(result) == {(RULE, "mn1", "bo", 9), (RULE, "mn2", "bo", 4)}


def test_past_conflicts_are_still_reported_for_audit(default_policy: Policy) -> None:
    result = run(
        [
            booking("mn", "2026-10-01", "MN - Jane Doe"),
            booking("bo", "2026-10-03", "Botox - Jane Doe"),
        ],
        default_policy,
    )
    assert pairs(result) == {(RULE, "mn", "bo", 2)}


def _two_rule_policy() -> Policy:
    return Policy(
        categories=(
            Category("peel", "Chemical peel", ("peel",)),
            Category("filler", "Filler", ("filler",)),
            Category("laser", "Laser", ("laser",)),
        ),
        rules=(
            rule("filler-after-peel", "peel", "filler", 7, (7, 10)),
            rule("laser-after-filler", "filler", "laser", 21, (21, 30)),
            rule("filler-spacing", "filler", "filler", 30, (30, 60)),
        ),
    )


def test_engine_is_generic_over_any_rules_and_categories() -> None:
    result = run(
        [
            booking("p", "2026-12-01", "Peel - Jane Doe"),
            booking("f1", "2026-12-03", "Filler - Jane Doe"),
            booking("f2", "2026-12-20", "Filler - Jane Doe"),
            booking("l", "2026-12-25", "Laser - Jane Doe"),
        ],
        _two_rule_policy(),
    )
    assert pairs(result) == {
        ("filler-after-peel", "p", "f1", 2),
        ("laser-after-filler", "f2", "l", 5),
        ("filler-spacing", "f1", "f2", 17),
    }


def test_same_category_rule_pairs_each_two_bookings_once_and_never_itself() -> None:
    result = run(
        [
            booking("f1", "2026-12-03", "Filler - Jane Doe"),
            booking("f2", "2026-12-03", "Filler - Jane Doe"),
        ],
        _two_rule_policy(),
    )
    assert pairs(result) == {("filler-spacing", "f1", "f2", 0)}
