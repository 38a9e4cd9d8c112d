"""``POST /webhooks/google``: Google's push notifications for the clinic's calendars (SPEC §9).

Follows https://developers.google.com/calendar/api/guides/push ("Receiving
notifications"): the answer must come fast and be 2xx for a message we accept, so the
handler only checks the channel and marks its calendar due (:func:`sync.push.receive`),
and a worker pulls it. An unknown channel, a wrong token and missing headers all get the
same bare 404, and nothing happens. A store failure answers 503, which Google retries with
exponential backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, Request, Response
from sqlalchemy import Engine

from sync.push.notifications import Receipt, read_notification, receive
from sync.push.options import WEBHOOK_PATH
from sync.store.errors import StoreError

__all__ = ["webhooks_router"]

_log = logging.getLogger(__name__)
_PLAIN = "text/plain"


def webhooks_router(engine: Engine, clock: Callable[[], datetime]) -> APIRouter:
    """The router receiving Google's notifications into ``engine``'s store."""
    router = APIRouter(tags=["webhooks"])

    @router.post(WEBHOOK_PATH, operation_id="google_push_notification")
    def google(request: Request) -> Response:
        """A push notification from Google Calendar: 200 when accepted, 404 otherwise."""
        notification = read_notification(request.headers)
        if notification is None:
            return _not_found()
        try:
            receipt = receive(engine, notification, clock())
        except StoreError as err:
            _log.error("push notification not recorded: %s", err)
            return Response("Service Unavailable\n", status_code=503, media_type=_PLAIN)
        if receipt is Receipt.REJECTED:
            return _not_found()
        return Response(status_code=200)

    return router


def _not_found() -> Response:
    """The one answer for any notification we do not accept: no hint which check failed."""
    return Response("Not Found\n", status_code=404, media_type=_PLAIN)
