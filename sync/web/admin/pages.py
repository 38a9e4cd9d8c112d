"""The admin UI's pages about conflicts: what needs attention, list, CSV export, one
conflict, review actions (SPEC §8).

Server-rendered (Jinja2, autoescaped, no script). Reading needs a signed-in session
and shows the clinic in view (the header's switcher); a conflict of another of the
user's clinics opens, one of a clinic they are not a member of answers 404 like a
missing one. Acknowledge, override and re-open need an admin of the conflict's clinic
and the session's CSRF token. The list's filters live in the query string, so a
filtered view can be bookmarked and its CSV export is exactly what is on screen.

The home, ``/admin/``, is "Needs attention": open and flagged conflicts whose later
booking has not started, soonest appointment first, each with the booking's time in the
clinic's zone, its calendar, the patient as the booking names them
(:mod:`sync.web.admin.wording`), the gap, the earliest eligible day and Google
Calendar's own link to the event; its filters (folded away on a phone) reach the rest.
A conflict's page is titled in words and tells its history as sentences
(:mod:`sync.web.admin.history`).
"""

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse

from sync.errors import InputError
from sync.store.conflicts import ConflictState
from sync.store.memberships import Membership
from sync.store.review import (
    MAX_PAGE_SIZE,
    ConflictFilter,
    ConflictPage,
    ConflictSort,
    ConflictView,
    ReviewConflict,
    UnknownConflict,
)
from sync.store.users import WebSession
from sync.web.admin import actions
from sync.web.admin.access import Caller, NotAllowed, page_caller
from sync.web.admin.actions import ConflictDetail, Review
from sync.web.admin.auth import PageError, check_csrf, page_session
from sync.web.admin.context import AdminContext
from sync.web.admin.history import tell
from sync.web.admin.views import SECURITY_HEADERS, csv_text, parse_day, render
from sync.web.admin.wording import clinic_zone

__all__ = [
    "conflict_pages",
    "not_allowed",
    "page_values",
    "read_filter",
    "read_triage",
    "signed_in_for",
]

NEEDS_ATTENTION = (ConflictState.OPEN, ConflictState.FLAGGED)

CSV_COLUMNS = (
    "id", "clinic", "state", "rule", "patient", "matched_by", "gap_days",
    "earlier_day", "earlier_calendar", "earlier_summary",
    "later_day", "later_calendar", "later_summary", "detected_at", "resolved_at", "reason",
    "reviewed_by", "reviewed_at",
)  # fmt: skip
_CSV_ROWS_MAX = 100_000


def signed_in_for(context: AdminContext) -> Callable[[Request], WebSession]:
    """The dependency that finds a page's session (or sends the browser to sign in)."""

    def signed_in(request: Request) -> WebSession:
        return page_session(context, request)

    return signed_in


def page_values(web: WebSession, nav: str, title: str) -> dict[str, Any]:
    """What every signed-in page's frame needs: who, the clinic in view, the clinic switcher."""
    current: Membership | None = page_caller(web).current
    return {
        "user": web.user, "csrf": web.csrf_token, "nav": nav, "title": title, "notice": None,
        "clinic": current, "memberships": web.user.memberships,
        "can_act": current is not None and web.user.can_act_in(current.clinic_id),
    }  # fmt: skip


def not_allowed(err: NotAllowed) -> PageError:
    """The 403 page of an auditor trying to act."""
    return PageError(403, "Auditors have read-only access here: ask an admin to do this.")


