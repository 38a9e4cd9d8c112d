"""The demo's live bookings are mostly ordinary, as a clinic's day is."""

from __future__ import annotations

from datetime import date
from itertools import islice

from sync.demo.clinic import generate_clinic
from sync.demo.live import ORDINARY_PER_CONFLICT, new_bookings


def test_one_live_booking_in_six_is_meant_to_conflict() -> None:
    clinic = generate_clinic(7, date(2026, 11, 26))
    stream = list(islice(new_bookings(clinic, 7), 120))
    conflicting = [b for b in stream if b.after is not None]
    assert stream[0].after is not None  # the first one shows a flag soon after the start
    assert len(conflicting) == 120 // (ORDINARY_PER_CONFLICT + 1)
    assert all("Botox" not in b.body["summary"] for b in stream if b.after is None)
