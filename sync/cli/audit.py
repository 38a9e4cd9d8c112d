"""``clinic-sync audit``: the offline audit over calendar exports (SPEC §8)."""

from __future__ import annotations

import enum
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from rules.assess import Scope
from rules.patients import IdentityOptions
from sync.cli.failure import fail
from sync.clinics.model import ClinicSettings
from sync.errors import ClinicSyncError
from sync.policy_file import load_policy
from sync.usecases.audit import audit_exports
from sync.usecases.report import render_table, write_csv, write_json

__all__ = ["OutputFormat", "audit"]


class OutputFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


def audit(
    files: Annotated[list[Path], typer.Argument(help="Calendar exports (.ics), one per calendar.")],
    policy: Annotated[
        Path | None, typer.Option(help="Policy TOML (default: the built-in policy).")
    ] = None,
    today: Annotated[
        str | None, typer.Option(help="Evaluate as of this day, YYYY-MM-DD (default: today).")
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="Output format.")
    ] = OutputFormat.TABLE,
) -> None:
    """Detect conflicts and eligibility offline over calendar exports."""
    # Offline: no clinic, no database; a new clinic's horizon applies.
    horizon = ClinicSettings()
    try:
        rules_policy = load_policy(policy)
        scope = Scope(
            today=_parse_day(today),
            days_back=horizon.scan_days_back,
            days_ahead=horizon.scan_days_ahead,
            feed_horizon_days=horizon.feed_horizon_days,
        )
        options = IdentityOptions()
        report = audit_exports(files, rules_policy, scope, options)
    except ClinicSyncError as err:
        fail(err)
    result, notes = report.assessment, report.notes
    if output is OutputFormat.JSON:
        write_json(result, sys.stdout, notes)
    elif output is OutputFormat.CSV:
        write_csv(result, sys.stdout, notes)
    else:
        render_table(result, Console(highlight=False), notes)


def _parse_day(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        message = f"{value!r} is not a date (YYYY-MM-DD)"
        raise typer.BadParameter(message, param_hint="--today") from None
