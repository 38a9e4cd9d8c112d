"""Push channels: the Google events.watch channels open on a clinic's calendars (SPEC §9).

Follows https://developers.google.com/calendar/api/guides/push. A channel is stored when
it opens and forgotten once stopped or expired. Its token is kept only as a SHA-256 hash,
compared in constant time when a notification arrives (:func:`verify_channel`). A
notification that checks out is counted on the channel (:func:`record_notification`) and
makes the calendar due now (:func:`mark_due`), which the workers' claim loop then picks up.

A channel belongs to one clinic and acts only on that clinic's calendar (SPEC §8): one
whose calendar is now another clinic's does not verify, so it is answered like an
unknown channel, and :func:`mark_due` moves a calendar only within the clinic named.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, delete, func, or_, update
from sqlmodel import Session, col, select

from sync.store.tables import CalendarSourceRow, PushChannelRow

__all__ = [
    "PushChannel",
    "add_channel",
    "channels_of_source",
    "channels_to_stop",
    "clinics_to_sweep",
    "forget_channel",
    "forget_expired",
    "hash_token",
    "mark_due",
    "notification_count",
    "record_notification",
    "set_next_poll",
    "verify_channel",
]

_Row = PushChannelRow
_Source = CalendarSourceRow


@dataclass(frozen=True, slots=True)
class PushChannel:
    """One open channel: what Google calls it, which calendar it watches, until when."""

    channel_id: str
    resource_id: str
    clinic_id: int
    source_id: int | None
    opened_at: datetime
    expires_at: datetime
    notifications: int


def hash_token(token: str) -> str:
    """The stored form of a channel token (the token is random, 256 bits: no salt needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def add_channel(session: Session, channel: PushChannel, token: str) -> None:
    """Store a channel Google just opened, with the hash of its ``token``."""
    session.add(
        _Row(
            clinic_id=channel.clinic_id,
            source_id=channel.source_id,
            channel_id=channel.channel_id,
            resource_id=channel.resource_id,
            token_hash=hash_token(token),
            opened_at=channel.opened_at,
            expires_at=channel.expires_at,
        )
    )
    session.flush()


def channels_of_source(session: Session, source_id: int) -> list[PushChannel]:
    """The channels watching calendar ``source_id``, the one expiring last at the end."""
    query = select(_Row).where(_Row.source_id == source_id).order_by(col(_Row.expires_at))
    return [_channel(row) for row in session.exec(query)]


def channels_to_stop(session: Session, clinic_id: int, now: datetime) -> list[PushChannel]:
    """Unexpired channels of ``clinic_id`` whose calendar was removed, disabled or left Google."""
    unwatched = or_(
        col(_Row.source_id).is_(None),
        col(_Row.source_id).in_(
            select(_Source.id).where(
                or_(col(_Source.enabled).is_(False), col(_Source.provider) != "google")
            )
        ),
    )
    query = (
        select(_Row)
        .where(_Row.clinic_id == clinic_id, col(_Row.expires_at) > now, unwatched)
        .order_by(col(_Row.id))
    )
    return [_channel(row) for row in session.exec(query)]


def clinics_to_sweep(session: Session, now: datetime) -> list[int]:
    """Clinics with a channel to stop (see :func:`channels_to_stop`) or to forget (expired)."""
    unwatched = or_(
        col(_Row.source_id).is_(None),
        col(_Row.source_id).in_(
            select(_Source.id).where(
                or_(col(_Source.enabled).is_(False), col(_Source.provider) != "google")
            )
        ),
    )
    query = (
        select(col(_Row.clinic_id))
        .where(or_(col(_Row.expires_at) <= now, unwatched))
        .distinct()
        .order_by(col(_Row.clinic_id))
    )
    return [int(clinic_id) for clinic_id in session.exec(query)]


def forget_channel(session: Session, channel_id: str) -> None:
    """Drop a channel that was stopped (or that Google no longer knows)."""
    session.exec(delete(_Row).where(col(_Row.channel_id) == channel_id))


def forget_expired(session: Session, clinic_id: int, now: datetime) -> int:
    """Drop the channels Google has already closed by expiry; how many there were."""
    statement = delete(_Row).where(col(_Row.clinic_id) == clinic_id, col(_Row.expires_at) <= now)
    return int(session.exec(statement).rowcount)


def verify_channel(
    session: Session, channel_id: str, token: str, resource_id: str
) -> PushChannel | None:
    """The channel a notification claims to come from, or ``None`` if it does not check out.

    It checks out when the token and resource match and its calendar (if it still has
    one) is of the channel's own clinic.
    """
    query = (
        select(_Row, _Source.clinic_id)
        .outerjoin(_Source, col(_Source.id) == col(_Row.source_id))
        .where(_Row.channel_id == channel_id)
    )
    found = session.exec(query).first()
    if found is None:
        return None
    row, source_clinic = found
    token_ok = hmac.compare_digest(hash_token(token), row.token_hash)
    own = source_clinic is None or source_clinic == row.clinic_id
    return _channel(row) if token_ok and own and resource_id == row.resource_id else None


def record_notification(
    session: Session, channel_id: str, message_number: int | None, now: datetime
) -> None:
    """Count a notification; the highest message number seen is kept (they may come unordered)."""
    values: dict[str, Any] = {
        "notifications": col(_Row.notifications) + 1,
        "last_notified_at": now,
    }
    if message_number is not None:
        latest = col(_Row.last_message_number)
        newer = or_(latest.is_(None), latest < message_number)
        values["last_message_number"] = case((newer, message_number), else_=latest)
    statement = update(_Row).where(col(_Row.channel_id) == channel_id).values(**values)
    session.exec(statement)


def notification_count(session: Session, source_id: int) -> int:
    """Notifications accepted so far on the channels of ``source_id``."""
    query = select(func.coalesce(func.sum(_Row.notifications), 0)).where(
        _Row.source_id == source_id
    )
    return int(session.exec(query).one())


def mark_due(session: Session, clinic_id: int, source_id: int, now: datetime) -> bool:
    """Make a healthy, enabled calendar of ``clinic_id`` due now; whether it was due later.

    A calendar backing off after failures keeps its backoff: a notification says that
    something changed, not that Google stopped refusing us. A calendar of another clinic
    is left alone.
    """
    later = col(_Source.next_poll_at) > now
    return _reschedule(session, source_id, now, and_(col(_Source.clinic_id) == clinic_id, later))


def set_next_poll(session: Session, source_id: int, when: datetime) -> bool:
    """Move a healthy calendar's next poll to ``when``; whether it was moved."""
    return _reschedule(session, source_id, when, col(_Source.next_poll_at).is_not(None))


def _reschedule(
    session: Session, source_id: int, when: datetime, guard: ColumnElement[bool]
) -> bool:
    statement = (
        update(_Source)
        .where(
            col(_Source.id) == source_id,
            col(_Source.enabled).is_(True),
            col(_Source.consecutive_failures) == 0,
            guard,
        )
        .values(next_poll_at=when)
        .execution_options(synchronize_session=False)
    )
    return bool(session.exec(statement).rowcount)


def _channel(row: PushChannelRow) -> PushChannel:
    return PushChannel(
        channel_id=row.channel_id,
        resource_id=row.resource_id,
        clinic_id=row.clinic_id,
        source_id=row.source_id,
        opened_at=row.opened_at,
        expires_at=row.expires_at,
        notifications=row.notifications,
    )
