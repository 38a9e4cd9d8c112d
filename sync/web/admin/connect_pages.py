"""The admin UI's Connections page: the clinic's Google, CalDAV and .ics accounts (SPEC §2, §9).

``GET /admin/connect`` lists the clinic in view's connections with their state:
connected, or "needs reconnecting" (Google refused the grant: it was revoked or
expired), saying what happened and offering to connect again. Changing anything needs
an admin of the clinic and the session's CSRF token; auditors see the page without its
forms, and a POST of theirs answers 403.

Connect Google follows OAuth 2.0 for web server applications
(https://developers.google.com/identity/protocols/oauth2/web-server):
``POST /admin/connect/google`` keeps a new sign-in (state, PKCE verifier, the clinic) on
the server-side web session (:mod:`sync.store.sign_ins`) and sends the browser to the
consent page; Google sends it back to ``GET /oauth/google/callback``, which passes the
answer on under ``/admin`` (the session cookie's path) to
``GET /admin/connect/google/callback``. That takes the session's sign-in, checks the
state, that the user is still an admin of its clinic, exchanges the code, stores the
grant encrypted, records it in the audit trail and opens the calendar picker. A refusal
(``error=access_denied``, a permission left unticked), a wrong or replayed state, or an
expired sign-in get a page that says so and offers to start again.
``POST /admin/connect/google/disconnect`` revokes the grant at Google ("Revoking a
token") and deletes it. The CalDAV form signs in to the server before anything is
saved; the .ics form reads the address once.
"""

import urllib.parse
from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse

from sync.bootstrap import google_oauth_endpoints, secret_box
from sync.errors import ClinicSyncError, InputError
from sync.sources.google.errors import ProviderUnavailable
from sync.sources.google.oauth import SignInFailed
from sync.sources.google.web_oauth import CALLBACK_PATH
from sync.store.database import session_scope
from sync.store.users import WebSession
from sync.usecases import connect
from sync.web.admin import connections
from sync.web.admin.access import NotAllowed, page_caller
from sync.web.admin.auth import check_csrf
from sync.web.admin.calendar_pages import calendar_pages
from sync.web.admin.context import AdminContext
from sync.web.admin.pages import not_allowed, page_values, signed_in_for
from sync.web.admin.views import render

__all__ = ["connect_pages"]

_T = TypeVar("_T")
_ANSWER_KEYS = ("state", "code", "error", "scope")
_FINISH_PATH = "/admin/connect/google/callback"


def connect_pages(context: AdminContext) -> APIRouter:
    """The Connections page's router, with Google's callback and the calendar picker."""
    router = APIRouter(include_in_schema=False)
    router.include_router(calendar_pages(context))
    signed_in = Annotated[WebSession, Depends(signed_in_for(context))]
    csrf = Annotated[str | None, Form()]

    @router.get("/admin/connect")
    def page(web: signed_in) -> Response:
        return _page(context, web)

    @router.post("/admin/connect/google")
    def start(web: signed_in, csrf_token: csrf = None) -> Response:
        check_csrf(web, csrf_token)
        _acting(lambda: connections.actor(context, page_caller(web)))
        flow = connections.sign_in_flow(context)
        if flow is None:
            return _page(context, web, error=connections.NOT_SET_UP, status=409)
        url = _acting(lambda: connections.start_google(context, page_caller(web), web, flow))
        return RedirectResponse(url, status_code=303)

    @router.get(CALLBACK_PATH)
    def google_answer(request: Request) -> Response:
        kept = {k: v for k, v in request.query_params.items() if k in _ANSWER_KEYS}
        query = urllib.parse.urlencode({k: v[:2000] for k, v in kept.items()})
        return RedirectResponse(f"{_FINISH_PATH}?{query}", status_code=303)

    @router.get(_FINISH_PATH)
    def finish(request: Request, web: signed_in) -> Response:
        flow = connections.sign_in_flow(context)
        answer: dict[str, str | None] = {k: request.query_params.get(k) for k in _ANSWER_KEYS}
        try:
            connections.finish_google(context, web, flow, answer)
        except NotAllowed as err:
            raise not_allowed(err) from err
        except SignInFailed as err:
            return _problem(context, web, str(err), err.reason, 400)
        except ProviderUnavailable as err:
            return _problem(
                context, web, f"Google could not be reached: {err}. Try again.", None, 503
            )
        except ClinicSyncError as err:
            return _problem(context, web, str(err), getattr(err, "reason", None), 502)
        return RedirectResponse("/admin/calendars?connected=google", status_code=303)

    @router.post("/admin/connect/google/disconnect")
    def disconnect(web: signed_in, csrf_token: csrf = None) -> Response:
        check_csrf(web, csrf_token)
        try:
            gone, revoked = _acting(
                lambda: connections.disconnect_google(context, page_caller(web))
            )
        except ProviderUnavailable as err:
            message = f"Google could not be reached, so nothing changed: {err}. Try again."
            return _page(context, web, error=message, status=503)
        except ClinicSyncError as err:
            return _page(context, web, error=str(err), status=409)
        notice = f"The Google account {gone.account} is disconnected" + (
            " and its access revoked." if revoked else "; Google held no access to revoke."
        )
        return _page(context, web, notice=notice)

    @router.post("/admin/connect/caldav")
    def caldav(
        web: signed_in,
        csrf_token: csrf = None,
        url: Annotated[str, Form(max_length=1000)] = "",
        username: Annotated[str, Form(max_length=320)] = "",
        password: Annotated[str, Form(max_length=1000)] = "",
    ) -> Response:
        check_csrf(web, csrf_token)
        account = connect.CalDavAccount(url.strip(), username.strip(), password)
        typed = {"caldav_url": account.url, "caldav_user": account.username}
        return _form_result(context, web, lambda: _connect_caldav(context, web, account), typed)

    @router.post("/admin/connect/ics")
    def ics(
        web: signed_in, csrf_token: csrf = None, url: Annotated[str, Form(max_length=2000)] = ""
    ) -> Response:
        check_csrf(web, csrf_token)
        address = url.strip()
        run = lambda: _subscribe_ics(context, web, address)  # noqa: E731
        return _form_result(context, web, run, {"ics_url": address})

    return router


