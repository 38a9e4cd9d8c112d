"""Real exports written by other programs read as icalendar + recurring-ical-events read them.

``../shared/realworld-sample/`` (next to the repository; SOURCES.md names each file's
origin) holds calendar files kept byte for byte from other projects' test fixtures. Each
is audited, and the bookings read — (UID, day) pairs, counted — are compared with what
the reference parser reads from the same bytes over the same window: the whole file
handed to ``icalendar.Calendar.from_ical``, expanded by ``recurring_ical_events``, each
start's day taken as SPEC §5 takes it (in X-WR-TIMEZONE when the file names one, else in
the event's own zone). Every difference is named in :data:`DIFFERENCES` with its reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import pytest
import recurring_ical_events

from sync.usecases.ics_export import parse_export

SAMPLE = Path(__file__).resolve().parents[2] / ".." / "shared" / "realworld-sample"
WINDOW = (date(1990, 1, 1), date(2035, 12, 31))
"""Wide enough to hold every booking in the sample, so no file compares empty."""

FILES = sorted(SAMPLE.glob("*.ics")) if SAMPLE.is_dir() else []
pytestmark = pytest.mark.skipif(
    not FILES, reason=f"the real-world sample is not next to the repository ({SAMPLE})"
)

Bookings = Counter[tuple[str, date]]


@dataclass(frozen=True)
class Difference:
    """Where we knowingly read otherwise than the reference, and why."""

    ours: int
    reference: int
    reference_rejects_file: bool
    why: str


DIFFERENCES = {
    "icalendar__issue_165_missing_event.ics": Difference(
        14, 0, True,
        "Microsoft CDO writes 'BYDAY=MO, TU, WE, TH, FR' (spaces in a RECUR value, which "
        "RFC 5545 §3.3.10 has none of): the reference rejects the whole file; we read the "
        "rule without the spaces, and give the UID-less event a derived UID",
    ),
    "nodeical__ms_timezones.ics": Difference(
        137, 0, True,
        "one event has an empty DTSTART: the reference rejects the whole file; we skip that "
        "one event with its reason and read the other 137 bookings",
    ),
    "nodeical__test_date_duration.ics": Difference(
        1, 0, True,
        "Synology writes DURATION:PT1W (not a duration; P1W is): the reference rejects the "
        "whole file; we read the booking, its duration left out with a note",
    ),
    "icalendar__big_bad_calendar.ics": Difference(
        0, 0, True,
        "twenty empty VEVENTs: the reference rejects the whole file; we skip each one "
        "('event has no DTSTART') — no booking either way",
    ),
}  # fmt: skip


def ours(data: bytes, name: str) -> Bookings:
    return Counter((b.uid, b.day) for b in parse_export(data, name, WINDOW).bookings)


def reference(data: bytes) -> Bookings:
    calendar = icalendar.Calendar.from_ical(data)
    zone = _zone(calendar.get("X-WR-TIMEZONE"))
    found: Bookings = Counter()
    end = WINDOW[1] + timedelta(days=1)
    for occurrence in recurring_ical_events.of(calendar).between(WINDOW[0], end):
        found[(str(occurrence.get("UID", "")), _day(occurrence["DTSTART"].dt, zone))] += 1
    return found


def _zone(name: object) -> ZoneInfo | None:
    try:
        return ZoneInfo(str(name)) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _day(value: date, zone: ZoneInfo | None) -> date:
    if not isinstance(value, datetime):
        return value
    return value.astimezone(zone).date() if value.tzinfo and zone else value.date()


@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_each_sample_file_reads_as_the_reference_reads_it_or_names_why(path: Path) -> None:
    data = path.read_bytes()
    read = ours(data, path.name)
    try:
        expected, rejected = reference(data), False
    except Exception:  # the reference's verdict on the file is what is compared
        expected, rejected = Counter(), True
    known = DIFFERENCES.get(path.name)
    if known is None:
        assert not rejected, f"{path.name}: the reference rejects it; name why in DIFFERENCES"
        assert read == expected
    else:
        assert (sum(read.values()), sum(expected.values()), rejected) == (
            known.ours,
            known.reference,
            known.reference_rejects_file,
        ), known.why


def test_the_sample_is_counted_whole() -> None:
    """The figures the issue's closing note quotes: files, bookings read by each parser."""
    totals = Counter[str]()
    for path in FILES:
        data = path.read_bytes()
        totals["ours"] += sum(ours(data, path.name).values())
        try:
            totals["reference"] += sum(reference(data).values())
        except Exception:  # counted as nothing read, as above
            totals["rejected"] += 1
    assert len(FILES) == 27
    assert dict(totals) == {"ours": 2287, "reference": 2135, "rejected": 4}
    assert totals["ours"] - totals["reference"] == sum(
        d.ours - d.reference for d in DIFFERENCES.values()
    )
