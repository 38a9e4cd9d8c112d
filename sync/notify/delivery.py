"""Sending the due deliveries: claimed under a lease, sent, settled, retried (SPEC §8).

A run leases up to a batch of due deliveries (with every other item of a digest among
them), groups them into messages (a digest is one message), sends each through its
channel and settles it in one transaction with its audit records: ``notification.sent``,
or ``notification.failed`` once it fails for good (detail: channel, recipient, attempt,
reason, delivery). A failure that may pass is tried again after an exponential back-off
with jitter, up to ``CLINIC_SYNC_NOTIFY_MAX_ATTEMPTS`` attempts.

A worker killed between the send and the settle leaves the lease to expire; the next run
sends again under the same identity (Message-ID, ``X-Clinic-Sync-Delivery``), which is
all SMTP and HTTP allow: at least once, never lost, a repeat recognisable by the receiver.
A holder whose lease was taken over settles nothing (the update matches its name alone).
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from sync.notify.channel import Channel, DeliveryFailed
from sync.notify.episodes import ACTOR
from sync.notify.messages import Outgoing
from sync.notify.metrics import NotificationMetrics
from sync.store.audit import record_audit_event
from sync.store.database import session_scope
from sync.store.notifications import (
    Delivery,
    claim_deliveries,
    release_deliveries,
    retry_deliveries,
    settle_deliveries,
)
from sync.store.tables import AuditEventRow

__all__ = ["Backoff", "Delivered", "deliver_due"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential back-off with jitter, as a stored due time rather than a sleep.

    The wait outlives the process (a restart must not retry at once), so it is kept in
    ``due_at`` instead of a retry loop in memory: ``base × 2^(attempt-1)`` up to ``cap``,
    plus up to ``base`` of random jitter, so receivers that were down are not hit by every
    waiting delivery at the same second.
    """

    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)
    max_attempts: int = 6
    jitter: Callable[[], float] = random.random

    def wait(self, attempt: int) -> timedelta:
        """How long to wait after failed attempt number ``attempt`` (1 is the first)."""
        exponential: timedelta = min(self.cap, self.base * 2 ** (attempt - 1))
        return exponential + self.base * self.jitter()


@dataclass(frozen=True, slots=True)
class Delivered:
    """What one delivery run did, counted in messages."""

    sent: int = 0
    retried: int = 0
    failed: int = 0


def deliver_due(
    engine: Engine,
    channels: Mapping[str, Channel],
    *,
    owner: str,
    now: datetime,
    backoff: Backoff,
    lease: timedelta = timedelta(minutes=5),
    limit: int = 100,
    metrics: NotificationMetrics | None = None,
    clinic_id: int | None = None,
) -> Delivered:
    """Send what is due at ``now`` (of ``clinic_id`` only, when given), each message settled
    as its channel answers."""
    with session_scope(engine) as session:
        claimed = claim_deliveries(
            session, owner, now=now, lease=lease, limit=limit, clinic_id=clinic_id
        )
    run = _Run(engine, owner, now, backoff)
    outcomes = {"sent": 0, "retried": 0, "failed": 0}
    started, messages = time.monotonic(), _messages(claimed)
    for index, (message, deliveries) in enumerate(messages):
        if time.monotonic() - started > lease.total_seconds() / 2:
            # Slow receivers ate half the lease: hand the rest back rather than risk
            # sending them after another notifier has taken them over.
            with session_scope(engine) as session:
                release_deliveries(session, [d.id for _, ds in messages[index:] for d in ds], owner)
            break
        outcome = run.send(channels.get(message.channel), message, deliveries)
        outcomes[outcome] += 1
        if metrics is not None:
            metrics.count(message.channel, outcome)
    return Delivered(**outcomes)


@dataclass(frozen=True, slots=True)
class _Run:
    engine: Engine
    owner: str
    now: datetime
    backoff: Backoff

    def send(
        self, channel: Channel | None, message: Outgoing, deliveries: Sequence[Delivery]
    ) -> str:
        ids = [d.id for d in deliveries]
        try:
            if channel is None:
                raise DeliveryFailed(f"no {message.channel} channel is configured", permanent=True)
            channel.send(message, now=self.now)
        except DeliveryFailed as err:
            return self._failed(message, deliveries, err)
        with session_scope(self.engine) as session:
            if settle_deliveries(session, ids, self.owner, "sent", now=self.now):
                _audit(session, "notification.sent", message, deliveries, at=self.now)
            else:
                _log.warning("notification %s sent after its lease was taken", message.identity)
        return "sent"

    def _failed(
        self, message: Outgoing, deliveries: Sequence[Delivery], err: DeliveryFailed
    ) -> str:
        ids = [d.id for d in deliveries]
        final = err.permanent or message.attempt >= self.backoff.max_attempts
        with session_scope(self.engine) as session:
            if final:
                if settle_deliveries(
                    session, ids, self.owner, "failed", now=self.now, error=err.reason
                ):
                    _audit(
                        session,
                        "notification.failed",
                        message,
                        deliveries,
                        at=self.now,
                        reason=err.reason,
                    )
                _log.warning("notification %s failed for good: %s", message.identity, err)
                return "failed"
            due = self.now + self.backoff.wait(message.attempt)
            retry_deliveries(session, ids, self.owner, due_at=due, error=err.reason)
        _log.info("notification %s: attempt %d failed (%s)", message.identity, message.attempt, err)
        return "retried"


def _audit(
    session: Session,
    action: str,
    message: Outgoing,
    deliveries: Sequence[Delivery],
    *,
    at: datetime,
    reason: str | None = None,
) -> None:
    for delivery in deliveries:
        told = session.get(AuditEventRow, delivery.audit_event_id)
        detail: dict[str, object] = {
            "channel": message.channel,
            "recipient": message.recipient,
            "attempt": message.attempt,
            "delivery": delivery.id,
            "message": message.identity,
            "event": delivery.audit_event_id,
        }
        if "conflict" in delivery.facts:
            detail["conflict"] = delivery.facts["conflict"]
        if reason is not None:
            detail["reason"] = reason
        record_audit_event(
            session,
            delivery.clinic_id,
            ACTOR,
            action,
            conflict_id=told.conflict_id if told else None,
            detail=detail,
            at=at,
        )


def _messages(claimed: Sequence[Delivery]) -> list[tuple[Outgoing, list[Delivery]]]:
    groups: dict[str, list[Delivery]] = {}
    for delivery in claimed:
        groups.setdefault(delivery.batch_key or f"single:{delivery.id}", []).append(delivery)
    return [(_message(key, items), items) for key, items in groups.items()]


def _message(key: str, items: Sequence[Delivery]) -> Outgoing:
    first = items[0]
    digest = first.batch_key is not None
    identity = (
        f"digest-{hashlib.sha256(key.encode()).hexdigest()[:20]}" if digest else str(first.id)
    )
    return Outgoing(
        identity=identity,
        clinic_id=first.clinic_id,
        channel=first.channel,
        recipient=first.recipient,
        items=[item.facts for item in items],
        digest=digest,
        attempt=max(item.attempts for item in items),
    )
