"""Render an assessment as a table, JSON or CSV (SPEC §8, ``clinic-sync audit``).

The JSON form is a contract other tools rely on (see the README): its keys only ever
grow (``notes``, the events read with a repair such as a cut field, came later). Text
from calendars is hostile until shown otherwise: terminal control characters are made
visible before a table is printed, Rich markup in titles is never interpreted, and CSV
cells that a spreadsheet would run as a formula are defused.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from rules.assess import Assessment
from rules.model import AmbiguousName, Booking, Conflict, Eligibility, Skip

__all__ = [
    "CSV_COLUMNS",
    "render_csv",
    "render_json",
    "render_table",
    "to_document",
    "write_csv",
    "write_json",
]

CSV_COLUMNS = (
    "record",
    "rule",
    "patient",
    "patient_match",
    "earlier_uid",
    "earlier_summary",
    "earlier_date",
    "earlier_calendar",
    "later_uid",
    "later_summary",
    "later_date",
    "later_calendar",
    "gap_days",
    "min_days",
    "earliest_eligible",
    "ideal_window",
    "reason",
)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def to_document(assessment: Assessment, notes: Sequence[Skip] = ()) -> dict[str, Any]:
    """The JSON contract: conflicts, eligibility, skipped records and notes."""
    return {
        "conflicts": [_conflict(c) for c in assessment.conflicts],
        "eligibility": [_eligibility(e) for e in assessment.eligibility],
        "skipped": [_skip(s) for s in assessment.skipped],
        "notes": [_skip(n) for n in notes],
        "ambiguous_names": [_ambiguous(a) for a in assessment.ambiguous_names],
    }


def _ambiguous(name: AmbiguousName) -> dict[str, Any]:
    return {
        "name_key": name.name_key,
        "bookings": name.bookings,
        "patients": name.patients,
        "unlinked": name.unlinked,
    }


def render_json(assessment: Assessment, notes: Sequence[Skip] = ()) -> str:
    out = io.StringIO()
    write_json(assessment, out, notes)
    return out.getvalue()


def write_json(assessment: Assessment, out: TextIO, notes: Sequence[Skip] = ()) -> None:
    """The JSON contract written to ``out`` piece by piece, never held whole as one string.

    The text is what ``json.dumps`` gives (with an indent both use the same encoder); a
    clinic's report runs to tens of megabytes, held twice when built as a string first.
    """
    json.dump(to_document(assessment, notes), out, indent=2, ensure_ascii=False)
    out.write("\n")


def _booking(booking: Booking) -> dict[str, str]:
    return {
        "uid": booking.uid,
        "summary": booking.summary,
        "date": booking.day.isoformat(),
        "calendar": booking.calendar,
    }


def _conflict(conflict: Conflict) -> dict[str, Any]:
    return {
        "rule": conflict.rule.name,
        "patient": conflict.patient.label,
        "patient_key": str(conflict.patient.key),
        "patient_match": conflict.match.value,
        "earlier": _booking(conflict.earlier),
        "later": _booking(conflict.later),
        "gap_days": conflict.gap_days,
        "min_days": conflict.rule.min_days,
        "earliest_eligible": conflict.earliest_eligible.isoformat(),
        "ideal_window": [day.isoformat() for day in conflict.ideal_window],
    }


def _eligibility(item: Eligibility) -> dict[str, Any]:
    return {
        "rule": item.rule.name,
        "patient": item.patient.label,
        "patient_key": str(item.patient.key),
        "category": item.category,
        "after": _booking(item.after),
        "eligible_from": item.eligible_from.isoformat(),
        "ideal_windows": [[lo.isoformat(), hi.isoformat()] for lo, hi in item.ideal],
    }


def _skip(skip: Skip) -> dict[str, str]:
    return {"uid": skip.uid, "reason": skip.reason, "calendar": skip.calendar}


def render_csv(assessment: Assessment, notes: Sequence[Skip] = ()) -> str:
    """One row per conflict, eligibility, skipped record and note; ``record`` says which."""
    out = io.StringIO()
    write_csv(assessment, out, notes)
    return out.getvalue()


def write_csv(assessment: Assessment, out: TextIO, notes: Sequence[Skip] = ()) -> None:
    """:func:`render_csv`'s rows written to ``out`` one by one."""
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    rows: Iterable[dict[str, object]] = itertools.chain(
        (_conflict_row(c) for c in assessment.conflicts),
        (_eligibility_row(e) for e in assessment.eligibility),
        (_skip_row(s) for s in assessment.skipped),
        (_skip_row(n, "note") for n in notes),
    )
    for row in rows:
        writer.writerow({key: _cell(value) for key, value in row.items()})


def _conflict_row(conflict: Conflict) -> dict[str, object]:
    return {
        "record": "conflict",
        "rule": conflict.rule.name,
        "patient": conflict.patient.label,
        "patient_match": conflict.match.value,
        **_prefixed("earlier", conflict.earlier),
        **_prefixed("later", conflict.later),
        "gap_days": conflict.gap_days,
        "min_days": conflict.rule.min_days,
        "earliest_eligible": conflict.earliest_eligible.isoformat(),
        "ideal_window": _intervals([conflict.ideal_window]),
    }


