"""``clinic-sync probe web|worker``: the health check of each role, for containers.

Container health checks run a command inside the container, and the image holds no
curl: this is that command. ``web`` asks the web app's ``/healthz`` (200 when its
database answers); ``worker`` asks the worker's metrics endpoint
(``CLINIC_SYNC_WORKER_METRICS_PORT`` must be set, as the deploy files do), which
answers for as long as the worker runs. The migration role needs no probe: it is a job
that exits. Exit status 0 is healthy; anything else ends in one line and status 1, the
value container engines read as unhealthy.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from enum import StrEnum
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from sync.cli.common import fail, settings_or_exit
from sync.config import Settings
from sync.errors import ConfigError

__all__ = ["probe"]


class Role(StrEnum):
    WEB = "web"
    WORKER = "worker"


def probe(
    role: Annotated[Role, typer.Argument(help="Which service this container runs.")],
    port: Annotated[int, typer.Option(help="The web app's port (web only).")] = 8000,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for an answer.")] = 4.0,
) -> None:
    """Exit 0 when this container's service answers its health check, else 1."""
    settings = settings_or_exit()
    try:
        url = _url(role, settings, port)
    except ConfigError as err:
        fail(err)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - http only
            status = int(answer.status)
    except (urllib.error.URLError, OSError) as err:
        _unhealthy(f"{url}: {getattr(err, 'reason', err)}")
    if status != 200:
        _unhealthy(f"{url}: HTTP {status}")
    Console().print(f"{role.value} healthy ({url})")


def _url(role: Role, settings: Settings, port: int) -> str:
    if role is Role.WEB:
        return f"http://127.0.0.1:{port}/healthz"
    if settings.worker_metrics_port is None:
        raise ConfigError("set CLINIC_SYNC_WORKER_METRICS_PORT: the worker's probe asks it")
    host = settings.worker_metrics_host
    host = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104 - bound to all
    return f"http://{host}:{settings.worker_metrics_port}/metrics"


def _unhealthy(reason: str) -> NoReturn:
    Console(stderr=True, highlight=False).print(f"unhealthy: {reason}", soft_wrap=True)
    raise typer.Exit(code=1)
