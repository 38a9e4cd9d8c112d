"""``GET /feeds/{token}.ics``: a practitioner's calendar app fetching a feed (SPEC §7).

Served as ``text/calendar; charset=utf-8`` with a strong ``ETag`` (a hash of the bytes),
``Last-Modified``, ``Cache-Control: private``, 304 answers to ``If-None-Match`` and
``If-Modified-Since``, ``HEAD``, and gzip when the client asks for it (compressed once
per rendered feed, not per request). A revoked and an unknown token get the very same
404. A token answered within the last ``CLINIC_SYNC_FEED_RECHECK_SECONDS`` is answered
on the event loop from memory (:meth:`~sync.feeds.service.FeedService.from_memory`);
only the others go to a thread to read the store. Every fetch is recorded by token id
and status — the token itself never is, in the record or in a log line.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from sync.feeds.cache import RenderedFeed
from sync.feeds.fetch_log import FetchLog
from sync.feeds.service import FeedService
from sync.store.errors import StoreError
from sync.web.conditional import accepts_gzip, http_date, not_modified
from sync.web.metrics import WebMetrics

__all__ = ["CALENDAR_TYPE", "feeds_router"]

CALENDAR_TYPE = "text/calendar; charset=utf-8"
_log = logging.getLogger(__name__)
_SAFE = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def feeds_router(service: FeedService, fetch_log: FetchLog, metrics: WebMetrics) -> APIRouter:
    """The router serving feeds through ``service``."""
    router = APIRouter(tags=["feeds"])
    max_age = int(service.options.refresh.total_seconds())

    async def feed(token: str, request: Request) -> Response:
        """The iCalendar feed a token opens."""
        known = service.from_memory(token)
        if known is not None and known.feed is not None:  # no database, no thread: a 304's path
            response = _serve(request, known.feed, max_age)
            fetch_log.record(known.token_id, response.status_code)
            metrics.feed_requests.labels(status=str(response.status_code)).inc()
            return response
        return await run_in_threadpool(answer, token, request)

    def answer(token: str, request: Request) -> Response:
        token_id: int | None = None
        try:
            answer = service.answer(token)
            token_id = answer.token_id
            if answer.render_seconds is not None:
                metrics.feed_render_seconds.observe(answer.render_seconds)
            response = _unknown() if answer.feed is None else _serve(request, answer.feed, max_age)
        except StoreError as err:
            _log.error("feed request failed: %s", err)
            response = _unavailable()
        fetch_log.record(token_id, response.status_code)
        metrics.feed_requests.labels(status=str(response.status_code)).inc()
        return response

    # One handler, two operations: a shared GET+HEAD route would give both one OpenAPI id.
    path = "/feeds/{token}.ics"
    router.add_api_route(path, feed, methods=["GET"], operation_id="get_feed")
    router.add_api_route(path, feed, methods=["HEAD"], operation_id="head_feed")
    return router


def _serve(request: Request, feed: RenderedFeed, max_age: int) -> Response:
    gzipped = accepts_gzip(request.headers.get("accept-encoding"))
    headers = {
        **_SAFE,
        "ETag": feed.etag_gzip if gzipped else feed.etag,
        "Last-Modified": http_date(feed.last_modified),
        "Cache-Control": f"private, max-age={max_age}",
        "Vary": "Accept-Encoding",
    }
    stale_check = (
        request.headers.get("if-none-match"),
        request.headers.get("if-modified-since"),
    )
    if not_modified(*stale_check, (feed.etag, feed.etag_gzip), feed.last_modified):
        return Response(status_code=304, headers=headers)
    body = feed.gzipped if gzipped else feed.body
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    headers["Content-Length"] = str(len(body))
    content = b"" if request.method == "HEAD" else body
    return Response(content, headers=headers, media_type=CALENDAR_TYPE)


def _unknown() -> Response:
    """The one answer for a token that is unknown, revoked or opens nothing: no hint which."""
    headers = {**_SAFE, "Cache-Control": "no-store"}
    return Response(b"Not Found\n", status_code=404, headers=headers, media_type="text/plain")


def _unavailable() -> Response:
    headers = {**_SAFE, "Cache-Control": "no-store", "Retry-After": "30"}
    return Response(b"Service Unavailable\n", status_code=503, headers=headers)
