"""``/api/v1``: the admin JSON API, authenticated with personal bearer tokens (SPEC §8).

Same capabilities as the UI — conflicts (list, get, acknowledge, override, re-open),
the audit trail, sync health, feed tokens (list, issue, revoke) — described by the
app's OpenAPI schema with their error answers. Auditors may read; actions need an admin.
"""

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sync.errors import InputError
from sync.store.audit_queries import AuditFilter
from sync.store.conflicts import ConflictState
from sync.store.quarantine import QuarantinedEvent
from sync.store.review import ConflictFilter, ConflictSort, ReviewConflict, UnknownConflict
from sync.store.users import User
from sync.web.admin import actions
from sync.web.admin.actions import Review
from sync.web.admin.auth import api_user, require_admin
from sync.web.admin.context import AdminContext
from sync.web.admin.schemas import (
    AuditPageOut,
    CalendarHealthOut,
    ConflictDetailOut,
    ConflictPageOut,
    ErrorOut,
    FeedTokenIn,
    FeedTokenIssuedOut,
    FeedTokenOut,
    MeOut,
    ReviewIn,
    ReviewOut,
    audit_out,
    conflict_detail_out,
    conflict_out,
    feed_token_out,
    health_out,
    issued_out,
)

__all__ = ["api_router"]

T = TypeVar("T")
MAX_ID = 2**31 - 1
"""Ids are 32-bit in the store: a larger one names nothing (and must not reach SQLite)."""

_bearer = HTTPBearer(auto_error=False, description="A personal token: `clinic-sync users token`")
_READ: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No valid bearer token."},
}
# A body that is not even text (FastAPI answers 400 before validating it).
_BODY: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "The body cannot be read."}
}
_ONE = {**_READ, 404: {"model": ErrorOut, "description": "No such conflict."}}
_ACT: dict[int | str, dict[str, Any]] = {
    **_ONE,
    **_BODY,
    403: {"model": ErrorOut, "description": "Auditors cannot act."},
    409: {"model": ErrorOut, "description": "The conflict's state does not allow it."},
}
_ISSUE: dict[int | str, dict[str, Any]] = {
    **_READ,
    **_BODY,
    403: _ACT[403],
}
_REVOKE: dict[int | str, dict[str, Any]] = {
    **_READ,
    403: _ACT[403],
    404: {"model": ErrorOut, "description": "No such feed token."},
}


def api_router(context: AdminContext) -> APIRouter:
    """The ``/api/v1`` router."""

    def user(
        request: Request,
        _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    ) -> User:
        return api_user(context, request)

    def admin(found: Annotated[User, Depends(user)]) -> User:
        require_admin(found)
        return found

    router = APIRouter(prefix="/api/v1", tags=["admin API"])
    _reads(router, context, user)
    _acts(router, context, admin)
    _feeds(router, context, user, admin)
    return router


