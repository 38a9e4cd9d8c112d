"""``clinic-sync serve``: the HTTP app — iCal feeds, health and metrics (SPEC §7).

The store is migrated and the policy read before the port opens, so a broken policy
file or an unreachable database stops start-up with one clear line (SPEC §3).
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from sync.cli.common import fail, settings_or_exit
from sync.errors import ClinicSyncError
from sync.logs import configure_logging
from sync.serving import bind
from sync.store.database import make_engine
from sync.store.errors import StoreError
from sync.store.migrate import upgrade
from sync.web.app import create_app
from sync.web.server import run_web

__all__ = ["serve"]

_log = logging.getLogger(__name__)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    access_log: Annotated[
        bool, typer.Option(help="Log each request (feed tokens redacted).")
    ] = True,
) -> None:
    """Serve iCal feeds (/feeds/TOKEN.ics), /healthz and /metrics until interrupted."""
    settings = settings_or_exit()
    configure_logging(settings.log_format, settings.log_level)
    logging.getLogger("sync.web.access").setLevel(logging.INFO if access_log else logging.WARNING)
    try:
        sock = bind(host, port)  # first: a busy port is one line, before anything else
    except ClinicSyncError as err:
        fail(err)
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
        app = create_app(settings, engine)
    except (ClinicSyncError, StoreError) as err:
        sock.close()
        engine.dispose()
        fail(err)
    bound = sock.getsockname()[1]
    _log.info("clinic-sync web on http://%s:%d/ (admin at /admin)", host, bound)
    try:
        run_web(app, sock, forwarded_allow_ips=settings.trusted_proxies)
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
        engine.dispose()
