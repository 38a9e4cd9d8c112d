"""What the admin UI and the JSON API both do, in one place (SPEC §8).

Each function opens its own unit of work, records changes in the audit trail with the
acting user's e-mail as actor, and returns plain records; the routers only translate
them into pages or JSON. Errors are :class:`~sync.errors.InputError` subclasses the
routers map to 404, 409 or 422.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session

from rules.model import Rule
from sync.feeds.scope import FeedScope, ScopeKind
from sync.feeds.tokens import IssuedToken, issue_token, revoke_token
from sync.store.audit import AuditEvent, list_audit_events, record_audit_event
from sync.store.audit_queries import AuditFilter, AuditPage, find_audit_events
from sync.store.clinics import Clinic, list_clinics
from sync.store.database import session_scope
from sync.store.feeds import FeedToken, list_feed_tokens
from sync.store.quarantine import QuarantinedEvent, list_quarantined
from sync.store.review import (
    ConflictFilter,
    ConflictPage,
    ConflictView,
    acknowledge,
    find_conflict,
    find_conflicts,
    override,
    reopen,
)
from sync.store.sources import CalendarSource, list_sources
from sync.store.users import User
from sync.web.admin.calendar_writes import bring_flag_in_line
from sync.web.admin.context import AdminContext

__all__ = [
    "ConflictDetail",
    "Review",
    "audit_page",
    "calendars",
    "clinics",
    "conflict_detail",
    "conflict_page",
    "feed_tokens",
    "issue_feed",
    "review",
    "revoke_feed",
]


class Review(enum.StrEnum):
    """The actions an admin takes on a conflict."""

    ACKNOWLEDGE = "acknowledge"
    OVERRIDE = "override"
    REOPEN = "reopen"


_MOVES: dict[Review, Callable[..., ConflictView]] = {
    Review.ACKNOWLEDGE: acknowledge,
    Review.OVERRIDE: override,
    Review.REOPEN: reopen,
}
_CHANGES_FLAGS = {Review.OVERRIDE, Review.REOPEN}


@dataclass(frozen=True, slots=True)
class ConflictDetail:
    """A conflict, the rule it breaks and its history, oldest first."""

    view: ConflictView
    rule: Rule | None
    history: list[AuditEvent]


def conflict_page(context: AdminContext, wanted: ConflictFilter) -> ConflictPage:
    with session_scope(context.engine) as session:
        return find_conflicts(session, wanted)


def conflict_detail(context: AdminContext, public_id: str) -> ConflictDetail:
    with session_scope(context.engine) as session:
        return _detail(context, session, find_conflict(session, public_id))


def review(
    context: AdminContext, public_id: str, action: Review, user: User, reason: str
) -> tuple[ConflictDetail, str]:
    """Move a conflict, then bring its flag in line on the calendar when that changes."""
    with session_scope(context.engine) as session:
        conflict = find_conflict(session, public_id)
        moved = _MOVES[action](session, conflict, user.email, reason, now=context.now())
    outcome = "the flag stays as it is"
    if action in _CHANGES_FLAGS:
        outcome = bring_flag_in_line(context, moved)
    return conflict_detail(context, public_id), outcome


def audit_page(context: AdminContext, wanted: AuditFilter) -> AuditPage:
    with session_scope(context.engine) as session:
        return find_audit_events(session, wanted)


def conflict_row_id(context: AdminContext, public_id: str) -> int:
    with session_scope(context.engine) as session:
        return find_conflict(session, public_id).id


def clinics(context: AdminContext) -> list[Clinic]:
    with session_scope(context.engine) as session:
        return list_clinics(session)


def calendars(context: AdminContext) -> list[CalendarSource]:
    with session_scope(context.engine) as session:
        return list_sources(session)


def quarantined(context: AdminContext) -> list[QuarantinedEvent]:
    """The home clinic's events that could not be read or stored (sync health)."""
    clinic_id = context.home_clinic_id()
    with session_scope(context.engine) as session:
        return list_quarantined(session, clinic_id)


def feed_tokens(context: AdminContext) -> list[FeedToken]:
    clinic_id = context.home_clinic_id()
    with session_scope(context.engine) as session:
        return list_feed_tokens(session, clinic_id)


def issue_feed(
    context: AdminContext, user: User, scope: str, value: str, label: str | None
) -> IssuedToken:
    """Issue a feed token of the home clinic; its secret is known only to the caller."""
    actor = context.actor(user.email)
    with session_scope(context.engine) as session:
        feed_scope = FeedScope(ScopeKind(scope), value.strip())
        issued = issue_token(
            session, actor.clinic_id, feed_scope, now=actor.now, label=label or None
        )
        detail = _token_detail(issued.token)
        record_audit_event(
            session, actor.clinic_id, actor.name, "feed_token.issued", detail=detail, at=actor.now
        )
    return issued


def revoke_feed(context: AdminContext, user: User, token_id: int) -> FeedToken:
    actor = context.actor(user.email)
    with session_scope(context.engine) as session:
        token = revoke_token(session, actor.clinic_id, token_id, now=actor.now)
        detail = _token_detail(token)
        record_audit_event(
            session, actor.clinic_id, actor.name, "feed_token.revoked", detail=detail, at=actor.now
        )
    return token


def _detail(context: AdminContext, session: Session, view: ConflictView) -> ConflictDetail:
    history = list_audit_events(session, view.clinic_id, conflict_id=view.id)
    return ConflictDetail(view, context.rule(view.clinic_id, view.rule_name), history)


def _token_detail(token: FeedToken) -> dict[str, object]:
    return {
        "token_id": token.id,
        "scope": token.scope_kind,
        "value": token.scope_value,
        "label": token.label or "",
    }


__all__ += ["conflict_row_id", "quarantined"]