def _eligibility_row(item: Eligibility) -> dict[str, object]:
    return {
        "record": "eligibility",
        "rule": item.rule.name,
        "patient": item.patient.label,
        **_prefixed("earlier", item.after),
        "min_days": item.rule.min_days,
        "earliest_eligible": item.eligible_from.isoformat(),
        "ideal_window": _intervals(item.ideal),
    }


def _skip_row(skip: Skip, record: str = "skipped") -> dict[str, object]:
    return {
        "record": record,
        "earlier_uid": skip.uid,
        "earlier_calendar": skip.calendar,
        "reason": skip.reason,
    }


def _prefixed(prefix: str, booking: Booking) -> dict[str, str]:
    return {f"{prefix}_{key}": value for key, value in _booking(booking).items()}


def _intervals(spans: Iterable[tuple[date, date]]) -> str:
    """ISO 8601 intervals, space separated: ``2026-01-01/2026-01-14 2026-01-20/2026-01-28``."""
    return " ".join(f"{lo.isoformat()}/{hi.isoformat()}" for lo, hi in spans)


def _cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def render_table(assessment: Assessment, console: Console, notes: Sequence[Skip] = ()) -> None:
    """Print conflicts, eligibility, skipped records and notes as Rich tables."""
    console.print(_conflict_table(assessment.conflicts))
    console.print(_eligibility_table(assessment.eligibility))
    if assessment.skipped:
        console.print(_skipped_table(assessment.skipped))
    if notes:
        console.print(_skipped_table(notes, "Read with a repair"))
    if assessment.ambiguous_names:
        console.print(_ambiguous_table(assessment.ambiguous_names))


def _ambiguous_table(names: Sequence[AmbiguousName]) -> Table:
    """Names several identified patients carry: no booking is linked through them (SPEC §4)."""
    table = Table(title="Names shared by different patients (not used to link)")
    for column in ("name", "bookings", "patients", "left without a patient"):
        table.add_column(column, overflow="fold")
    for name in names:
        table.add_row(
            _safe(name.name_key), str(name.bookings), str(name.patients), str(name.unlinked)
        )
    return table


def _safe(value: object) -> Text:
    """Calendar text shown literally: no markup, no terminal control characters."""
    return Text(_CONTROL.sub("\N{REPLACEMENT CHARACTER}", str(value)))


def _when(booking: Booking) -> Text:
    return _safe(f"{booking.day.isoformat()}\n{booking.calendar}\n{booking.summary}")


def _conflict_table(conflicts: list[Conflict]) -> Table:
    rules = sorted({c.rule.name for c in conflicts})
    caption = f"rule: {rules[0]}" if len(rules) == 1 else None
    table = Table(title=f"Conflicts ({len(conflicts)})", caption=caption, show_lines=True)
    table.add_column("Patient (matched by)", ratio=2, overflow="fold")
    if caption is None:
        table.add_column("Rule", ratio=2, overflow="fold")
    table.add_column("Earlier", ratio=3, min_width=12, overflow="fold")
    table.add_column("Later", ratio=3, min_width=12, overflow="fold")
    table.add_column("Gap", no_wrap=True)
    table.add_column("Eligible from", min_width=10, no_wrap=True)
    for c in conflicts:
        patient = _safe(f"{c.patient.label}\n({c.match.value})")
        cells = [patient] if caption else [patient, _safe(c.rule.name)]
        gap = f"{c.gap_days} d\n(min {c.rule.min_days})"
        table.add_row(
            *cells, _when(c.earlier), _when(c.later), gap, c.earliest_eligible.isoformat()
        )
    return table


def _eligibility_table(items: list[Eligibility]) -> Table:
    table = Table(title=f"Eligibility ({len(items)})")
    table.add_column("Patient", ratio=2, overflow="fold")
    table.add_column("Category", ratio=1, overflow="fold")
    table.add_column("After", ratio=3, min_width=12, overflow="fold")
    table.add_column("Eligible from", min_width=10, no_wrap=True)
    table.add_column("Ideal window", min_width=10, no_wrap=True)
    for item in items:
        table.add_row(
            _safe(item.patient.label),
            _safe(item.category),
            _safe(f"{item.after.day.isoformat()}\n{item.after.summary}"),
            item.eligible_from.isoformat(),
            "\n".join(f"{lo.isoformat()} →\n{hi.isoformat()}" for lo, hi in item.ideal) or "—",
        )
    return table


def _skipped_table(skipped: Sequence[Skip], title: str = "Skipped") -> Table:
    table = Table(title=f"{title} ({len(skipped)})")
    for column in ("Calendar", "UID", "Reason"):
        table.add_column(column)
    for skip in skipped:
        table.add_row(_safe(skip.calendar), _safe(skip.uid), _safe(skip.reason))
    return table
