"""The generated clinic: deterministic for a seed, the advertised shape, a dozen conflicts."""

from __future__ import annotations

from datetime import date, timedelta

from sync.demo.clinic import generate_clinic

TODAY = date(2026, 11, 26)


def test_a_seed_and_a_day_give_the_same_clinic_every_time() -> None:
    first, again = generate_clinic(7, TODAY), generate_clinic(7, TODAY)
    assert [b.body for b in first.bookings] == [b.body for b in again.bookings]
    assert first.conflicts == again.conflicts
    other = generate_clinic(8, TODAY)
    assert [b.body for b in other.bookings] != [b.body for b in first.bookings]


def test_the_clinic_has_four_calendars_150_patients_and_600_bookings_in_five_months() -> None:
    clinic = generate_clinic(7, TODAY)
    seed = clinic.seed()
    assert [c.body["summary"] for c in seed.calendars] == [
        "Dr Patel",
        "Dr Okafor",
        "Nurse Kim",
        "Treatment Room 2",
    ]
    assert {c.body["timeZone"] for c in seed.calendars} == {"Europe/London"}
    assert len(clinic.patients) == 150
    assert len({p.name for p in clinic.patients}) == 150
    assert len(clinic.patient_bookings) == 600
    days = [b.slot.day for b in clinic.patient_bookings]
    assert min(days) >= TODAY - timedelta(days=60)
    assert max(days) <= TODAY + timedelta(days=90)


def test_the_clinic_is_written_the_messy_ways_staff_write() -> None:
    bodies = [b.body for b in generate_clinic(7, TODAY).bookings]
    titles = " ".join(body["summary"] for body in bodies)
    for written in ("Botox 20u", "SkinPen®", "Xeomen top-up w/", "Dysport/Botox", "💉", "consult"):
        assert written in titles
    assert any(body["status"] == "cancelled" for body in bodies)
    assert any("attendees" in body for body in bodies)
    assert any("extendedProperties" in body for body in bodies)
    assert any("date" in body["start"] for body in bodies)
    assert sum("recurrence" in body for body in bodies) == 2
    assert not any(ch.isdigit() for p in generate_clinic(7, TODAY).patients for ch in p.name)


def test_the_planned_conflicts_are_a_dozen_of_every_kind() -> None:
    planned = generate_clinic(7, TODAY).conflicts
    assert len(planned) == 12
    assert {c.gap for c in planned} <= set(range(14))
    assert sum(c.later_day < TODAY for c in planned) == 2
    assert any(c.earlier_id == c.later_id for c in planned)
    assert len({c.calendar for c in planned}) == 3