def conflict_pages(context: AdminContext) -> APIRouter:
    """The conflict pages' router."""
    router = APIRouter(prefix="/admin", include_in_schema=False)
    signed_in = Annotated[WebSession, Depends(signed_in_for(context))]

    @router.get("/")
    def home(request: Request, web: signed_in) -> Response:
        wanted, query = read_triage(request.query_params, context.now())
        return _list_page(context, web, "triage.html", wanted, query=query, title="Needs attention")

    @router.get("/conflicts")
    def conflicts(request: Request, web: signed_in) -> Response:
        wanted, query = read_filter(request.query_params, context.now())
        return _list_page(context, web, "conflicts.html", wanted, query=query, title="Conflicts")

    @router.get("/conflicts.csv")
    def export(request: Request, web: signed_in) -> Response:
        wanted, _ = read_filter(request.query_params, context.now())
        wanted = replace(wanted, page=1, per_page=MAX_PAGE_SIZE)
        rows = [_csv_row(view) for view in _all(context, page_caller(web), wanted)]
        headers = {
            **SECURITY_HEADERS,
            "Content-Disposition": 'attachment; filename="conflicts.csv"',
        }
        body = csv_text(rows, CSV_COLUMNS)
        return Response(body, media_type="text/csv; charset=utf-8", headers=headers)

    @router.get("/conflicts/{conflict_id}")
    def conflict(conflict_id: str, web: signed_in) -> Response:
        return _detail_page(context, web, _detail(context, page_caller(web), conflict_id))

    @router.post("/conflicts/{conflict_id}/{action}")
    def act(
        conflict_id: str,
        action: str,
        web: signed_in,
        csrf_token: Annotated[str | None, Form()] = None,
        reason: Annotated[str, Form(max_length=2000)] = "",
    ) -> Response:
        check_csrf(web, csrf_token)
        if action not in set(Review):
            raise PageError(404, "There is no such action.")
        caller = page_caller(web)
        try:
            detail, outcome = actions.review(context, caller, conflict_id, Review(action), reason)
        except UnknownConflict as err:
            raise PageError(404, str(err)) from err
        except NotAllowed as err:
            raise not_allowed(err) from err
        except ReviewConflict as err:
            found = _detail(context, caller, conflict_id)
            return _detail_page(context, web, found, error=str(err), status=409)
        notice = f"{detail.view.state.value.capitalize()}: {outcome}."
        return _detail_page(context, web, detail, notice=notice)

    return router


def _list_page(
    context: AdminContext,
    web: WebSession,
    template: str,
    wanted: ConflictFilter,
    *,
    query: dict[str, str],
    title: str,
) -> Response:
    caller = page_caller(web)
    if caller.current is None and web.user.operator:
        return RedirectResponse("/admin/clinics", status_code=303)  # an operator's home
    values = page_values(web, "home" if template == "triage.html" else "conflicts", title)
    if caller.current is None:
        values["notice"] = "You are not a member of any clinic yet: ask an admin to add you."
    found = _page(context, caller, wanted)
    return render(
        template, **values, wanted=wanted, query=query, found=found,
        rows=[actions.word(context, view) for view in found.items],
        states=list(ConflictState), sorts=list(ConflictSort),
    )  # fmt: skip


def read_triage(params: Mapping[str, Any], now: datetime) -> tuple[ConflictFilter, dict[str, str]]:
    """The home's filter: like :func:`read_filter`, but unless asked otherwise open and
    flagged conflicts of bookings still ahead, the soonest appointment first."""
    wanted, _ = read_filter(params, now)
    wanted = replace(
        wanted,
        states=wanted.states or NEEDS_ATTENTION,
        starts_after=None if params.get("when") == "all" else now,
        sort=wanted.sort if params.get("sort") else ConflictSort.APPOINTMENT,
        descending=params.get("order") == "desc",
    )
    query = _query(wanted)
    return wanted, query if wanted.starts_after else {**query, "when": "all"}


def read_filter(
    params: Mapping[str, Any], now: datetime | None = None
) -> tuple[ConflictFilter, dict[str, str]]:
    """The list's filter from a query string (lenient: what does not parse is ignored).

    ``when=upcoming`` keeps the conflicts whose later booking starts at ``now`` or after.
    """
    getall = getattr(params, "getlist", lambda key: [params[key]] if key in params else [])
    states = tuple(_states(getall("state")))
    sort = params.get("sort", "")
    wanted = ConflictFilter(
        clinic=params.get("clinic") or None,
        calendar=(params.get("calendar") or "").strip()[:200] or None,
        patient=(params.get("patient") or "").strip()[:200] or None,
        states=states,
        date_from=parse_day(params.get("date_from")),
        date_to=parse_day(params.get("date_to")),
        sort=ConflictSort(sort) if sort in set(ConflictSort) else ConflictSort.DETECTED,
        descending=params.get("order") != "asc",
        page=_number(params.get("page"), 1),
        per_page=min(_number(params.get("per_page"), 25), 100),
        starts_after=now if params.get("when") == "upcoming" else None,
    )
    return wanted, _query(wanted)


