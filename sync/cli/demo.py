"""``clinic-sync demo``: the product in one command, against a generated clinic.

Starts the Google Calendar emulator with a generated clinic, syncs it into a fresh SQLite
file, serves the web app and runs the worker, then adds a booking every few seconds and
prints each flag the worker writes (:mod:`sync.demo.run`). The offline audit of calendar
exports stays ``clinic-sync audit examples/clinic-export/*.ics``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from sync.cli.services import clean_errors
from sync.demo.run import DemoOptions, run_demo
from sync.logs import configure_logging

__all__ = ["demo"]


def demo(
    port: Annotated[
        int, typer.Option(help="Port of the web app on 127.0.0.1; 0 picks a free one.")
    ] = 8000,
    database: Annotated[
        Path, typer.Option(help="SQLite file, recreated fresh on every run.")
    ] = Path("clinic-sync-demo.db"),
    seed: Annotated[int, typer.Option(help="Seed of the generated clinic.")] = 7,
    every: Annotated[float, typer.Option(help="Seconds between two new bookings.", min=0.5)] = 5.0,
    duration: Annotated[
        float | None,
        typer.Option("--for", help="Stop after this many seconds of live running.", min=0),
    ] = None,
) -> None:
    """Run the whole service on a generated clinic: sync, flag, serve feeds, live."""
    configure_logging("text", "WARNING")
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    options = DemoOptions(database=database, port=port, seed=seed, every=every, duration=duration)
    with clean_errors():
        run_demo(options, Console(highlight=False))
