"""The notifier's rows: who wants what, webhooks, the cursor, episodes, deliveries (SPEC §8).

A clinic's audit trail drives its notifications (:mod:`sync.notify`). The notifier reads
the trail after its cursor, plans one delivery per record and recipient, and moves the
cursor in the same transaction; the unique (record, recipient) pair makes planning twice
harmless. Deliveries are claimed under a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
like calendar leases), and settled by the holder of the lease alone.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, text, update
from sqlmodel import Session, col, select

from sync.store.audit import AuditEvent, audit_event
from sync.store.bulk import insert_if_absent
from sync.store.errors import RecordNotFound
from sync.store.tables import (
    AuditEventRow,
    ClinicRow,
    MembershipRow,
    NotificationCursorRow,
    NotificationDeliveryRow,
    NotificationEpisodeRow,
    NotificationPreferenceRow,
    NotificationWebhookRow,
    UserRow,
)

__all__ = [
    "Delivery",
    "DeliveryPlan",
    "Member",
    "NotifyMode",
    "StoredWebhook",
    "add_webhook",
    "advance_cursor",
    "claim_deliveries",
    "clinic_admins",
    "clinics_behind",
    "cursor_of",
    "delivery_counts",
    "events_after",
    "hold_trail",
    "list_webhooks",
    "open_episode",
    "plan_deliveries",
    "release_deliveries",
    "remove_webhook",
    "retry_deliveries",
    "set_preference",
    "settle_deliveries",
]

_Row = NotificationDeliveryRow


class NotifyMode(enum.StrEnum):
    """How a member is told: each at once, once a day, or not at all."""

    IMMEDIATE = "immediate"
    DAILY = "daily"
    OFF = "off"


@dataclass(frozen=True, slots=True)
class Member:
    """An admin of a clinic who can be e-mailed, with the way they chose."""

    user_id: int
    email: str
    mode: NotifyMode


@dataclass(frozen=True, slots=True)
class StoredWebhook:
    """A clinic's webhook; ``secret`` still encrypted."""

    id: int
    clinic_id: int
    url: str
    secret: str
    format: str
    enabled: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryPlan:
    """A delivery to create: what to tell whom, and when it is due."""

    clinic_id: int
    audit_event_id: int
    channel: str
    recipient: str
    due_at: datetime
    facts: dict[str, Any] = field(hash=False)
    batch_key: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """A claimed delivery; ``attempts`` counts this one."""

    id: int
    clinic_id: int
    audit_event_id: int
    channel: str
    recipient: str
    batch_key: str | None
    facts: dict[str, Any] = field(hash=False)
    attempts: int = 1


# Members and webhooks ---------------------------------------------------------------------


def clinic_admins(session: Session, clinic_id: int) -> list[Member]:
    """The clinic's admins whose account is not disabled, with their chosen mode."""
    query = (
        select(UserRow, NotificationPreferenceRow.mode)
        .join(MembershipRow, col(MembershipRow.user_id) == col(UserRow.id))
        .outerjoin(
            NotificationPreferenceRow,
            (col(NotificationPreferenceRow.user_id) == col(UserRow.id))
            & (col(NotificationPreferenceRow.clinic_id) == clinic_id),
        )
        .where(col(MembershipRow.clinic_id) == clinic_id, col(MembershipRow.role) == "admin")
        .where(col(UserRow.disabled_at).is_(None))
        .order_by(col(UserRow.email))
    )
    return [
        Member(_id(user.id), user.email, NotifyMode(mode or NotifyMode.IMMEDIATE))
        for user, mode in session.exec(query)
    ]


def set_preference(
    session: Session, user_id: int, clinic_id: int, mode: NotifyMode, *, now: datetime
) -> None:
    """Record how ``user_id`` wants the clinic's notifications."""
    row = session.exec(
        select(NotificationPreferenceRow).where(
            col(NotificationPreferenceRow.user_id) == user_id,
            col(NotificationPreferenceRow.clinic_id) == clinic_id,
        )
    ).first()
    row = row or NotificationPreferenceRow(
        user_id=user_id, clinic_id=clinic_id, mode=mode.value, updated_at=now
    )
    row.mode, row.updated_at = mode.value, now
    session.add(row)
    session.flush()


def add_webhook(
    session: Session, clinic_id: int, url: str, secret: str, fmt: str, *, now: datetime
) -> StoredWebhook:
    """A new enabled webhook; ``secret`` already encrypted."""
    row = NotificationWebhookRow(
        clinic_id=clinic_id, url=url, secret=secret, format=fmt, enabled=True, created_at=now
    )
    session.add(row)
    session.flush()
    return _webhook(row)


