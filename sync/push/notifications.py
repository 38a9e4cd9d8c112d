"""Receiving a Google push notification: check it, then make its calendar due (SPEC §9).

Follows https://developers.google.com/calendar/api/guides/push ("Receiving
notifications"). A notification is only headers: X-Goog-Channel-ID, -Token, X-Goog-Resource-ID,
-State and X-Goog-Message-Number. One whose channel is unknown, or whose token or resource
does not match the stored channel, is rejected and changes nothing. The first message of a
channel, ``sync``, only says the channel works; ``exists`` and ``not_exists`` say the
calendar changed, and make it due now: a worker's claim loop pulls it within its claim
interval. Nothing is pulled here, so the answer is immediate. Messages repeated or out of
order only make a calendar due that is already due.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from sync.store.channels import mark_due, record_notification, verify_channel
from sync.store.database import session_scope

__all__ = ["CHANGE_STATES", "Notification", "Receipt", "read_notification", "receive"]

CHANGE_STATES = frozenset({"exists", "not_exists"})


class Receipt(enum.Enum):
    """What became of a notification."""

    REJECTED = "rejected"
    """Unknown channel, wrong token or resource: nothing was done."""
    IGNORED = "ignored"
    """A genuine message that says nothing changed (``sync``, or a state we do not use)."""
    MARKED_DUE = "marked_due"


@dataclass(frozen=True, slots=True)
class Notification:
    """The headers of one notification that matter to us."""

    channel_id: str
    token: str
    resource_id: str
    state: str
    message_number: int | None = None


def read_notification(headers: Mapping[str, str]) -> Notification | None:
    """The notification in ``headers`` (any case), or ``None`` when a required one is missing."""
    lowered = {name.lower(): value for name, value in headers.items()}
    fields = [lowered.get(f"x-goog-{name}", "") for name in _REQUIRED]
    if not all(fields):
        return None
    channel_id, token, resource_id, state = fields
    number = lowered.get("x-goog-message-number", "")
    return Notification(
        channel_id, token, resource_id, state, int(number) if number.isdigit() else None
    )


def receive(engine: Engine, notification: Notification, now: datetime) -> Receipt:
    """Check ``notification`` against the stored channel and act on it, in one transaction."""
    with session_scope(engine) as session:
        channel = verify_channel(
            session, notification.channel_id, notification.token, notification.resource_id
        )
        if channel is None:
            return Receipt.REJECTED
        if notification.state not in CHANGE_STATES or channel.source_id is None:
            return Receipt.IGNORED
        record_notification(session, channel.channel_id, notification.message_number, now)
        mark_due(session, channel.clinic_id, channel.source_id, now)
        return Receipt.MARKED_DUE


_REQUIRED = ("channel-id", "channel-token", "resource-id", "resource-state")
