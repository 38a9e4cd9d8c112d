"""The ``clinic-sync`` command line (Typer + Rich).

Every command funnels clinic-sync's own errors through :func:`_fail`, so bad input or
set-up ends in one clear line on stderr and exit status 2 — tracebacks are for bugs.
"""

from __future__ import annotations

import enum
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from rules.assess import Scope
from rules.patients import IdentityOptions
from sync.audit import audit_exports
from sync.config import Settings, load_settings
from sync.errors import ClinicSyncError
from sync.policy_file import load_policy
from sync.report import render_csv, render_json, render_table

__all__ = ["app", "main"]

app = typer.Typer(
    name="clinic-sync",
    help="Calendar safety net for aesthetic clinics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Calendar safety net for aesthetic clinics (see README.md)."""


class OutputFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


def _fail(err: ClinicSyncError) -> NoReturn:
    Console(stderr=True).print(f"[bold red]error:[/] {err}", markup=True, highlight=False)
    raise typer.Exit(code=2)


def _settings() -> Settings:
    try:
        return load_settings()
    except ClinicSyncError as err:
        _fail(err)


@app.command()
def audit(
    files: Annotated[list[Path], typer.Argument(help="Calendar exports (.ics), one per calendar.")],
    policy: Annotated[
        Path | None, typer.Option(help="Policy TOML (default: CLINIC_SYNC_POLICY or built-in).")
    ] = None,
    today: Annotated[
        str | None, typer.Option(help="Evaluate as of this day, YYYY-MM-DD (default: today).")
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="Output format.")
    ] = OutputFormat.TABLE,
) -> None:
    """Detect conflicts and eligibility offline over calendar exports."""
    settings = _settings()
    try:
        rules_policy = load_policy(policy or settings.policy)
        scope = Scope(
            today=_parse_day(today),
            days_back=settings.scan_days_back,
            days_ahead=settings.scan_days_ahead,
            feed_horizon_days=settings.feed_horizon_days,
        )
        options = IdentityOptions(staff_domains=settings.staff_domains)
        result = audit_exports(files, rules_policy, scope, options)
    except ClinicSyncError as err:
        _fail(err)
    if output is OutputFormat.JSON:
        sys.stdout.write(render_json(result))
    elif output is OutputFormat.CSV:
        sys.stdout.write(render_csv(result))
    else:
        render_table(result, Console(highlight=False))


def _parse_day(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        message = f"{value!r} is not a date (YYYY-MM-DD)"
        raise typer.BadParameter(message, param_hint="--today") from None


def main() -> None:
    """Console-script entry point."""
    app()
