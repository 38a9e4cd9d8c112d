"""Why a conflict resolved, in plain words (SPEC §5)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from rules.model import Policy
from rules.patients import IdentityOptions, ReadBooking, TitleNames, identify
from rules.resolution import resolution_reason
from rules.vocabulary import Matcher
from tests.factories import booking, guest


@pytest.fixture
def read(matcher: Matcher):  # type: ignore[no-untyped-def]
    titles = TitleNames(matcher)

    def reader(uid: str, day: str, title: str, **extra: object) -> ReadBooking:
        b = booking(uid, day, title, **extra)  # type: ignore[arg-type]
        return ReadBooking(b, identify(b, titles, IdentityOptions()), matcher.categories(title, ""))

    return reader


def test_reasons_name_what_changed(default_policy: Policy, read) -> None:  # type: ignore[no-untyped-def]
    rule = default_policy.rules[0]
    mn = read("mn", "2026-12-01", "Microneedling - Jane Doe")
    bo = read("bo", "2026-12-05", "Botox - Jane Doe")

    def why(earlier: ReadBooking | None, later: ReadBooking | None, same: bool = True) -> str:
        return resolution_reason(rule, earlier, later, same_patient=same)

    assert why(None, bo) == "earlier booking deleted"
    assert why(mn, replace(bo, booking=replace(bo.booking, cancelled=True))) == (
        "later booking cancelled"
    )
    declined = read(
        "bo",
        "2026-12-05",
        "Botox - Jane Doe",
        attendees=(guest("j@example.com", response="declined"),),
    )
    assert why(mn, declined) == "later booking declined by the patient"
    assert why(mn, read("bo", "2026-12-05", "Hydrafacial - Jane Doe")) == (
        "later booking no longer reads as neuromodulator (retitled)"
    )
    assert why(mn, bo, same=False) == "the two bookings are no longer the same patient"
    moved = replace(bo, booking=replace(bo.booking, day=bo.booking.day + timedelta(days=12)))
    assert why(mn, moved) == "moved: the gap is now 16 days (minimum 14)"
