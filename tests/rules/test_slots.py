"""The first free slots to rebook on (rules.slots): examples and invariants."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.slots import (
    DEFAULT_HOURS,
    FALLBACK_DAYS,
    OpeningHours,
    SafeDate,
    free_slots,
    read_opening_hours,
    read_safe_date,
    render_safe_date,
    search_days,
)

LONDON = ZoneInfo("Europe/London")
MONDAY = date(2026, 3, 2)
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def _at(day: date, hour: int, minute: int = 0, zone: ZoneInfo = LONDON) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


def test_an_empty_calendar_offers_the_first_slots_of_the_first_open_day() -> None:
    slots = free_slots((MONDAY, MONDAY), [], DEFAULT_HOURS, LONDON, not_before=LONG_AGO)
    assert slots == (_at(MONDAY, 9), _at(MONDAY, 9, 30), _at(MONDAY, 10))


def test_a_booking_ending_on_a_slot_boundary_leaves_that_slot_free() -> None:
    busy = [(_at(MONDAY, 9), _at(MONDAY, 10))]
    slots = free_slots((MONDAY, MONDAY), busy, DEFAULT_HOURS, LONDON, not_before=LONG_AGO)
    assert slots[0] == _at(MONDAY, 10)


def test_a_busy_period_given_in_utc_blocks_the_local_slots_it_covers() -> None:
    summer = date(2026, 6, 1)  # London is UTC+1
    busy = [(datetime(2026, 6, 1, 8, 0, tzinfo=UTC), datetime(2026, 6, 1, 9, 15, tzinfo=UTC))]
    slots = free_slots((summer, summer), busy, DEFAULT_HOURS, LONDON, not_before=LONG_AGO)
    assert slots[0] == _at(summer, 10, 30)


def test_closed_days_are_skipped() -> None:
    sunday = date(2026, 3, 8)
    slots = free_slots(
        (sunday, sunday + timedelta(days=1)),
        [],
        DEFAULT_HOURS,
        LONDON,
        not_before=LONG_AGO,
        count=1,
    )
    assert slots == (_at(sunday + timedelta(days=1), 9),)


def test_slots_before_now_are_not_offered() -> None:
    now = _at(MONDAY, 17, 10)
    slots = free_slots((MONDAY, MONDAY), [], DEFAULT_HOURS, LONDON, not_before=now)
    assert slots == (_at(MONDAY, 17, 30),)


def test_a_full_window_offers_no_slot() -> None:
    busy = [(_at(MONDAY, 0), _at(MONDAY + timedelta(days=7), 0))]
    assert (
        free_slots(
            (MONDAY, MONDAY + timedelta(days=6)), busy, DEFAULT_HOURS, LONDON, not_before=LONG_AGO
        )
        == ()
    )


def test_the_search_is_the_ideal_window_from_the_earliest_eligible_day() -> None:
    earliest = date(2026, 3, 10)
    assert search_days(earliest, (date(2026, 3, 12), date(2026, 3, 20))) == (
        date(2026, 3, 12),
        date(2026, 3, 20),
    )
    assert search_days(earliest, (date(2026, 3, 1), date(2026, 3, 20))) == (
        earliest,
        date(2026, 3, 20),
    )


def test_an_ideal_window_ending_before_the_earliest_day_searches_two_weeks_from_it() -> None:
    earliest = date(2026, 3, 10)
    days = search_days(earliest, (date(2026, 3, 1), date(2026, 3, 5)))
    assert days == (earliest, earliest + timedelta(days=FALLBACK_DAYS - 1))


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("Mon-Sat 09:00-18:00/30", DEFAULT_HOURS),
        (
            "mon,wed,fri 08:30-17:00/20",
            OpeningHours(frozenset({0, 2, 4}), time(8, 30), time(17), 20),
        ),
        ("Tue 10:00-12:00", OpeningHours(frozenset({1}), time(10), time(12), 30)),
    ],
)
def test_opening_hours_are_read_as_typed_and_spelled_back(text: str, hours: OpeningHours) -> None:
    assert read_opening_hours(text) == hours
    assert read_opening_hours(hours.describe()) == hours


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Mon-Sat",
        "Sat-Mon 09:00-18:00",
        "Mon 18:00-09:00",
        "Mon 09:00-18:00/2",
        "Funday 09:00-10:00",
        "Mon 25:00-26:00",
    ],
)
def test_opening_hours_that_cannot_be_run_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"opening hours|weekday|closes after|slot is|hour must"):
        read_opening_hours(text)


@pytest.mark.parametrize(
    "safe",
    [
        SafeDate(MONDAY, MONDAY + timedelta(days=9), (_at(MONDAY, 9), _at(MONDAY, 14, 30))),
        SafeDate(MONDAY, MONDAY + timedelta(days=9)),
        SafeDate(MONDAY, MONDAY + timedelta(days=9), known=False),
    ],
)
def test_a_safe_date_line_reads_back_as_the_safe_date_it_names(safe: SafeDate) -> None:
    line = render_safe_date(safe)
    assert line.startswith("First free slots (from 2026-03-02 to 2026-03-11): ")
    assert read_safe_date(line, LONDON) == safe


def test_the_line_names_each_slot_with_its_weekday_date_and_time() -> None:
    line = render_safe_date(SafeDate(MONDAY, MONDAY, (_at(MONDAY, 9),)))
    assert line.endswith(": Mon 2026-03-02 09:00")


# -- invariants ---------------------------------------------------------------------------

_HOURS = st.builds(
    OpeningHours,
    days=st.frozensets(st.integers(0, 6), min_size=1),
    opens=st.sampled_from([time(7), time(8, 30), time(9)]),
    closes=st.sampled_from([time(12), time(17, 45), time(20)]),
    slot_minutes=st.sampled_from([10, 15, 30, 45, 60]),
)
_ZONES = st.sampled_from([ZoneInfo("UTC"), LONDON, ZoneInfo("America/New_York")])


@st.composite
def _busy(draw: st.DrawFn, first: date) -> list[tuple[datetime, datetime]]:
    base = datetime.combine(first, time(), tzinfo=UTC) - timedelta(days=1)
    periods = []
    for _ in range(draw(st.integers(0, 25))):
        start = base + timedelta(minutes=draw(st.integers(0, 60 * 24 * 12)))
        periods.append((start, start + timedelta(minutes=draw(st.integers(1, 600)))))
    return periods


@settings(max_examples=150, deadline=None)
@given(
    first=st.dates(date(2026, 1, 1), date(2026, 12, 31)),
    length=st.integers(0, 10),
    hours=_HOURS,
    zone=_ZONES,
    data=st.data(),
    count=st.integers(1, 6),
)
def test_slots_are_free_open_in_the_window_sorted_and_the_earliest_ones(
    first: date,
    length: int,
    hours: OpeningHours,
    zone: ZoneInfo,
    data: st.DataObject,
    count: int,
) -> None:
    last = first + timedelta(days=length)
    busy = data.draw(_busy(first))
    now = data.draw(st.sampled_from([LONG_AGO, datetime.combine(first, time(12), tzinfo=zone)]))
    slots = free_slots((first, last), busy, hours, zone, not_before=now, count=count)

    assert len(slots) <= count
    assert list(slots) == sorted(slots)
    assert len(set(slots)) == len(slots)
    for slot in slots:
        end = slot + hours.slot
        assert not any(a < end and b > slot for a, b in busy), "a slot overlaps busy time"
        assert first <= slot.date() <= last
        assert slot.weekday() in hours.days
        wall = datetime.combine(slot.date(), slot.time())
        assert hours.opens <= slot.time()
        assert wall + hours.slot <= datetime.combine(slot.date(), hours.closes)
        assert slot >= now
    assert slots == _first_free(first, last, busy, hours, zone, now, count)


def _first_free(
    first: date,
    last: date,
    busy: list[tuple[datetime, datetime]],
    hours: OpeningHours,
    zone: ZoneInfo,
    now: datetime,
    count: int,
) -> tuple[datetime, ...]:
    """An oracle: every minute of every open day, tried in order."""
    found: list[datetime] = []
    day = first
    while day <= last and len(found) < count:
        minute = datetime.combine(day, hours.opens)
        while len(found) < count and minute + hours.slot <= datetime.combine(day, hours.closes):
            start = minute.replace(tzinfo=zone)
            real = start.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == minute
            on_grid = (minute - datetime.combine(day, hours.opens)) % hours.slot == timedelta()
            end = start + hours.slot
            free = not any(a < end and b > start for a, b in busy)
            if day.weekday() in hours.days and real and on_grid and free and start >= now:
                found.append(start)
            minute += timedelta(minutes=5)
        day += timedelta(days=1)
    return tuple(found)
