"""The app factory: settings (and optionally an engine and a clock) in, an ASGI app out.

Nothing is built at import time. :func:`create_app` wires the feed service, the fetch
log and the metrics into routers (and the API documentation when
``CLINIC_SYNC_API_DOCS`` is on); JSON answers get
:class:`~sync.web.json_headers.JsonHeaders`. The fetch log's writer thread runs for the
app's lifespan and writes what is pending on shutdown. An engine passed in stays the
caller's; one built here from ``settings.database_url`` is disposed on shutdown. Each
clinic's settings and policy come from the store through one
:class:`~sync.clinics.directory.ClinicDirectory` that feeds and admin routes share.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from sqlalchemy import Engine

from sync.clinics.directory import ClinicDirectory
from sync.config import Settings
from sync.feeds.fetch_log import FetchLog
from sync.feeds.service import Clock, FeedOptions, FeedService, utc_now
from sync.store.database import make_engine
from sync.web.access_log import RedactedAccessLog
from sync.web.admin import AdminContext, install_admin
from sync.web.api_docs import api_docs_router
from sync.web.feeds import FeedsFromMemory, feeds_router
from sync.web.health import health_router
from sync.web.json_headers import JsonHeaders
from sync.web.metrics import WebMetrics
from sync.web.webhooks import webhooks_router

__all__ = ["create_app"]

_NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def create_app(
    settings: Settings,
    engine: Engine | None = None,
    *,
    clock: Clock = utc_now,
) -> FastAPI:
    """The clinic-sync web app, serving every clinic in the database."""
    owned = engine is None
    database = engine or make_engine(settings.database_url)
    clinics = ClinicDirectory(database, recheck_seconds=settings.feed_recheck_seconds)
    service = FeedService(database, clinics, FeedOptions.from_settings(settings), clock=clock)
    fetch_log = FetchLog(database, clock=clock)
    metrics = WebMetrics()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        fetch_log.start()
        try:
            yield
        finally:
            fetch_log.stop()
            if owned:
                database.dispose()

    # FastAPI's /docs and /redoc load their scripts from a CDN: off (see sync.web.api_docs).
    # FastAPI's native OpenTelemetry is off: clinic-sync sets up no provider, and the check
    # for one (environment and global providers) ran on every request, a feed's 304 too.
    app = FastAPI(
        title="clinic-sync",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        telemetry=_NO_TELEMETRY,
    )
    app.add_middleware(JsonHeaders)
    app.add_middleware(RedactedAccessLog)  # it times and ids the whole request
    app.include_router(feeds_router(service, fetch_log, metrics))
    app.include_router(health_router(database, metrics))
    app.include_router(webhooks_router(database, clock))
    admin = AdminContext(settings, database, clinics, clock)
    install_admin(app, admin)
    if settings.api_docs:
        app.include_router(api_docs_router(admin))
    # Outermost, added last: a known feed token is answered before anything else.
    app.add_middleware(FeedsFromMemory, service=service, fetch_log=fetch_log, metrics=metrics)
    app.state.feeds = service
    app.state.fetch_log = fetch_log
    app.state.metrics = metrics
    return app
