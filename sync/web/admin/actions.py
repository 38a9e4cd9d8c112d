"""What the admin UI and the JSON API both do, in one place (SPEC §8).

Each function opens its own unit of work, records changes in the audit trail with the
acting user's e-mail as actor, and returns plain records; the routers only translate
them into pages or JSON. Every read and every action is scoped to the clinics of a
:class:`~sync.web.admin.access.Caller`: an object of another clinic is not found, the
same error as a missing one, and an action checks the caller's role in the object's own
clinic. Errors are :class:`~sync.errors.InputError` subclasses the routers map to 403,
404, 409 or 422.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlmodel import Session

from rules.model import Rule
from rules.slots import SafeDate
from sync.feeds.scope import FeedScope, ScopeKind
from sync.feeds.tokens import IssuedToken, issue_token, revoke_token
from sync.store.audit import AuditEvent, list_audit_events
from sync.store.audit_queries import AuditFilter, AuditPage, find_audit_events
from sync.store.clinics import Clinic, list_clinics
from sync.store.database import session_scope
from sync.store.feeds import FeedToken, list_feed_tokens
from sync.store.quarantine import QuarantinedEvent, list_quarantined, quarantine_counts
from sync.store.review import (
    ConflictFilter,
    ConflictPage,
    ConflictView,
    UnknownConflict,
    acknowledge,
    find_conflict,
    find_conflicts,
    override,
    reopen,
)
from sync.store.sources import CalendarSource, list_sources
from sync.usecases.safe_date import stored_safe_date
from sync.web.admin.access import Caller
from sync.web.admin.calendar_writes import bring_flag_in_line
from sync.web.admin.context import AdminContext
from sync.web.admin.feed_actions import visible_token
from sync.web.admin.wording import Wording

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
    "word",
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
    safe_date: SafeDate | None = None
    """The first free slots to rebook on, as the booking's flag names them."""


def conflict_page(context: AdminContext, caller: Caller, wanted: ConflictFilter) -> ConflictPage:
    """A page of the conflicts of the caller's clinics that ``wanted`` narrows to."""
    scoped = replace(wanted, clinic_ids=caller.named(wanted.clinic), clinic=None)
    with session_scope(context.engine) as session:
        return find_conflicts(session, scoped)


def word(context: AdminContext, view: ConflictView) -> Wording:
    """How people read ``view``: its patient as written, its times, a title."""
    profile = context.clinic(view.clinic_id)
    return Wording.of(view, profile.policy, context.clinics.matcher(view.clinic_id))


def conflict_detail(context: AdminContext, caller: Caller, public_id: str) -> ConflictDetail:
    with session_scope(context.engine) as session:
        return _detail(context, session, _conflict(session, caller, public_id))


def review(
    context: AdminContext, caller: Caller, public_id: str, action: Review, reason: str
) -> tuple[ConflictDetail, str]:
    """Move a conflict, then bring its flag in line on the calendar when that changes."""
    with session_scope(context.engine) as session:
        conflict = _conflict(session, caller, public_id)
        caller.require_admin(conflict.clinic_id)
        moved = _MOVES[action](session, conflict, caller.user.email, reason, now=context.now())
    outcome = "the flag stays as it is"
    if action in _CHANGES_FLAGS:
        outcome = bring_flag_in_line(context, moved)
    return conflict_detail(context, caller, public_id), outcome


def audit_page(context: AdminContext, caller: Caller, wanted: AuditFilter) -> AuditPage:
    """A page of the trails of the caller's clinics (in the UI: of the clinic in view)."""
    with session_scope(context.engine) as session:
        return find_audit_events(session, replace(wanted, clinic_ids=caller.listed))


def conflict_row_id(context: AdminContext, caller: Caller, public_id: str) -> int:
    with session_scope(context.engine) as session:
        return _conflict(session, caller, public_id).id


def clinics(context: AdminContext, caller: Caller) -> list[Clinic]:
    """The caller's clinics."""
    with session_scope(context.engine) as session:
        return list_clinics(session, caller.visible)


def calendars(context: AdminContext, caller: Caller) -> list[CalendarSource]:
    """The calendars of the clinics the caller's lists show."""
    with session_scope(context.engine) as session:
        return [s for clinic_id in caller.listed for s in list_sources(session, clinic_id)]


def quarantined(context: AdminContext, caller: Caller) -> list[QuarantinedEvent]:
    """The events of the caller's clinics that could not be read or stored (sync health)."""
    with session_scope(context.engine) as session:
        return [e for clinic_id in caller.listed for e in list_quarantined(session, clinic_id)]


def quarantined_per_calendar(context: AdminContext, caller: Caller) -> dict[int, int]:
    """How many events each calendar of the caller's clinics holds in quarantine, all counted
    (the list of :func:`quarantined` stops at the store's listing limit)."""
    with session_scope(context.engine) as session:
        return {
            source_id: count
            for clinic_id in caller.listed
            for source_id, count in quarantine_counts(session, clinic_id).items()
        }


def feed_tokens(context: AdminContext, caller: Caller) -> list[FeedToken]:
    with session_scope(context.engine) as session:
        return [t for clinic_id in caller.listed for t in list_feed_tokens(session, clinic_id)]


def issue_feed(
    context: AdminContext,
    caller: Caller,
    scope: str,
    value: str,
    label: str | None,
    *,
    clinic: str | None = None,
) -> IssuedToken:
    """Issue a feed token of one of the caller's clinics; its secret is known only to the caller."""
    clinic_id = caller.home(clinic).clinic_id
    caller.require_admin(clinic_id)
    now = context.now()
    with session_scope(context.engine) as session:
        feed_scope = FeedScope(ScopeKind(scope), value.strip())
        actor = caller.user.email
        return issue_token(
            session, clinic_id, feed_scope, actor=actor, now=now, label=label or None
        )


def revoke_feed(context: AdminContext, caller: Caller, token_id: int) -> FeedToken:
    """Revoke a feed token of one of the caller's clinics, as its admin."""
    now = context.now()
    with session_scope(context.engine) as session:
        clinic_id = visible_token(session, caller, token_id).clinic_id
        caller.require_admin(clinic_id)
        return revoke_token(session, clinic_id, token_id, actor=caller.user.email, now=now)


def _conflict(session: Session, caller: Caller, public_id: str) -> ConflictView:
    """The caller's conflict ``public_id``: the clinic in view first, then their others."""
    for clinic_ids in dict.fromkeys((caller.listed, caller.visible)):
        try:
            return find_conflict(session, public_id, clinic_ids=clinic_ids)
        except UnknownConflict:
            continue
    raise UnknownConflict(f"no conflict {public_id!r}")


def _detail(context: AdminContext, session: Session, view: ConflictView) -> ConflictDetail:
    history = list_audit_events(session, view.clinic_id, conflict_id=view.id)
    zone = context.clinic(view.clinic_id).zone
    safe = stored_safe_date(session, view.later_row_id, view.public_id, zone)
    return ConflictDetail(view, context.rule(view.clinic_id, view.rule_name), history, safe)
