"""What the feed-token pages do beyond issuing and revoking: rotate, name, confirm (SPEC §7-§8).

A feed is shown by what it is of — a patient's key, a calendar by its name, the whole
clinic — never by an internal number alone; a calendar feed is issued by choosing the
calendar from the clinic's own list. Rotating gives a new secret for the same scope
and label and revokes the old one in the same transaction, recorded in the audit trail
as ``feed_token.rotated`` with both token ids (:func:`sync.feeds.tokens.rotate_token`,
which the command line's rotate goes through too). A token of a clinic the caller may not
see answers like a missing one (:func:`own_token`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from sync.errors import InputError
from sync.feeds.tokens import IssuedToken, rotate_token
from sync.store.database import session_scope
from sync.store.errors import RecordNotFound
from sync.store.feeds import FeedToken, get_feed_token, list_feed_tokens
from sync.store.sources import CalendarSource, list_sources
from sync.web.admin.access import Caller
from sync.web.admin.context import AdminContext

__all__ = ["FeedRow", "feed_calendars", "feed_rows", "own_token", "rotate_feed", "visible_token"]


@dataclass(frozen=True, slots=True)
class FeedRow:
    """A token as the page lists it: ``of`` says in words what the feed shows."""

    token: FeedToken
    of: str


def feed_calendars(context: AdminContext, caller: Caller) -> list[CalendarSource]:
    """The calendars a feed may be issued for: the clinic in view's, by name."""
    clinic_id = caller.home(None).clinic_id
    with session_scope(context.engine) as session:
        return sorted(list_sources(session, clinic_id), key=lambda s: s.display_name.casefold())


def feed_rows(context: AdminContext, caller: Caller) -> list[FeedRow]:
    """The tokens of the clinics the caller's lists show, each with what it is of."""
    with session_scope(context.engine) as session:
        rows = []
        for clinic_id in caller.listed:
            names = {s.id: s.display_name for s in list_sources(session, clinic_id)}
            rows += [FeedRow(t, _of(t, names)) for t in list_feed_tokens(session, clinic_id)]
        return rows


def own_token(context: AdminContext, caller: Caller, token_id: int) -> FeedRow:
    """One token of the caller's clinics; :class:`InputError` like a missing one otherwise."""
    with session_scope(context.engine) as session:
        token = visible_token(session, caller, token_id)
        names = {s.id: s.display_name for s in list_sources(session, token.clinic_id)}
        return FeedRow(token, _of(token, names))


def rotate_feed(context: AdminContext, caller: Caller, token_id: int) -> IssuedToken:
    """A new URL for a feed of the caller's clinics, as its admin; the old URL stops."""
    now = context.now()
    with session_scope(context.engine) as session:
        clinic_id = visible_token(session, caller, token_id).clinic_id
        caller.require_admin(clinic_id)
        return rotate_token(session, clinic_id, token_id, actor=caller.user.email, now=now)


def visible_token(session: Session, caller: Caller, token_id: int) -> FeedToken:
    """Feed token ``token_id`` of one of the caller's clinics; another clinic's answers
    exactly like a missing one."""
    try:
        token = get_feed_token(session, token_id)
    except RecordNotFound:
        token = None
    if token is None or token.clinic_id not in caller.visible:
        raise InputError(f"no feed token with id {token_id}")
    return token


def _of(token: FeedToken, calendars: dict[int, str]) -> str:
    if token.scope_kind == "calendar":
        name = calendars.get(int(token.scope_value)) if token.scope_value.isdigit() else None
        return f"calendar {name}" if name else f"calendar #{token.scope_value}"
    if token.scope_kind == "patient":
        return f"patient {token.scope_value}"
    return "the whole clinic"
