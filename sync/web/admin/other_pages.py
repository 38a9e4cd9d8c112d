"""The admin UI's audit log, sync health and feed-token pages, and the clinic switch (SPEC §7-§9).

Each shows the clinic in view (:func:`sync.web.admin.access.page_caller`); ``POST
/admin/clinic`` changes it to another clinic of the user's, kept on the session row so
every page and the CSV export follow, without putting the clinic in every URL. A slug
the user is not a member of answers 404 like an unknown one.

Sync health lists each calendar's polling, its last reconciliation and what it corrected,
and the events in quarantine: those that could not be read or stored, with why.

A feed URL is shown once, in the answer to the form that issued or rotated it: only its
hash is kept. A patient's feed is issued from the conflict page in one click (its form
posts here), a calendar's by choosing the calendar by name. Revoking asks first: the
list links to a confirmation page whose form does it (no script needed), and a post
without ``confirm=yes`` only shows that page. Issuing, rotating and revoking need an
admin and the session's CSRF token, and are recorded in the audit trail with the
admin's e-mail.
"""

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request, Response
from fastapi.responses import RedirectResponse

from sync.errors import InputError
from sync.feeds.tokens import feed_url
from sync.store.audit_queries import AuditFilter
from sync.store.database import session_scope
from sync.store.quarantine import MAX_LISTED
from sync.store.users import WebSession, set_session_clinic
from sync.web.admin import actions
from sync.web.admin.access import NoSuchClinic, NotAllowed, page_caller
from sync.web.admin.auth import PageError, check_csrf
from sync.web.admin.context import AdminContext
from sync.web.admin.feed_actions import feed_calendars, feed_rows, own_token, rotate_feed
from sync.web.admin.pages import not_allowed, page_values, signed_in_for
from sync.web.admin.views import parse_day, render

__all__ = ["other_pages"]

_PER_PAGE = 50


def other_pages(context: AdminContext) -> APIRouter:
    """The audit, health and feed-token pages' router."""
    router = APIRouter(prefix="/admin", include_in_schema=False)
    signed_in = Annotated[WebSession, Depends(signed_in_for(context))]

    @router.get("/audit")
    def audit(request: Request, web: signed_in) -> Response:
        params = request.query_params
        query = {key: params.get(key, "").strip()[:320] for key in _AUDIT_KEYS}
        conflict = _conflict_row(context, web, query["conflict"])
        page = params.get("page", "1")
        wanted = AuditFilter(
            (), query["action"] or None, query["actor"] or None, conflict,
            parse_day(query["date_from"]), parse_day(query["date_to"]),
            int(page) if page.isdigit() and 0 < int(page) < 1_000_000 else 1, _PER_PAGE,
        )  # fmt: skip
        found = actions.audit_page(context, page_caller(web), wanted)
        kept = {key: value for key, value in query.items() if value}
        return render(
            "audit.html", **page_values(web, "audit", "Audit log"), found=found, query=kept
        )

    @router.get("/health")
    def health(web: signed_in) -> Response:
        values = page_values(web, "health", "Sync health")
        caller = page_caller(web)
        held = actions.quarantined(context, caller)
        counts = actions.quarantined_per_calendar(context, caller)
        return render(
            "health.html",
            **values,
            sources=actions.calendars(context, caller),
            quarantined=held,
            quarantine_counts=counts,
            listed_at_most=MAX_LISTED,
        )

    _feed_routes(router, context, signed_in)

    @router.post("/clinic")
    def switch(
        web: signed_in,
        csrf_token: Annotated[str | None, Form()] = None,
        clinic: Annotated[str, Form(max_length=64)] = "",
    ) -> Response:
        check_csrf(web, csrf_token)
        try:
            [clinic_id] = page_caller(web).named(clinic)
        except NoSuchClinic as err:
            raise PageError(404, str(err)) from err
        with session_scope(context.engine) as session:
            set_session_clinic(session, web.id, clinic_id)
        return RedirectResponse("/admin/conflicts", status_code=303)

    return router


