"""The admin audit area: web UI under ``/admin`` and JSON API under ``/api/v1`` (SPEC §8).

:func:`install_admin` adds both to the app built by :func:`sync.web.app.create_app`,
with the two exception handlers the pages need (to the sign-in page; an HTML error
page). Modules: ``context`` (dependencies), ``auth`` (sessions, bearer tokens, CSRF),
``access`` (the caller's clinics and per-clinic roles), ``operator`` (every clinic's
counts), ``input_guard`` (control characters refused with 422), ``actions`` (what UI and
API both do), ``calendar_writes`` (flags after a review), ``api`` and ``schemas`` (JSON),
``pages``, ``session_pages``, ``other_pages``, ``policy_pages``, ``connect_pages``,
``people_pages``, ``account_pages`` and ``views`` (HTML).
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse

from sync.web.admin.account_pages import account_pages
from sync.web.admin.api import api_router
from sync.web.admin.auth import LoginRequired, PageError
from sync.web.admin.connect_pages import connect_pages
from sync.web.admin.context import AdminContext
from sync.web.admin.input_guard import RefuseControlCharacters
from sync.web.admin.notify_pages import notification_pages
from sync.web.admin.operator import operator_pages
from sync.web.admin.other_pages import other_pages
from sync.web.admin.pages import conflict_pages
from sync.web.admin.people_pages import people_pages
from sync.web.admin.policy_pages import policy_pages
from sync.web.admin.session_pages import session_pages
from sync.web.admin.views import render

__all__ = ["AdminContext", "install_admin"]


def install_admin(app: FastAPI, context: AdminContext) -> None:
    """Mount the admin UI and API on ``app``."""
    app.include_router(session_pages(context))
    app.include_router(conflict_pages(context))
    app.include_router(other_pages(context))
    app.include_router(operator_pages(context))
    app.include_router(policy_pages(context))
    app.include_router(connect_pages(context))
    app.include_router(people_pages(context))
    app.include_router(account_pages(context))
    app.include_router(notification_pages(context))
    app.include_router(api_router(context))
    app.add_middleware(RefuseControlCharacters, prefixes=("/admin", "/api/"))
    app.add_exception_handler(LoginRequired, _to_login)  # type: ignore[arg-type]
    app.add_exception_handler(PageError, _error_page)  # type: ignore[arg-type]


async def _to_login(_request: Request, error: LoginRequired) -> Response:
    return RedirectResponse(f"/admin/login?next={quote(error.next_path)}", status_code=303)


async def _error_page(_request: Request, error: PageError) -> Response:
    titles = {403: "Not allowed", 404: "Not found", 409: "Not possible now"}
    title = titles.get(error.status, "Something went wrong")
    values = {"user": None, "csrf": "", "nav": "", "notice": None}
    return render("error.html", error.status, **values, title=title, message=error.message)