def _states(values: list[str]) -> list[ConflictState]:
    names = {part.strip() for value in values for part in value.split(",")}
    return [state for state in ConflictState if state.value in names]


def _number(text: str | None, default: int) -> int:
    return int(text) if text and text.isdigit() and 0 < int(text) < 1_000_000 else default


def _query(wanted: ConflictFilter) -> dict[str, str]:
    """The filter as query parameters, without the page (links add their own)."""
    values = {
        "clinic": wanted.clinic or "",
        "calendar": wanted.calendar or "",
        "patient": wanted.patient or "",
        "state": ",".join(state.value for state in wanted.states),
        "date_from": wanted.date_from.isoformat() if wanted.date_from else "",
        "date_to": wanted.date_to.isoformat() if wanted.date_to else "",
        "sort": wanted.sort.value,
        "order": "desc" if wanted.descending else "asc",
        "per_page": str(wanted.per_page),
        "when": "upcoming" if wanted.starts_after else "",
    }
    return {key: value for key, value in values.items() if value}


def _all(context: AdminContext, caller: Caller, wanted: ConflictFilter) -> list[ConflictView]:
    found = _page(context, caller, wanted)
    items = list(found.items)
    while found.page < found.pages and len(items) < _CSV_ROWS_MAX:
        found = _page(context, caller, replace(wanted, page=found.page + 1))
        items.extend(found.items)
    return items


def _csv_row(view: ConflictView) -> dict[str, object]:
    return {
        "id": view.public_id, "clinic": view.clinic_name, "state": view.state.value,
        "rule": view.rule_name, "patient": f"{view.patient_kind}:{view.patient_value}",
        "matched_by": view.match_kind, "gap_days": view.gap_days,
        "earlier_day": view.earlier.day.isoformat(), "earlier_calendar": view.earlier.calendar,
        "earlier_summary": view.earlier.summary,
        "later_day": view.later.day.isoformat(), "later_calendar": view.later.calendar,
        "later_summary": view.later.summary,
        "detected_at": view.detected_at.isoformat(),
        "resolved_at": view.resolved_at.isoformat() if view.resolved_at else "",
        "reason": view.reason or "",
        "reviewed_by": view.reviewed_by or "",
        "reviewed_at": view.reviewed_at.isoformat() if view.reviewed_at else "",
    }  # fmt: skip


def _page(context: AdminContext, caller: Caller, wanted: ConflictFilter) -> ConflictPage:
    try:
        return actions.conflict_page(context, caller, wanted)
    except InputError as err:
        raise PageError(404, str(err)) from err


def _detail(context: AdminContext, caller: Caller, conflict_id: str) -> ConflictDetail:
    try:
        return actions.conflict_detail(context, caller, conflict_id)
    except InputError as err:
        raise PageError(404, str(err)) from err


def _detail_page(
    context: AdminContext,
    web: WebSession,
    detail: ConflictDetail,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    worded = actions.word(context, detail.view)
    values = page_values(web, "conflicts", worded.title)
    values["notice"] = notice or error
    values["can_act"] = web.user.can_act_in(detail.view.clinic_id)
    window = None
    rule, earlier = detail.rule, detail.view.earlier.day
    if rule is not None:
        window = tuple(earlier + timedelta(days=d) for d in rule.ideal_days)
    return render(
        "conflict.html", status, **values, detail=detail, worded=worded,
        history=tell(detail.history, clinic_zone(detail.view)),
        eligible=worded.eligible, window=window,
    )  # fmt: skip