def _feed_routes(router: APIRouter, context: AdminContext, signed_in: Any) -> None:
    """The feed-token pages: list and issue, rotate, confirm and revoke."""

    @router.get("/feed-tokens")
    def feeds(web: signed_in) -> Response:
        return _feeds_page(context, web)

    @router.post("/feed-tokens")
    def issue(
        web: signed_in,
        csrf_token: _Csrf = None,
        *,
        scope: Annotated[str, Form()] = "",
        value: Annotated[str, Form(max_length=1000)] = "",
        label: Annotated[str, Form(max_length=200)] = "",
        conflict: Annotated[str, Form(max_length=64)] = "",
    ) -> Response:
        check_csrf(web, csrf_token)
        back = conflict if _PUBLIC_ID.fullmatch(conflict) else None
        try:
            if scope not in ("patient", "calendar", "clinic"):
                raise InputError("choose what the feed is of")
            issued = actions.issue_feed(context, page_caller(web), scope, value, label or None)
        except NotAllowed as err:
            raise not_allowed(err) from err
        except InputError as err:
            return _feeds_page(context, web, error=str(err), status=422, back=back)
        url = feed_url(context.settings.public_url, issued.secret)
        return _feeds_page(context, web, issued_url=url, back=back)

    @router.post("/feed-tokens/{token_id}/rotate")
    def rotate(token_id: _TokenId, web: signed_in, csrf_token: _Csrf = None) -> Response:
        check_csrf(web, csrf_token)
        try:
            issued = rotate_feed(context, page_caller(web), token_id)
        except NotAllowed as err:
            raise not_allowed(err) from err
        except InputError as err:
            raise PageError(404, str(err)) from err
        url = feed_url(context.settings.public_url, issued.secret)
        notice = f"Feed token {token_id} is revoked; its new URL is below."
        return _feeds_page(context, web, issued_url=url, notice=notice)

    @router.get("/feed-tokens/{token_id}/revoke")
    def confirm_revoke(token_id: _TokenId, web: signed_in) -> Response:
        return _confirm_page(context, web, token_id)

    @router.post("/feed-tokens/{token_id}/revoke")
    def revoke(
        token_id: _TokenId,
        web: signed_in,
        csrf_token: _Csrf = None,
        confirm: Annotated[str, Form(max_length=8)] = "",
    ) -> Response:
        check_csrf(web, csrf_token)
        if confirm != "yes":
            return _confirm_page(context, web, token_id)
        try:
            token = actions.revoke_feed(context, page_caller(web), token_id)
        except NotAllowed as err:
            raise not_allowed(err) from err
        except InputError as err:
            raise PageError(404, str(err)) from err
        return _feeds_page(context, web, notice=f"Feed token {token.id} is revoked.")


_AUDIT_KEYS = ("action", "actor", "conflict", "date_from", "date_to")
_TokenId = Annotated[int, Path(ge=1, le=2**31 - 1)]
_Csrf = Annotated[str | None, Form()]
_PUBLIC_ID = re.compile(r"[0-9A-Za-z-]{1,64}")


def _conflict_row(context: AdminContext, web: WebSession, public_id: str) -> int | None:
    if not public_id:
        return None
    try:
        return actions.conflict_row_id(context, page_caller(web), public_id)
    except InputError:
        return -1  # matches nothing: an unknown conflict has no history


def _feeds_page(
    context: AdminContext, web: WebSession, *, status: int = 200, **extra: Any
) -> Response:
    values = page_values(web, "feed-tokens", "Feed tokens")
    values["notice"] = extra.pop("notice", None)
    extra.setdefault("issued_url", None)
    extra.setdefault("error", None)
    extra.setdefault("back", None)
    caller = page_caller(web)
    return render(
        "feeds.html",
        status,
        **values,
        tokens=feed_rows(context, caller),
        calendars=feed_calendars(context, caller) if caller.current else [],
        **extra,
    )


def _confirm_page(context: AdminContext, web: WebSession, token_id: int) -> Response:
    """The step before a revocation: what the feed is of, and one button to go on."""
    caller = page_caller(web)
    try:
        row = own_token(context, caller, token_id)
        caller.require_admin(row.token.clinic_id)
    except NotAllowed as err:
        raise not_allowed(err) from err
    except InputError as err:
        raise PageError(404, str(err)) from err
    values = page_values(web, "feed-tokens", f"Revoke feed token {token_id}?")
    return render("feed_revoke.html", **values, row=row)
