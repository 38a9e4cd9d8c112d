"""A feed of many patients: one event per patient per stretch of days, no day lost (SPEC §7)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from rules.model import Booking, Eligibility, MatchKind, Patient, PatientKey, Policy
from sync.feeds.events import FeedEvent
from sync.feeds.merged import merged_events

START = date(2026, 12, 1)
STAMP = datetime(2026, 11, 26, tzinfo=UTC)
PATIENTS = [Patient(PatientKey(MatchKind.NAME, f"p{n}"), name=f"P{n}") for n in range(3)]


def day(offset: int) -> date:
    return START + timedelta(days=offset)


@st.composite
def eligibilities(draw: st.DrawFn, policy: Policy) -> list[Eligibility]:
    rule = policy.rules[0]
    items = []
    for index in range(draw(st.integers(1, 8))):
        patient = draw(st.sampled_from(PATIENTS))
        first = draw(st.integers(0, 40))
        windows = []
        low = first
        for _ in range(draw(st.integers(0, 3))):
            low += draw(st.integers(0, 6))
            high = low + draw(st.integers(0, 10))
            windows.append((day(low), day(high)))
            low = high + 2
        after = Booking(id=f"mn{index}", uid=f"mn{index}@x", calendar="Dr Smith", day=day(-14))
        items.append(Eligibility(patient, rule, rule.later, after, day(first), tuple(windows)))
    return items


def covered(events: list[FeedEvent]) -> set[date]:
    return {e.start + timedelta(days=n) for e in events for n in range((e.end - e.start).days)}


def wanted(items: list[Eligibility]) -> set[date]:
    days = {item.eligible_from for item in items}
    for item in items:
        for low, high in item.ideal:
            days |= {low + timedelta(days=n) for n in range((high - low).days + 1)}
    return days


@given(data=st.data())
def test_no_two_events_of_one_patient_meet_and_every_day_stays(
    data: st.DataObject, default_policy: Policy
) -> None:
    items = data.draw(eligibilities(default_policy))
    labels = {p.key: p.name or "" for p in PATIENTS}
    events = merged_events(
        items, default_policy, namespace="1", labels=labels, stamps={}, floor=STAMP
    )
    mine: dict[str, list[FeedEvent]] = defaultdict(list)
    for event in events:
        mine[event.summary].append(event)
    for patient in PATIENTS:
        own = sorted(mine.pop(f"Botox: {patient.name}", []), key=lambda e: e.start)
        for before, after in pairwise(own):
            assert before.end < after.start, "merged: no overlap, and touching spans are one"
        assert covered(own) == wanted([i for i in items if i.patient == patient])
    assert not mine, "every event is one patient's"
    assert len({e.uid for e in events}) == len(events)


def test_a_patients_eligible_day_and_ideal_window_are_one_event(default_policy: Policy) -> None:
    rule = default_policy.rules[0]
    after = Booking(id="mn1", uid="mn1@x", calendar="Dr Smith", day=day(-14))
    item = Eligibility(PATIENTS[0], rule, rule.later, after, day(0), ((day(0), day(14)),))
    [event] = merged_events(
        [item], default_policy, namespace="1", labels={}, stamps={}, floor=STAMP
    )
    assert (event.start, event.end, event.summary) == (day(0), day(15), "Botox: p0")
    assert "Botox from 2026-12-01, ideally 2026-12-01 to 2026-12-15" in event.description
