"""``GET /feeds/{token}.ics``: a practitioner's calendar app fetching a feed (SPEC §7).

Served as ``text/calendar; charset=utf-8`` with a strong ``ETag`` (a hash of the bytes),
``Last-Modified``, ``Cache-Control: private``, 304 answers to ``If-None-Match`` and
``If-Modified-Since``, ``HEAD``, and gzip when the client asks for it (compressed once
per rendered feed, not per request). A revoked and an unknown token get the very same
404. A token answered within the last ``CLINIC_SYNC_FEED_RECHECK_SECONDS`` is answered
before routing, from memory, by :class:`FeedsFromMemory`;
only the others go to a thread to read the store. Every fetch is recorded by token id
and status — the token itself never is, in the record or in a log line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request, Response
from prometheus_client import Counter
from starlette.types import ASGIApp, Receive, Scope, Send

from sync.feeds.cache import RenderedFeed
from sync.feeds.fetch_log import FetchLog
from sync.feeds.service import FeedService
from sync.store.errors import StoreError
from sync.web.conditional import accepts_gzip, http_date, not_modified
from sync.web.metrics import WebMetrics

__all__ = ["CALENDAR_TYPE", "FeedsFromMemory", "feeds_router"]

CALENDAR_TYPE = "text/calendar; charset=utf-8"
_log = logging.getLogger(__name__)
_SAFE = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def feeds_router(service: FeedService, fetch_log: FetchLog, metrics: WebMetrics) -> APIRouter:
    """The router serving feeds through ``service``."""
    router = APIRouter(tags=["feeds"])
    max_age = int(service.options.refresh.total_seconds())

    def feed(token: str, request: Request) -> Response:
        """The iCalendar feed a token opens (those known in memory never get here)."""
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
    wanted = {key.encode(): request.headers[key] for key in _NAMES if key in request.headers}
    status, headers, body = _reply(request.method, wanted, feed, max_age)
    if status == 304:
        return Response(status_code=304, headers=headers)
    kind = headers.pop("Content-Type")
    return Response(body, headers=headers, media_type=kind)


_NAMES = ("if-none-match", "if-modified-since", "accept-encoding")


@dataclass(frozen=True, slots=True)
class _Prepared:
    """One answer as ASGI sends it, with the request counter of its status."""

    start: dict[str, object]
    body: dict[str, object]
    status: int
    counted: Counter


class FeedsFromMemory:
    """ASGI middleware: ``GET``/``HEAD /feeds/{token}.ics`` answered from memory when it can.

    What the route would answer for a token the service answered within the recheck time
    (:meth:`~sync.feeds.service.FeedService.from_memory`), the same headers and bytes,
    without routing, a request object or a thread; anything else goes on to the app.
    The answer to a feed, method and raw conditional headers (``If-None-Match``,
    ``If-Modified-Since``, ``Accept-Encoding``) is made once — status, header list, body
    and the request counter's child — and sent as it is to every request that repeats
    them: a subscriber's 304 parses no header, formats no date and builds no list.
    It sits outside the access log, so these answers have no access-log line; the fetch
    log and the request counter still count each one. Being outermost, it hands its
    messages to the server alone, which only reads them, so they are shared.
    """

    def __init__(
        self, app: ASGIApp, *, service: FeedService, fetch_log: FetchLog, metrics: WebMetrics
    ) -> None:
        self.app = app
        self.service = service
        self.fetch_log = fetch_log
        self.metrics = metrics
        self.max_age = int(service.options.refresh.total_seconds())
        self._answers: dict[_AnswerKey, _Prepared] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] == "http"
            and path.startswith(_PREFIX)
            and path.endswith(_SUFFIX)
            and scope["method"] in _METHODS
        ):
            secret = path[len(_PREFIX) : -len(_SUFFIX)]
            known = None if "/" in secret else self.service.from_memory(secret)
            if known is not None and known.feed is not None:
                answer = self._prepared(scope, known.feed)
                await send(answer.start)
                await send(answer.body)
                self.fetch_log.record(known.token_id, answer.status)
                answer.counted.inc()
                return
        await self.app(scope, receive, send)

    def _prepared(self, scope: Scope, feed: RenderedFeed) -> _Prepared:
        """:func:`_reply` as ASGI wants it, made once per feed, method and raw headers."""
        sent = {name: value for name, value in scope["headers"] if name in _CONDITIONAL}
        method: str = scope["method"]
        conditions = tuple(sent.get(name) for name in _CONDITIONAL_ORDER)
        key = (feed.etag, feed.last_modified, method, conditions)
        known = self._answers.get(key)
        if known is None:
            if len(self._answers) >= _HEADER_SETS:
                self._answers.clear()
            wanted = {name: value.decode("latin-1") for name, value in sent.items()}
            status, headers, body = _reply(method, wanted, feed, self.max_age)
            raw = [(k.lower().encode(), v.encode("latin-1")) for k, v in headers.items()]
            known = self._answers[key] = _Prepared(
                start={"type": "http.response.start", "status": status, "headers": raw},
                body={"type": "http.response.body", "body": body},
                status=status,
                counted=self.metrics.feed_requests.labels(status=str(status)),
            )
        return known


_PREFIX, _SUFFIX = "/feeds/", ".ics"
_METHODS = frozenset({"GET", "HEAD"})
_HEADER_SETS = 4096
_CONDITIONAL_ORDER = (b"if-none-match", b"if-modified-since", b"accept-encoding")
_CONDITIONAL = frozenset(_CONDITIONAL_ORDER)
_AnswerKey = tuple[str, datetime, str, tuple[bytes | None, ...]]


def _reply(
    method: str, request: dict[bytes, str], feed: RenderedFeed, max_age: int
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body for a feed: the one answer both paths give."""
    gzipped = accepts_gzip(request.get(b"accept-encoding"))
    headers = {
        **_SAFE,
        "ETag": feed.etag_gzip if gzipped else feed.etag,
        "Last-Modified": http_date(feed.last_modified),
        "Cache-Control": f"private, max-age={max_age}",
        "Vary": "Accept-Encoding",
    }
    stale_check = (request.get(b"if-none-match"), request.get(b"if-modified-since"))
    if not_modified(*stale_check, (feed.etag, feed.etag_gzip), feed.last_modified):
        return 304, headers, b""
    body = feed.gzipped if gzipped else feed.body
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    headers["Content-Length"] = str(len(body))
    headers["Content-Type"] = CALENDAR_TYPE
    return 200, headers, b"" if method == "HEAD" else body


def _unknown() -> Response:
    """The one answer for a token that is unknown, revoked or opens nothing: no hint which."""
    headers = {**_SAFE, "Cache-Control": "no-store"}
    return Response(b"Not Found\n", status_code=404, headers=headers, media_type="text/plain")


def _unavailable() -> Response:
    headers = {**_SAFE, "Cache-Control": "no-store", "Retry-After": "30"}
    return Response(b"Service Unavailable\n", status_code=503, headers=headers)
