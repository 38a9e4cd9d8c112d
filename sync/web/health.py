"""Operational endpoints: ``/healthz`` (the database answers) and ``/metrics`` (Prometheus).

``/metrics`` serves the app's own counters and the store's state, read at scrape time
(:class:`sync.web.metrics.StoreCollector`).
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from sync.web.metrics import CONTENT_TYPE, WebMetrics

__all__ = ["health_router"]


def health_router(engine: Engine, metrics: WebMetrics) -> APIRouter:
    """The router of the health and metrics endpoints; ``metrics`` learn to read ``engine``."""
    router = APIRouter(tags=["operations"])
    metrics.watch_store(engine)

    @router.get("/healthz")
    def healthz() -> Response:
        """200 when the database answers, 503 otherwise."""
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return Response("database unavailable\n", status_code=503, media_type="text/plain")
        return Response("ok\n", media_type="text/plain")

    @router.get("/metrics")
    def prometheus() -> Response:
        """Metrics in Prometheus' text exposition format."""
        return Response(metrics.exposition(), media_type=CONTENT_TYPE)

    return router
