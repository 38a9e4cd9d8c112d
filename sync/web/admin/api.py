"""``/api/v1``: the admin JSON API, authenticated with personal bearer tokens (SPEC §8).

Same capabilities as the UI — conflicts (list, get, acknowledge, override, re-open),
the audit trail, sync health, feed tokens (list, issue, revoke) — described by the
app's OpenAPI schema with their error answers. Lists cover every clinic the token's
user is a member of, each item naming its clinic (slug and name); ``?clinic=slug``
narrows to one, and a slug the user cannot see answers 404 like an unknown one. An
object of another clinic answers 404 exactly like a missing one. Auditors read;
actions need an admin of the object's clinic (403). ``/clinics`` is the operator view:
counts and sync health of every clinic, no patient data (:mod:`sync.web.admin.operator`).
"""

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rules.titles import TitleReader
from sync.errors import InputError
from sync.store.audit_queries import AuditFilter
from sync.store.conflicts import ConflictState
from sync.store.quarantine import QuarantinedEvent
from sync.store.review import (
    ConflictFilter,
    ConflictSort,
    ConflictView,
    ReviewConflict,
    UnknownConflict,
)
from sync.web.admin import actions
from sync.web.admin.access import Caller, NoSuchClinic, NotAllowed, api_caller
from sync.web.admin.actions import Review
from sync.web.admin.auth import api_user
from sync.web.admin.context import AdminContext
from sync.web.admin.operator import clinic_overview
from sync.web.admin.schemas import (
    AuditPageOut,
    CalendarHealthOut,
    ClinicOverviewOut,
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
    clinic_names,
    conflict_detail_out,
    conflict_out,
    feed_token_out,
    health_out,
    issued_out,
    me_out,
    overview_out,
)
from sync.web.admin.wording import patient_name

__all__ = ["api_router"]

T = TypeVar("T")
MAX_ID = 2**31 - 1
"""Ids are 32-bit in the store: a larger one names nothing (and must not reach SQLite)."""