def _reads(router: APIRouter, context: AdminContext, user: Any) -> None:
    reader = Annotated[User, Depends(user)]

    @router.get("/me", responses=_READ)
    def me(who: reader) -> MeOut:
        """The user the token belongs to."""
        return MeOut(email=who.email, role=who.role.value)

    @router.get("/conflicts", responses=_READ)
    def list_conflicts(
        *,
        _who: reader,
        clinic: Annotated[str | None, Query(max_length=64)] = None,
        calendar: Annotated[str | None, Query(max_length=200)] = None,
        patient: Annotated[str | None, Query(max_length=200)] = None,
        state: Annotated[list[ConflictState] | None, Query()] = None,
        date_from: date | None = None,
        date_to: date | None = None,
        sort: ConflictSort = ConflictSort.DETECTED,
        descending: bool = True,
        page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
        per_page: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> ConflictPageOut:
        """Conflicts, filtered (the later booking's date for the range), sorted and paged."""
        wanted = ConflictFilter(
            clinic, calendar, patient, tuple(state or ()), date_from, date_to,
            sort, descending, page, per_page,
        )  # fmt: skip
        found = actions.conflict_page(context, wanted)
        items = [conflict_out(view) for view in found.items]
        return ConflictPageOut(
            items=items, total=found.total, page=found.page, per_page=found.per_page,
            pages=found.pages,
        )  # fmt: skip

    @router.get("/conflicts/{conflict_id}", responses=_ONE)
    def get_conflict(_who: reader, conflict_id: str) -> ConflictDetailOut:
        """One conflict with its rule, eligible dates and full history."""
        detail = _found(lambda: actions.conflict_detail(context, conflict_id))
        return conflict_detail_out(detail.view, detail.rule, detail.history)

    @router.get("/audit", responses=_ONE)
    def audit(
        *,
        _who: reader,
        action: Annotated[str | None, Query(max_length=64)] = None,
        actor: Annotated[str | None, Query(max_length=320)] = None,
        conflict: Annotated[str | None, Query(max_length=64)] = None,
        date_from: date | None = None,
        date_to: date | None = None,
        page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
        per_page: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> AuditPageOut:
        """The audit trail, newest first; ``action`` ending in ``.`` matches a prefix."""
        row = _found(lambda: actions.conflict_row_id(context, conflict)) if conflict else None
        wanted = AuditFilter((), action, actor, row, date_from, date_to, page, per_page)
        found = actions.audit_page(context, wanted)
        return AuditPageOut(
            items=[audit_out(event) for event in found.items], total=found.total,
            page=found.page, per_page=found.per_page, pages=found.pages,
        )  # fmt: skip

    @router.get("/health", responses=_READ)
    def health(_who: reader) -> list[CalendarHealthOut]:
        """Sync health of every connected calendar, with the events it could not read."""
        held: dict[int, list[QuarantinedEvent]] = {}
        for event in actions.quarantined(context):
            held.setdefault(event.source_id, []).append(event)
        return [health_out(s, held.get(s.id, [])) for s in actions.calendars(context)]


def _acts(router: APIRouter, context: AdminContext, admin: Any) -> None:
    acting = Annotated[User, Depends(admin)]

    def act(conflict_id: str, action: Review, who: User, body: ReviewIn) -> ReviewOut:
        detail, outcome = _found(
            lambda: actions.review(context, conflict_id, action, who, body.reason)
        )
        out = conflict_detail_out(detail.view, detail.rule, detail.history)
        return ReviewOut(conflict=out, calendar=outcome)

    @router.post("/conflicts/{conflict_id}/acknowledge", responses=_ACT)
    def acknowledge(who: acting, conflict_id: str, body: ReviewIn) -> ReviewOut:
        """Acknowledge: the conflict was seen; its flag stays on the calendar."""
        return act(conflict_id, Review.ACKNOWLEDGE, who, body)

    @router.post("/conflicts/{conflict_id}/override", responses=_ACT)
    def override(who: acting, conflict_id: str, body: ReviewIn) -> ReviewOut:
        """Override with a reason: the flag comes off and is not written again."""
        return act(conflict_id, Review.OVERRIDE, who, body)

    @router.post("/conflicts/{conflict_id}/reopen", responses=_ACT)
    def reopen(who: acting, conflict_id: str, body: ReviewIn) -> ReviewOut:
        """Re-open an acknowledged or overridden conflict: it is flagged again."""
        return act(conflict_id, Review.REOPEN, who, body)


def _feeds(router: APIRouter, context: AdminContext, user: Any, admin: Any) -> None:
    reader = Annotated[User, Depends(user)]
    acting = Annotated[User, Depends(admin)]

    @router.get("/feed-tokens", responses=_READ)
    def feed_tokens(_who: reader) -> list[FeedTokenOut]:
        """The home clinic's feed tokens (never their secrets)."""
        return [feed_token_out(token) for token in actions.feed_tokens(context)]

    @router.post("/feed-tokens", status_code=201, responses=_ISSUE)
    def issue(who: acting, body: FeedTokenIn) -> FeedTokenIssuedOut:
        """Issue a feed token; its URL is in this answer only."""
        try:
            issued = actions.issue_feed(context, who, body.scope, body.value, body.label)
        except InputError as err:
            # The same 422 shape as every other invalid body, as the schema documents it.
            problem = {"type": "value_error", "loc": ("body", "value"), "msg": str(err)}
            raise RequestValidationError([{**problem, "input": body.value}]) from err
        return issued_out(issued.token, context.settings.public_url, issued.secret)

    @router.post("/feed-tokens/{token_id}/revoke", responses=_REVOKE)
    def revoke(who: acting, token_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> FeedTokenOut:
        """Revoke a feed token: its URL answers 404 from now on."""
        return feed_token_out(_found(lambda: actions.revoke_feed(context, who, token_id)))


def _found(call: Callable[[], T]) -> T:
    """Run ``call``; clinic-sync's input errors become HTTP answers."""
    try:
        result = call()
    except UnknownConflict as err:
        raise HTTPException(404, str(err)) from err
    except ReviewConflict as err:
        raise HTTPException(409, str(err)) from err
    except InputError as err:
        raise HTTPException(404, str(err)) from err
    return result
