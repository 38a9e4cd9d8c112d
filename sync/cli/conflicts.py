"""``clinic-sync conflicts list``: the clinic's stored conflicts as a table, JSON or CSV (SPEC §8).

Booking titles come from calendars anyone on staff can edit, so they are shown literally:
no Rich markup, no terminal control characters, and CSV cells that a spreadsheet would
run as a formula are quoted (like :mod:`sync.usecases.report`).
"""

from __future__ import annotations

import csv
import enum
import io
import json
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from sync.cli.common import ClinicOption, chosen_clinic, settings_or_exit
from sync.cli.services import clean_errors, store, when
from sync.store.conflicts import (
    BookingCopy,
    ConflictState,
    StoredConflict,
    copies_by_row,
    list_conflicts,
)
from sync.store.database import session_scope

__all__ = ["OutputFormat", "conflicts_app", "emit", "safe_text"]

conflicts_app = typer.Typer(
    help="Conflicts the service detected (SPEC §5, §8).", no_args_is_help=True
)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = (
    "id",
    "state",
    "rule",
    "patient",
    "matched_by",
    "earlier_day",
    "earlier_calendar",
    "earlier_summary",
    "later_day",
    "later_calendar",
    "later_summary",
    "gap_days",
    "detected_at",
    "resolved_at",
    "reason",
)


class OutputFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


@conflicts_app.command("list")
def list_command(
    state: Annotated[
        list[ConflictState] | None, typer.Option("--state", help="Only these states (repeatable).")
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="Output format.")
    ] = OutputFormat.TABLE,
    clinic: ClinicOption = None,
) -> None:
    """List the clinic's conflicts, oldest first."""
    settings = settings_or_exit()
    with clean_errors(), store(settings) as engine, session_scope(engine) as session:
        chosen = chosen_clinic(session, settings, clinic, create=False)
        conflicts = list_conflicts(session, chosen.id, states=state or None)
        rows = _rows(conflicts, copies_by_row(session, _row_ids(conflicts)))
    emit(rows, COLUMNS, output, title=f"Conflicts of {chosen.name} ({len(rows)})")


def _row_ids(conflicts: Sequence[StoredConflict]) -> set[int]:
    return {i for c in conflicts for i in (c.facts.earlier_row_id, c.facts.later_row_id)}


def _rows(
    conflicts: Sequence[StoredConflict], copies: Mapping[int, BookingCopy]
) -> list[dict[str, Any]]:
    return [
        {
            "id": c.facts.public_id,
            "state": c.state.value,
            "rule": c.facts.rule_name,
            "patient": f"{c.facts.patient_kind}:{c.facts.patient_value}",
            "matched_by": c.facts.match_kind,
            **_booking("earlier", copies.get(c.facts.earlier_row_id)),
            **_booking("later", copies.get(c.facts.later_row_id)),
            "gap_days": c.facts.gap_days,
            "detected_at": when(c.detected_at),
            "resolved_at": when(c.resolved_at) if c.resolved_at else "",
            "reason": c.reason or "",
        }
        for c in conflicts
    ]


def _booking(side: str, copy: BookingCopy | None) -> dict[str, str]:
    if copy is None:
        return {f"{side}_day": "", f"{side}_calendar": "", f"{side}_summary": ""}
    booking = copy.booking
    return {
        f"{side}_day": booking.day.isoformat(),
        f"{side}_calendar": booking.calendar,
        f"{side}_summary": booking.summary,
    }


def safe_text(value: object) -> Text:
    """Calendar text shown literally: no markup, no terminal control characters."""
    return Text(_CONTROL.sub("\N{REPLACEMENT CHARACTER}", str(value)))


def emit(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str], output: OutputFormat, *, title: str
) -> None:
    """Write ``rows`` to standard output as a Rich table, JSON or CSV."""
    if output is OutputFormat.JSON:
        sys.stdout.write(json.dumps(list(rows), indent=2, ensure_ascii=False, default=str) + "\n")
    elif output is OutputFormat.CSV:
        sys.stdout.write(_csv(rows, columns))
    else:
        Console(highlight=False).print(_table(rows, columns, title))


def _csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _cell(row.get(key, "")) for key in columns})
    return out.getvalue()


def _cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], title: str) -> Table:
    table = Table(title=safe_text(title), show_lines=True)
    for column in columns:
        table.add_column(column.replace("_", " "), overflow="fold")
    for row in rows:
        table.add_row(*(safe_text(row.get(column, "")) for column in columns))
    return table