_bearer = HTTPBearer(auto_error=False, description="A personal token: `clinic-sync users token`")
_READ: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No valid bearer token."},
}
_LIST: dict[int | str, dict[str, Any]] = {
    **_READ,
    404: {"model": ErrorOut, "description": "No such clinic among the caller's."},
}
# A body that is not even text (FastAPI answers 400 before validating it).
_BODY: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "The body cannot be read."}
}
_ONE = {**_READ, 404: {"model": ErrorOut, "description": "No such conflict."}}
_AUDIT = {**_READ, 404: {"model": ErrorOut, "description": "No such clinic or conflict."}}
_OPERATOR: dict[int | str, dict[str, Any]] = {
    **_READ,
    403: {"model": ErrorOut, "description": "Only an operator sees every clinic."},
}
_ACT: dict[int | str, dict[str, Any]] = {
    **_ONE,
    **_BODY,
    403: {"model": ErrorOut, "description": "Auditors cannot act."},
    409: {"model": ErrorOut, "description": "The conflict's state does not allow it."},
}
_ISSUE: dict[int | str, dict[str, Any]] = {
    **_LIST,
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

    def caller(
        request: Request,
        _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    ) -> Caller:
        return api_caller(api_user(context, request))

    router = APIRouter(prefix="/api/v1", tags=["admin API"])
    _reads(router, context, caller)
    _acts(router, context, caller)
    _feeds(router, context, caller)
    return router


def _reads(router: APIRouter, context: AdminContext, caller: Any) -> None:
    reader = Annotated[Caller, Depends(caller)]

    @router.get("/me", responses=_READ)
    def me(who: reader) -> MeOut:
        """The user the token belongs to, their clinics and role in each."""
        return me_out(who.user)

    @router.get("/conflicts", responses=_LIST)
    def list_conflicts(
        *,
        who: reader,
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
        """Conflicts of the caller's clinics, filtered (the later booking's date for the
        range), sorted and paged."""
        wanted = ConflictFilter(
            None, clinic, calendar, patient, tuple(state or ()), date_from, date_to,
            sort, descending, page, per_page,
        )  # fmt: skip
        found = _found(lambda: actions.conflict_page(context, who, wanted))
        items = [conflict_out(view, _patient(context, view)) for view in found.items]
        return ConflictPageOut(
            items=items, total=found.total, page=found.page, per_page=found.per_page,
            pages=found.pages,
        )  # fmt: skip

    @router.get("/conflicts/{conflict_id}", responses=_ONE)
    def get_conflict(who: reader, conflict_id: str) -> ConflictDetailOut:
        """One conflict with its rule, eligible dates and full history."""
        detail = _found(lambda: actions.conflict_detail(context, who, conflict_id))
        named = _patient(context, detail.view)
        return conflict_detail_out(detail.view, detail.rule, detail.history, named)

    @router.get("/audit", responses=_AUDIT)
    def audit(
        *,
        who: reader,
        clinic: Annotated[str | None, Query(max_length=64)] = None,
        action: Annotated[str | None, Query(max_length=64)] = None,
        actor: Annotated[str | None, Query(max_length=320)] = None,
        conflict: Annotated[str | None, Query(max_length=64)] = None,
        date_from: date | None = None,
        date_to: date | None = None,
        page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
        per_page: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> AuditPageOut:
        """The audit trails of the caller's clinics, newest first; ``action`` ending in
        ``.`` matches a prefix."""
        scoped = _found(lambda: _narrowed(who, clinic))
        row = (
            _found(lambda: actions.conflict_row_id(context, scoped, conflict)) if conflict else None
        )
        wanted = AuditFilter(None, action, actor, row, date_from, date_to, page, per_page)
        found = actions.audit_page(context, scoped, wanted)
        names = clinic_names(who.user)
        return AuditPageOut(
            items=[audit_out(event, names) for event in found.items], total=found.total,
            page=found.page, per_page=found.per_page, pages=found.pages,
        )  # fmt: skip

    @router.get("/health", responses=_LIST)
    def health(
        who: reader, clinic: Annotated[str | None, Query(max_length=64)] = None
    ) -> list[CalendarHealthOut]:
        """Sync health of the caller's clinics' calendars, with the events they could not read."""
        scoped = _found(lambda: _narrowed(who, clinic))
        names = clinic_names(who.user)
        held: dict[int, list[QuarantinedEvent]] = {}
        for event in actions.quarantined(context, scoped):
            held.setdefault(event.source_id, []).append(event)
        return [
            health_out(s, names, held.get(s.id, [])) for s in actions.calendars(context, scoped)
        ]

    @router.get("/clinics", responses=_OPERATOR)
    def clinics(who: reader) -> list[ClinicOverviewOut]:
        """Every clinic with its counts and sync health (operators only; no patient data)."""
        if not who.user.operator:
            raise HTTPException(403, "only an operator sees every clinic")
        return [overview_out(row) for row in clinic_overview(context)]


def _patient(context: AdminContext, view: ConflictView) -> str:
    """The patient's name as the conflict's bookings write it, read as the pages read it."""
    return patient_name(view, TitleReader(context.clinics.matcher(view.clinic_id)))


def _acts(router: APIRouter, context: AdminContext, caller: Any) -> None:
    acting = Annotated[Caller, Depends(caller)]

    def act(conflict_id: str, action: Review, who: Caller, body: ReviewIn) -> ReviewOut:
        detail, outcome = _found(
            lambda: actions.review(context, who, conflict_id, action, body.reason)
        )
        named = _patient(context, detail.view)
        out = conflict_detail_out(detail.view, detail.rule, detail.history, named)
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


def _feeds(router: APIRouter, context: AdminContext, caller: Any) -> None:
    reader = Annotated[Caller, Depends(caller)]

    @router.get("/feed-tokens", responses=_LIST)
    def feed_tokens(
        who: reader, clinic: Annotated[str | None, Query(max_length=64)] = None
    ) -> list[FeedTokenOut]:
        """The feed tokens of the caller's clinics (never their secrets)."""
        scoped = _found(lambda: _narrowed(who, clinic))
        names = clinic_names(who.user)
        return [feed_token_out(token, names) for token in actions.feed_tokens(context, scoped)]

    @router.post("/feed-tokens", status_code=201, responses=_ISSUE)
    def issue(who: reader, body: FeedTokenIn) -> FeedTokenIssuedOut:
        """Issue a feed token of one of the caller's clinics (``clinic``: needed when they
        are a member of several); its URL is in this answer only."""
        try:
            issued = actions.issue_feed(
                context, who, body.scope, body.value, body.label, clinic=body.clinic
            )
        except NotAllowed as err:
            raise HTTPException(403, str(err)) from err
        except NoSuchClinic as err:
            raise HTTPException(404, str(err)) from err
        except InputError as err:
            # The same 422 shape as every other invalid body, as the schema documents it.
            problem = {"type": "value_error", "loc": ("body", "value"), "msg": str(err)}
            raise RequestValidationError([{**problem, "input": body.value}]) from err
        names = clinic_names(who.user)
        return issued_out(issued.token, names, context.settings.public_url, issued.secret)

    @router.post("/feed-tokens/{token_id}/revoke", responses=_REVOKE)
    def revoke(who: reader, token_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> FeedTokenOut:
        """Revoke a feed token: its URL answers 404 from now on."""
        token = _found(lambda: actions.revoke_feed(context, who, token_id))
        return feed_token_out(token, clinic_names(who.user))


def _narrowed(who: Caller, clinic: str | None) -> Caller:
    """The caller looking at one of their clinics (``None``: at all of them)."""
    if clinic is None:
        return who
    [clinic_id] = who.named(clinic)
    return Caller(who.user, who.user.membership(clinic_id))


def _found(call: Callable[[], T]) -> T:
    """Run ``call``; clinic-sync's input errors become HTTP answers."""
    try:
        result = call()
    except NotAllowed as err:
        raise HTTPException(403, str(err)) from err
    except UnknownConflict as err:
        raise HTTPException(404, str(err)) from err
    except ReviewConflict as err:
        raise HTTPException(409, str(err)) from err
    except InputError as err:
        raise HTTPException(404, str(err)) from err
    return result
