"""Outgoing webhooks: signed JSON (or Slack text) POSTed to a clinic's URL (SPEC §8).

Each request carries::

    X-Clinic-Sync-Delivery:  <identity>     the same on every attempt: drop repeats by it
    X-Clinic-Sync-Timestamp: <unix seconds> when this attempt was signed
    X-Clinic-Sync-Signature: sha256=<hex>   HMAC-SHA256, keyed by the webhook's secret, of
                                            "<timestamp>.<raw body>" (bytes, UTF-8)

A receiver recomputes the HMAC over the timestamp header, a full stop and the body as
received, compares in constant time, and refuses a timestamp more than five minutes from
its clock: a captured request cannot be replayed later, nor its timestamp changed.

Only ``https`` URLs are accepted (``CLINIC_SYNC_NOTIFY_ALLOW_HTTP`` for loopback tests), and
never one whose host resolves to a private, loopback, link-local or reserved address
(``CLINIC_SYNC_NOTIFY_ALLOW_PRIVATE``): a clinic admin must not reach the service's own
network through it. The check runs when the webhook is added and before every send.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import socket
from datetime import datetime
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Engine

from sync.config import Settings
from sync.errors import InputError
from sync.notify.channel import DeliveryFailed
from sync.notify.messages import Outgoing, encoded, slack_text, webhook_document
from sync.secrets import SecretBox
from sync.store.database import session_scope
from sync.store.notifications import StoredWebhook, list_webhooks

__all__ = ["WebhookChannel", "check_url", "new_secret", "signature"]

FORMATS = ("json", "slack")


def new_secret() -> str:
    """A fresh signing secret (shown once, stored encrypted)."""
    return f"whsec_{secrets.token_urlsafe(32)}"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Clinic-Sync-Signature`` value of ``body`` sent at ``timestamp``."""
    signed = timestamp.encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def check_url(url: str, settings: Settings) -> str:
    """``url`` if notifications may be POSTed to it; :class:`InputError` saying why not."""
    parts = urlsplit(url.strip())
    allowed = ("https", "http") if settings.notify_allow_http else ("https",)
    if parts.scheme not in allowed or not parts.hostname:
        raise InputError(f"a webhook URL must be {' or '.join(allowed)}://HOST/…: {url!r}")
    if not settings.notify_allow_private:
        _refuse_private(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    return url.strip()


def _refuse_private(host: str, port: int) -> None:
    try:
        found = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as err:
        raise InputError(f"the webhook host {host!r} does not resolve: {err}") from err
    for *_, address in found:
        ip = ipaddress.ip_address(address[0])
        if not ip.is_global or ip.is_multicast:
            raise InputError(f"the webhook host {host!r} resolves to a non-public address ({ip})")


class WebhookChannel:
    """POSTs a message to the webhook its recipient names (``webhook:<id>``)."""

    def __init__(
        self, engine: Engine, settings: Settings, box: SecretBox, client: httpx.Client | None = None
    ) -> None:
        self._engine, self._settings, self._box = engine, settings, box
        timeout = httpx.Timeout(settings.notify_webhook_timeout_seconds)
        self._client = client or httpx.Client(timeout=timeout, follow_redirects=False)

    def send(self, message: Outgoing, *, now: datetime) -> None:
        """POST ``message``; :class:`DeliveryFailed` unless the receiver answers 2xx."""
        hook = self._webhook(message)
        try:
            check_url(hook.url, self._settings)
        except InputError as err:
            raise DeliveryFailed(str(err), permanent=True) from err
        document = slack_text(message) if hook.format == "slack" else None
        body = encoded(document or webhook_document(message, message.identity))
        stamp = str(int(now.timestamp()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "clinic-sync",
            "X-Clinic-Sync-Delivery": message.identity,
            "X-Clinic-Sync-Timestamp": stamp,
            "X-Clinic-Sync-Signature": signature(self._box.decrypt(hook.secret), stamp, body),
        }
        try:
            answer = self._client.post(hook.url, content=body, headers=headers)
        except httpx.HTTPError as err:
            raise DeliveryFailed(f"webhook unreachable: {err.__class__.__name__}: {err}") from err
        if not answer.is_success:
            # 410 Gone is the receiver saying it will never take these again.
            raise DeliveryFailed(
                f"webhook answered {answer.status_code}", permanent=answer.status_code == 410
            )

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def _webhook(self, message: Outgoing) -> StoredWebhook:
        webhook_id = int(message.recipient.removeprefix("webhook:"))
        with session_scope(self._engine) as session:
            found = list_webhooks(session, message.clinic_id, ids=[webhook_id])
        if not found or not found[0].enabled:
            raise DeliveryFailed("the webhook was removed or disabled", permanent=True)
        return found[0]
