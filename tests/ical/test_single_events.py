"""A lone event is read without the expander, and reads exactly as the expander reads it.

It takes a straight path through the mapping too, which reads it as the series path does.

The reference is ``recurring-ical-events`` over the whole calendar, as
``test_realworld_sample`` uses it: for every form of start and end a writer may use (a
day, a floating time, UTC, a named zone, none, a DURATION, an end before the start) and
times on either side of the window's edges, the events kept and their start, end and
day are the reference's.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest
import recurring_ical_events
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.ical import mapping
from sync.ical.document import read_document
from sync.ical.mapping import CalendarView, read_events
from tests.ical.calendars import SAMPLE_FILES, WINDOW, vcalendar, vevent

_EDGES = (
    datetime.combine(WINDOW[0], time()),
    datetime.combine(WINDOW[1] + timedelta(days=1), time()),
)
_SHIFTS = st.sampled_from([timedelta(hours=h) for h in (-49, -25, -24, -5, -1, 0, 1, 5, 24)])
_FORMS = st.sampled_from(["date", "floating", "utc", "london", "new-york", "none", "duration"])


def _written(name: str, form: str, moment: datetime) -> str:
    if form == "date":
        return f"{name};VALUE=DATE:{moment:%Y%m%d}"
    if form == "utc":
        return f"{name}:{moment:%Y%m%dT%H%M%S}Z"
    if form == "london":
        return f"{name};TZID=Europe/London:{moment:%Y%m%dT%H%M%S}"
    if form == "new-york":
        return f"{name};TZID=America/New_York:{moment:%Y%m%dT%H%M%S}"
    return f"{name}:{moment:%Y%m%dT%H%M%S}"


@st.composite
def _events(draw: st.DrawFn) -> str:
    start = draw(st.sampled_from(_EDGES)) + draw(_SHIFTS)
    start_form = draw(_FORMS.filter(lambda form: form not in ("none", "duration")))
    end_form = draw(_FORMS)
    lines = ["UID:one", _written("DTSTART", start_form, start)]
    length = draw(st.sampled_from([timedelta(0), timedelta(hours=1), timedelta(days=1)]))
    if end_form == "duration":
        lines.append(f"DURATION:{icalendar.vDuration(length).to_ical().decode()}")
    elif end_form != "none":
        backwards = draw(st.booleans())
        lines.append(_written("DTEND", end_form, start - length if backwards else start + length))
    return vcalendar(vevent(*lines))


def _aware(value: Any) -> tuple[datetime, bool]:
    if not isinstance(value, datetime):
        return datetime.combine(value, time(), tzinfo=UTC), True
    return (value if value.tzinfo else value.replace(tzinfo=UTC)), False


def _reference(data: str) -> list[tuple[datetime, datetime, date]]:
    calendar = icalendar.Calendar.from_ical(data)
    found = []
    window_stop = WINDOW[1] + timedelta(days=1)
    for occurrence in recurring_ical_events.of(calendar).between(WINDOW[0], window_stop):
        start, _ = _aware(occurrence["DTSTART"].dt)
        end, _ = _aware(occurrence["DTEND"].dt)
        value = occurrence["DTSTART"].dt
        found.append((start, end, value.date() if isinstance(value, datetime) else value))
    return found


def _ours(data: str) -> list[tuple[datetime, datetime, date]]:
    view = CalendarView("c", "c", None, WINDOW)
    read = read_events(read_document(data, "t.ics"), view, keep_cancelled=True)
    return [(event.start, event.end, event.booking.day) for event in read.events]


@settings(max_examples=400, deadline=None)
@given(_events())
def test_a_lone_event_is_kept_and_timed_as_the_expander_keeps_and_times_it(data: str) -> None:
    try:
        expected = _reference(data)
    except recurring_ical_events.PeriodEndBeforeStart:
        expected = []  # the reference gives up; the event is skipped with why on our side
    assert _ours(data) == expected


def _read_both(data: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    view = CalendarView("c", "c", None, WINDOW)
    straight = read_events(read_document(data, "t.ics"), view, keep_cancelled=True)
    with monkeypatch.context() as patched:
        patched.setattr(mapping, "single_occurrence", lambda members, window: None)
        through_series = read_events(read_document(data, "t.ics"), view, keep_cancelled=True)
    return straight, through_series


@settings(max_examples=200, deadline=None)
@given(_events(), st.sampled_from(["", "STATUS:CANCELLED", "X-CLINIC-SYNC-FLAG:seen"]))
def test_the_straight_path_reads_a_lone_event_as_the_series_path_reads_it(
    data: str, extra: str
) -> None:
    """Bookings, skips and notes alike: the lone path only skips the expander's set-up."""
    if extra:
        data = data.replace("UID:one", f"UID:one\r\n{extra}")
    with pytest.MonkeyPatch.context() as monkeypatch:
        straight, through_series = _read_both(data, monkeypatch)
    assert straight == through_series


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda path: path.name)
def test_real_files_read_the_same_with_and_without_the_straight_path(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every export of the real-world sample and the examples, events, skips and notes."""
    straight, through_series = _read_both(path.read_text("utf-8", "replace"), monkeypatch)
    assert straight == through_series
