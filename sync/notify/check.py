"""A test message through every channel of a clinic: do its admins and webhooks hear us?

``clinic-sync notify test`` sends one to each admin who has not turned notifications off,
and to each enabled webhook, at once (no delivery row, no retry), and puts each outcome on
the clinic's audit trail like any notification (SPEC §8).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from sync.clinics.profile import ClinicProfile
from sync.notify.channel import Channel, DeliveryFailed
from sync.notify.episodes import ACTOR
from sync.notify.messages import Outgoing
from sync.store.audit import record_audit_event
from sync.store.database import session_scope
from sync.store.notifications import NotifyMode, clinic_admins, list_webhooks

__all__ = ["TestOutcome", "send_test"]


@dataclass(frozen=True, slots=True)
class TestOutcome:
    """One recipient of the test, and the failure's reason (``None``: sent)."""

    channel: str
    recipient: str
    reason: str | None


def send_test(
    engine: Engine,
    profile: ClinicProfile,
    channels: Mapping[str, Channel],
    *,
    public_url: str,
    now: datetime,
    only: str | None = None,
) -> list[TestOutcome]:
    """Send the test message to each of the clinic's recipients (or ``only`` that one,
    ``webhook:ID`` or an admin's address); the outcomes."""
    with session_scope(engine) as session:
        members = [m for m in clinic_admins(session, profile.id) if m.mode is not NotifyMode.OFF]
        hooks = [hook for hook in list_webhooks(session, profile.id) if hook.enabled]
    targets = [("email", member.email) for member in members]
    targets += [("webhook", f"webhook:{hook.id}") for hook in hooks]
    targets = [
        (channel, recipient)
        for channel, recipient in targets
        if channel in channels and only in (None, recipient)
    ]
    facts = {"kind": "test", "clinic": profile.name, "link": f"{public_url}/admin/"}
    outcomes = []
    for channel, recipient in targets:
        identity = f"test-{secrets.token_hex(8)}"
        message = Outgoing(identity, profile.id, channel, recipient, [facts])
        try:
            channels[channel].send(message, now=now)
            reason = None
        except DeliveryFailed as err:
            reason = err.reason
        outcomes.append(TestOutcome(channel, recipient, reason))
        _audit(engine, profile.id, message, reason, now)
    return outcomes


def _audit(
    engine: Engine, clinic_id: int, message: Outgoing, reason: str | None, now: datetime
) -> None:
    detail: dict[str, object] = {
        "channel": message.channel,
        "recipient": message.recipient,
        "attempt": 1,
        "message": message.identity,
        "test": True,
    }
    if reason is not None:
        detail["reason"] = reason
    action = "notification.sent" if reason is None else "notification.failed"
    with session_scope(engine) as session:
        record_audit_event(session, clinic_id, ACTOR, action, detail=detail, at=now)
