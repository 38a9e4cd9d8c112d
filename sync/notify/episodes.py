"""Spells of trouble put on the audit trail once each, so they are told once (SPEC §8, §9).

Two kinds, both read from state other parts keep:

- a calendar failing to sync: enabled, failing now (``consecutive_failures`` above zero)
  and without a success for ``CLINIC_SYNC_NOTIFY_CALENDAR_FAILING_MINUTES`` (since its last
  success, or since it was connected); the spell is that calendar and that last success;
- a grant that needs reconnecting (:mod:`sync.sources.google.grants` marks the credential
  ``reconnect_required``); the spell is that credential and the moment it turned.

Each spell is claimed by its key (:func:`~sync.store.notifications.open_episode`) and put
on the trail as ``calendar.sync_failing`` or ``grant.reconnect_required`` in the same
transaction; from there it is told like any other record (:mod:`sync.notify.planning`).
Error text is cut to its first line: it comes from a provider, not from a booking.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from sync.ingest.text import first_line
from sync.notify.facts import CALENDAR_FAILING, GRANT_RECONNECT
from sync.store.audit import record_audit_event
from sync.store.notifications import open_episode, record_episode_event
from sync.store.tables import CalendarSourceRow, CredentialRow

__all__ = ["ACTOR", "record_episodes"]

ACTOR = "notifier"


def record_episodes(
    session: Session, *, now: datetime, failing_after: timedelta, clinic_id: int | None = None
) -> int:
    """Put each new spell of trouble on its clinic's trail (of ``clinic_id`` only, when
    given); how many were new."""
    return _calendars(session, now, failing_after, clinic_id) + _grants(session, now, clinic_id)


def _calendars(
    session: Session, now: datetime, failing_after: timedelta, clinic_id: int | None
) -> int:
    mine = [] if clinic_id is None else [col(CalendarSourceRow.clinic_id) == clinic_id]
    query = select(CalendarSourceRow).where(
        col(CalendarSourceRow.enabled).is_(True),
        col(CalendarSourceRow.consecutive_failures) > 0,
        *mine,
    )
    opened = 0
    for row in session.exec(query):
        since = row.last_sync_at or row.created_at
        if now - since < failing_after or row.id is None:
            continue
        detail: dict[str, object] = {
            "calendar": row.display_name,
            "since": since.isoformat(timespec="seconds"),
            "failures": row.consecutive_failures,
            "error": first_line(row.last_error or "") or "unknown error",
        }
        key = f"calendar:{row.id}:{since.isoformat()}"
        opened += _open(
            session, row.clinic_id, key, CALENDAR_FAILING, detail=detail, now=now, source_id=row.id
        )
    return opened


def _grants(session: Session, now: datetime, clinic_id: int | None) -> int:
    mine = [] if clinic_id is None else [col(CredentialRow.clinic_id) == clinic_id]
    query = select(CredentialRow).where(col(CredentialRow.state) == "reconnect_required", *mine)
    opened = 0
    for row in session.exec(query):
        turned = row.state_changed_at or row.updated_at
        detail: dict[str, object] = {
            "provider": row.provider,
            "account": row.account,
            "reason": first_line(row.state_reason or "") or "the provider refused the grant",
        }
        key = f"grant:{row.id}:{turned.isoformat()}"
        opened += _open(
            session, row.clinic_id, key, GRANT_RECONNECT, detail=detail, now=now, source_id=None
        )
    return opened


def _open(
    session: Session,
    clinic_id: int,
    key: str,
    action: str,
    *,
    detail: dict[str, object],
    now: datetime,
    source_id: int | None,
) -> int:
    episode = open_episode(session, clinic_id, key, started_at=now)
    if episode is None:
        return 0
    event = record_audit_event(
        session, clinic_id, ACTOR, action, calendar_source_id=source_id, detail=detail, at=now
    )
    record_episode_event(session, episode, event.id)
    return 1