def _acting(run: Callable[[], _T]) -> _T:
    """Run an admin's action: an auditor's attempt is the 403 page."""
    try:
        return run()
    except NotAllowed as err:
        raise not_allowed(err) from err


def _form_result(
    context: AdminContext, web: WebSession, run: Callable[[], str], typed: dict[str, str]
) -> Response:
    try:
        notice = _acting(run)
    except ClinicSyncError as err:
        return _page(context, web, error=str(err), status=422, typed=typed)
    return _page(context, web, notice=notice)


def _connect_caldav(context: AdminContext, web: WebSession, account: connect.CalDavAccount) -> str:
    acting = connections.actor(context, page_caller(web))
    _check_url(account.url)
    if not account.username or not account.password:
        raise InputError("give the account's user name and (app) password")
    found = connect.discover_caldav(account, timeout=context.settings.caldav_timeout_seconds)
    with session_scope(context.engine) as session:
        added = connect.save_caldav(session, acting, account, found, secret_box(context.settings))
    return (
        f"CalDAV account {account.username} connected: "
        f"{len(added)} calendar(s) added of {len(found)} found."
    )


def _subscribe_ics(context: AdminContext, web: WebSession, url: str) -> str:
    acting = connections.actor(context, page_caller(web))
    _check_url(url)
    calendar = connect.fetch_ics(url, timeout=context.settings.ics_timeout_seconds)
    with session_scope(context.engine) as session:
        source = connect.subscribe_ics(session, acting, calendar)
    return f"Subscribed to {source.display_name} (read-only: flags are not written there)."


def _check_url(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError("give the full address, starting with https://")


def _page(
    context: AdminContext,
    web: WebSession,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
    typed: dict[str, str] | None = None,
) -> Response:
    values = page_values(web, "connect", "Connections")
    values["notice"] = notice
    caller = page_caller(web)
    found = connections.connections(context, caller) if caller.current else None
    page = render("connect.html", status, **values, found=found, error=error, typed=typed or {})
    return _may_post_to_google(context, page)


def _problem(
    context: AdminContext, web: WebSession, message: str, reason: str | None, status: int
) -> Response:
    values = page_values(web, "connect", "Google was not connected")
    page = render("connect_problem.html", status, **values, message=message, reason=reason)
    return _may_post_to_google(context, page)


def _may_post_to_google(context: AdminContext, page: Response) -> Response:
    """Let the Connect Google form's redirect reach Google's consent page.

    A browser holds a form's redirects to the page's CSP ``form-action`` too (CSP Level 3,
    https://www.w3.org/TR/CSP3/#directive-form-action), so the pages with that form name
    the authorization endpoint's origin besides their own.
    """
    parts = urllib.parse.urlsplit(google_oauth_endpoints(context.settings).auth_uri)
    policy = page.headers["Content-Security-Policy"]
    allowed = f"form-action 'self' {parts.scheme}://{parts.netloc}"
    page.headers["Content-Security-Policy"] = policy.replace("form-action 'self'", allowed)
    return page