def list_webhooks(
    session: Session, clinic_id: int, *, ids: Collection[int] | None = None
) -> list[StoredWebhook]:
    """The clinic's webhooks (only ``ids`` when given), oldest first."""
    query = select(NotificationWebhookRow).where(col(NotificationWebhookRow.clinic_id) == clinic_id)
    if ids is not None:
        query = query.where(col(NotificationWebhookRow.id).in_(list(ids)))
    return [_webhook(row) for row in session.exec(query.order_by(col(NotificationWebhookRow.id)))]


def remove_webhook(session: Session, clinic_id: int, webhook_id: int) -> None:
    """Delete one of the clinic's webhooks; another clinic's answers like a missing one."""
    row = session.get(NotificationWebhookRow, webhook_id)
    if row is None or row.clinic_id != clinic_id:
        raise RecordNotFound(f"no webhook with id {webhook_id}")
    session.delete(row)
    session.flush()


# The cursor over the trail, and episodes ---------------------------------------------------


def hold_trail(session: Session) -> None:
    """Wait until every transaction adding to the trail has committed, and hold new ones off.

    PostgreSQL hands out ids before commit, so a record with a lower id can become visible
    after one with a higher id; reading past it would skip it for good. ``SHARE`` mode
    conflicts with the ``ROW EXCLUSIVE`` lock each insert holds until its commit, so once
    granted every id up to the highest visible one is committed. SQLite has one writer at
    a time, and ids are handed out in commit order already.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE audit_events IN SHARE MODE"))


def clinics_behind(session: Session, clinic_id: int | None = None) -> list[int]:
    """The clinics (or the one ``clinic_id``) whose trail has records after the cursor.

    An ``EXISTS`` per clinic past its cursor reads only the new end of the trail (the
    primary key's range), not the whole trail, however long it grows.
    """
    cursor = func.coalesce(col(NotificationCursorRow.last_event_id), 0)
    newer = (
        select(col(AuditEventRow.id))
        .where(col(AuditEventRow.clinic_id) == col(ClinicRow.id), col(AuditEventRow.id) > cursor)
        .exists()
    )
    query = (
        select(col(ClinicRow.id))
        .outerjoin(NotificationCursorRow, col(NotificationCursorRow.clinic_id) == col(ClinicRow.id))
        .where(newer)
        .order_by(col(ClinicRow.id))
    )
    if clinic_id is not None:
        query = query.where(col(ClinicRow.id) == clinic_id)
    return [_id(found) for found in session.exec(query)]


def cursor_of(session: Session, clinic_id: int) -> int:
    """The id of the last audit record of the clinic turned into deliveries (0: none)."""
    row = _cursor_row(session, clinic_id)
    return 0 if row is None else row.last_event_id


def advance_cursor(session: Session, clinic_id: int, last_event_id: int, *, now: datetime) -> None:
    """Move the clinic's cursor forward to ``last_event_id`` (never back)."""
    row = _cursor_row(session, clinic_id)
    if row is None:
        row = NotificationCursorRow(clinic_id=clinic_id, last_event_id=0, updated_at=now)
    row.last_event_id, row.updated_at = max(row.last_event_id, last_event_id), now
    session.add(row)
    session.flush()


def events_after(session: Session, clinic_id: int, after: int, limit: int) -> list[AuditEvent]:
    """Up to ``limit`` of the clinic's audit records after id ``after``, in id order."""
    query = (
        select(AuditEventRow)
        .where(col(AuditEventRow.clinic_id) == clinic_id, col(AuditEventRow.id) > after)
        .order_by(col(AuditEventRow.id))
        .limit(limit)
    )
    return [audit_event(row) for row in session.exec(query)]


def open_episode(session: Session, clinic_id: int, key: str, *, started_at: datetime) -> int | None:
    """Claim the spell ``key``: its row id when this call opened it, ``None`` when known.

    A concurrent notifier waits on the unique key and then finds it taken.
    """
    values = {"clinic_id": clinic_id, "key": key, "started_at": started_at, "audit_event_id": 0}
    statement = (
        insert_if_absent(session.get_bind().dialect, NotificationEpisodeRow)
        .values(**values)
        .returning(col(NotificationEpisodeRow.id))
    )
    opened = session.exec(statement).scalar_one_or_none()
    return None if opened is None else int(opened)


def record_episode_event(session: Session, episode_id: int, audit_event_id: int) -> None:
    """Tie an opened spell to the audit record that tells of it."""
    session.execute(
        update(NotificationEpisodeRow)
        .where(col(NotificationEpisodeRow.id) == episode_id)
        .values(audit_event_id=audit_event_id)
    )


__all__ += ["record_episode_event"]


# Deliveries ---------------------------------------------------------------------------------


def plan_deliveries(session: Session, plans: Iterable[DeliveryPlan], *, now: datetime) -> int:
    """Create the deliveries not planned already; how many were new."""
    created = 0
    for plan in plans:
        values = {
            "clinic_id": plan.clinic_id,
            "audit_event_id": plan.audit_event_id,
            "channel": plan.channel,
            "recipient": plan.recipient,
            "batch_key": plan.batch_key,
            "facts": plan.facts,
            "state": "pending",
            "attempts": 0,
            "due_at": plan.due_at,
            "created_at": now,
        }
        statement = (
            insert_if_absent(session.get_bind().dialect, _Row)
            .values(**values)
            .returning(col(_Row.id))
        )
        created += session.exec(statement).scalar_one_or_none() is not None
    return created


def claim_deliveries(
    session: Session,
    owner: str,
    *,
    now: datetime,
    lease: timedelta,
    limit: int,
    clinic_id: int | None = None,
) -> list[Delivery]:
    """Lease up to ``limit`` due deliveries (of ``clinic_id`` only, when given), and every
    other item of a digest among them."""
    mine = [] if clinic_id is None else [col(_Row.clinic_id) == clinic_id]
    due = (
        select(col(_Row.id))
        .where(col(_Row.state) == "pending", col(_Row.due_at) <= now, _free(now), *mine)
        .order_by(col(_Row.due_at), col(_Row.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = set(session.exec(due))
    batches = {
        key for key in session.exec(select(col(_Row.batch_key)).where(col(_Row.id).in_(ids))) if key
    }
    if batches:
        ids |= set(
            session.exec(
                select(col(_Row.id))
                .where(col(_Row.batch_key).in_(batches), col(_Row.state) == "pending", _free(now))
                .with_for_update(skip_locked=True)
            )
        )
    if not ids:
        return []
    # Still free, checked again: SQLite has no row locks, so another claimer may have
    # taken some of these between the select and this update.
    session.exec(
        update(_Row)
        .where(col(_Row.id).in_(ids), col(_Row.state) == "pending", _free(now))
        .values(lease_owner=owner, lease_expires_at=now + lease, attempts=col(_Row.attempts) + 1)
    )
    held = select(_Row).where(col(_Row.id).in_(ids), col(_Row.lease_owner) == owner)
    return [_delivery(row) for row in session.exec(held.order_by(col(_Row.id)))]


def settle_deliveries(
    session: Session,
    ids: Sequence[int],
    owner: str,
    state: str,
    *,
    now: datetime,
    error: str | None = None,
) -> bool:
    """Mark ``ids`` sent or failed, if ``owner`` still holds them; whether it did."""
    return _update_held(
        session,
        ids,
        owner,
        state=state,
        settled_at=now,
        last_error=error,
        lease_owner=None,
        lease_expires_at=None,
    )


def retry_deliveries(
    session: Session, ids: Sequence[int], owner: str, *, due_at: datetime, error: str
) -> bool:
    """Put ``ids`` back as due at ``due_at`` after a failed attempt, if ``owner`` holds them."""
    return _update_held(
        session,
        ids,
        owner,
        due_at=due_at,
        last_error=error,
        lease_owner=None,
        lease_expires_at=None,
    )


def release_deliveries(session: Session, ids: Sequence[int], owner: str) -> None:
    """Hand back leased deliveries not attempted after all (the attempt is not counted)."""
    _update_held(
        session,
        ids,
        owner,
        lease_owner=None,
        lease_expires_at=None,
        attempts=col(_Row.attempts) - 1,
    )


def delivery_counts(session: Session, clinic_id: int) -> dict[str, int]:
    """How many of the clinic's deliveries are in each state."""
    query = (
        select(col(_Row.state), func.count())
        .where(col(_Row.clinic_id) == clinic_id)
        .group_by(col(_Row.state))
    )
    return {state: int(count) for state, count in session.exec(query)}


def _update_held(session: Session, ids: Sequence[int], owner: str, **values: Any) -> bool:
    statement = (
        update(_Row)
        .where(col(_Row.id).in_(list(ids)), col(_Row.lease_owner) == owner)
        .where(col(_Row.state) == "pending")
        .values(**values)
    )
    return bool(session.exec(statement).rowcount)


def _free(now: datetime) -> Any:
    return or_(col(_Row.lease_owner).is_(None), col(_Row.lease_expires_at) <= now)


def _cursor_row(session: Session, clinic_id: int) -> NotificationCursorRow | None:
    query = select(NotificationCursorRow).where(col(NotificationCursorRow.clinic_id) == clinic_id)
    return session.exec(query).first()


def _id(value: int | None) -> int:
    assert value is not None, "a stored row has an id"
    return value


def _webhook(row: NotificationWebhookRow) -> StoredWebhook:
    return StoredWebhook(
        _id(row.id), row.clinic_id, row.url, row.secret, row.format, row.enabled, row.created_at
    )


def _delivery(row: NotificationDeliveryRow) -> Delivery:
    return Delivery(
        id=_id(row.id),
        clinic_id=row.clinic_id,
        audit_event_id=row.audit_event_id,
        channel=row.channel,
        recipient=row.recipient,
        batch_key=row.batch_key,
        facts=dict(row.facts),
        attempts=row.attempts,
    )
