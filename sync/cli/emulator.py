"""``clinic-sync emulator``: serve the Google Calendar emulator in the foreground.

For demos and manual checks without Google: point ``CLINIC_SYNC_GOOGLE_API_ENDPOINT`` at
the printed URL and set ``CLINIC_SYNC_GOOGLE_AUTH=none``. See :mod:`sync.emulator`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from sync.cli.common import fail
from sync.emulator.seed import SeedError
from sync.emulator.server import run_emulator

__all__ = ["emulator"]


def emulator(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    seed: Annotated[
        Path | None, typer.Option(help="Seed JSON: calendars and events to start with.")
    ] = None,
) -> None:
    """Serve a Google Calendar API v3 emulator until interrupted (Ctrl-C)."""
    url = f"http://{host}:{port}/"
    Console(stderr=True).print(
        f"Calendar emulator on {url}\n"
        f"  CLINIC_SYNC_GOOGLE_API_ENDPOINT={url} CLINIC_SYNC_GOOGLE_AUTH=none"
    )
    try:
        run_emulator(host, port, seed)
    except (SeedError, OSError) as err:
        fail(err)
    except KeyboardInterrupt:
        pass
