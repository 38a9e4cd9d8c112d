"""``clinic-sync audit-log``: the append-only audit trail as a table, JSON or CSV (SPEC §8).

Every detection, resolution, flag written or removed, and write skipped or failed, with
when, who ("service" or a user) and why; ``--conflict`` narrows it to one conflict's
history. Text from calendars is shown literally (see :mod:`sync.cli.conflicts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import typer

from sync.cli.common import ClinicOption, chosen_clinic, settings_or_exit
from sync.cli.conflicts import OutputFormat, emit
from sync.cli.services import clean_errors, store, when
from sync.errors import InputError
from sync.store.audit import AuditEvent, list_audit_events
from sync.store.conflicts import list_conflicts
from sync.store.database import session_scope

__all__ = ["audit_log"]

COLUMNS = ("at", "actor", "action", "conflict", "event", "calendar", "reason")


def audit_log(
    conflict: Annotated[
        str | None, typer.Option("--conflict", help="Only this conflict's history (its id).")
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="Output format.")
    ] = OutputFormat.TABLE,
    clinic: ClinicOption = None,
) -> None:
    """Show the clinic's audit trail, oldest first."""
    settings = settings_or_exit()
    with clean_errors(), store(settings) as engine, session_scope(engine) as session:
        chosen = chosen_clinic(session, settings, clinic, create=False)
        row_id = None
        if conflict is not None:
            # Only this clinic's conflicts are looked in: another's id is "no conflict".
            ids = {c.facts.public_id: c.id for c in list_conflicts(session, chosen.id)}
            if conflict not in ids:
                raise InputError(f"no conflict {conflict!r} in clinic {chosen.slug!r}")
            row_id = ids[conflict]
        events = list_audit_events(session, chosen.id, conflict_id=row_id)
    rows = [_row(event, full=output is OutputFormat.JSON) for event in events]
    emit(rows, COLUMNS, output, title=f"Audit trail of {chosen.name} ({len(rows)})")


def _row(event: AuditEvent, *, full: bool) -> dict[str, Any]:
    detail: Mapping[str, Any] = event.detail
    row: dict[str, Any] = {
        "at": when(event.at),
        "actor": event.actor,
        "action": event.action,
        "conflict": detail.get("conflict", ""),
        "event": _later(detail).get("id", detail.get("event", "")),
        "calendar": _later(detail).get("calendar", detail.get("calendar", "")),
        "reason": detail.get("reason", detail.get("error", "")),
    }
    if full:
        row["detail"] = dict(detail)
    return row


def _later(detail: Mapping[str, Any]) -> Mapping[str, Any]:
    later = detail.get("later")
    return later if isinstance(later, Mapping) else {}
