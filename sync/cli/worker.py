"""``clinic-sync worker``: poll every clinic's calendars until stopped (SPEC §2, §9).

With no ``--clinic`` it serves every clinic of the database (run as many as you like on
PostgreSQL: they share the calendars); ``--clinic SLUG`` limits it to one. Runs
:func:`sync.worker.runner.run_worker` in the foreground with logs on stderr (JSON lines
unless stderr is a terminal, :mod:`sync.logs`). SIGTERM or Ctrl-C finishes the calendars
in hand and exits with status 0; a setup problem (a second worker on one SQLite database,
an unknown clinic, an unreachable database) ends in one line and status 2; a clinic that
cannot be set up fails its own calendars, not the worker. With
``CLINIC_SYNC_WORKER_METRICS_PORT`` set, Prometheus metrics of the cycles are served on
``http://CLINIC_SYNC_WORKER_METRICS_HOST:port/metrics`` (:func:`sync.metrics.metrics_endpoint`)
for as long as the worker runs.
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from sync.cli.common import settings_or_exit
from sync.cli.services import clean_errors
from sync.logs import configure_logging
from sync.metrics import metrics_endpoint
from sync.worker.runner import run_worker

__all__ = ["worker"]

_log = logging.getLogger(__name__)


def worker(
    clinic: Annotated[
        str | None,
        typer.Option(
            "--clinic",
            help="Serve only this clinic (its slug); by default every clinic is served.",
        ),
    ] = None,
) -> None:
    """Poll every clinic's calendars once per interval, sharing them with other workers."""
    settings = settings_or_exit()
    configure_logging(settings.log_format, settings.log_level)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per job run is noise
    with clean_errors(), metrics_endpoint(settings) as endpoint:
        if endpoint is not None:
            _log.info("serving metrics on %s", endpoint.url)
        run_worker(settings, clinic=clinic)
