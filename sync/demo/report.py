"""What the demo shows about conflicts: rows read from the store, a table, one-line flags.

Rows come from the store the worker fills (SPEC §8), not from the generator; only the
patient's display name is looked up in the demo's roster, since a conflict stores the
patient's key (``id:P-1001``, ``email:…``, ``name:doe jane``). Calendar text is shown
literally (:func:`sync.cli.conflicts.safe_text`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from rich import box
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine

from rules.patients import name_key
from sync.demo.clinic import DemoClinic
from sync.store.conflicts import copies_by_row, list_conflicts
from sync.store.database import session_scope

__all__ = [
    "ConflictRow",
    "conflict_rows",
    "conflicts_table",
    "flag_line",
    "patient_names",
    "safe_text",
]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def safe_text(value: object) -> Text:
    """Calendar text shown literally: no markup, no terminal control characters."""
    return Text(_CONTROL.sub("\N{REPLACEMENT CHARACTER}", str(value)))


@dataclass(frozen=True, slots=True)
class ConflictRow:
    """One stored conflict as the demo prints it."""

    public_id: str
    patient: str
    patient_key: str
    matched_by: str
    later_day: date | None
    later_summary: str
    calendar: str
    gap: int
    state: str
    earlier_row: int
    later_row: int


def patient_names(clinic: DemoClinic) -> dict[str, str]:
    """Every key the store may give a demo patient, to the patient's name."""
    names: dict[str, str] = {}
    for patient in clinic.patients:
        names[f"name:{name_key(patient.name)}"] = patient.name
        if patient.patient_id:
            names[f"id:{patient.patient_id}"] = patient.name
        if patient.email:
            names[f"email:{patient.email}"] = patient.name
    return names


def conflict_rows(engine: Engine, clinic_id: int, names: Mapping[str, str]) -> list[ConflictRow]:
    """The clinic's conflicts, by the later booking's day."""
    with session_scope(engine) as session:
        conflicts = list_conflicts(session, clinic_id)
        wanted = {r for c in conflicts for r in (c.facts.earlier_row_id, c.facts.later_row_id)}
        copies = copies_by_row(session, wanted)
    rows = []
    for conflict in conflicts:
        facts = conflict.facts
        key = f"{facts.patient_kind}:{facts.patient_value}"
        later = copies.get(facts.later_row_id)
        booking = later.event.booking if later is not None else None
        rows.append(
            ConflictRow(
                public_id=facts.public_id,
                patient=names.get(key, key),
                patient_key=key,
                matched_by=facts.match_kind,
                later_day=booking.day if booking else None,
                later_summary=booking.summary if booking else "",
                calendar=booking.calendar if booking else "",
                gap=facts.gap_days,
                state=conflict.state.value,
                earlier_row=facts.earlier_row_id,
                later_row=facts.later_row_id,
            )
        )
    return sorted(rows, key=lambda r: (r.later_day or date.min, r.patient))


def conflicts_table(rows: list[ConflictRow], today: date, *, wide: bool = False) -> Table:
    """The conflicts found, narrow enough for 80 columns; ``wide`` adds the booking's title."""
    flagged = sum(row.state == "flagged" for row in rows)
    table = Table(
        title=f"Conflicts found: {len(rows)}, flagged on the calendars: {flagged}",
        box=box.SIMPLE_HEAD,
        title_justify="left",
        pad_edge=False,
    )
    table.add_column("patient", no_wrap=True, max_width=22, overflow="ellipsis")
    table.add_column("later booking", no_wrap=True)
    table.add_column("calendar", no_wrap=True, max_width=16, overflow="ellipsis")
    table.add_column("gap", justify="right")
    table.add_column("by")
    table.add_column("state", no_wrap=True)
    if wide:
        table.add_column("booking", no_wrap=True, max_width=48, overflow="ellipsis")
    for row in rows:
        extra = (safe_text(row.later_summary),) if wide else ()
        table.add_row(*_cells(row, today), *extra)
    return table


def _cells(row: ConflictRow, today: date) -> tuple[Text | str, ...]:
    day = row.later_day.isoformat() if row.later_day else "?"
    past = row.later_day is not None and row.later_day < today
    state = Text(row.state + (" (past)" if past else ""), style=_STATE_STYLE.get(row.state, ""))
    return (
        safe_text(row.patient),
        day,
        safe_text(row.calendar),
        f"{row.gap}d",
        row.matched_by,
        state,
    )


_STATE_STYLE = {"flagged": "bold red", "open": "yellow", "resolved": "green"}


def flag_line(row: ConflictRow) -> Text:
    """One line for a conflict the worker has just flagged."""
    day = f"{row.later_day:%a %d %b}" if row.later_day else "?"
    line = Text("⚑ flagged ", style="bold red")
    line.append(safe_text(row.patient))
    line.append(f" · {day} · ")
    line.append(safe_text(row.calendar))
    line.append(f" · {row.gap} d after MN")
    return line
