"""Signing in and out of the admin UI, and the stylesheet (SPEC §8).

The sign-in form is protected by a double-submit CSRF cookie (there is no session yet);
attempts are throttled per account and per client address (429 with ``Retry-After``,
:mod:`sync.accounts.throttle`), the address being the one the trusted proxies name.
A successful sign-in sets the session cookie and goes back where the user was headed
— only ever to a path under ``/admin``, never to another site.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse

from sync.accounts.login import sign_in, sign_out
from sync.accounts.secrets import new_secret, same_secret
from sync.store.database import session_scope
from sync.store.users import WebSession
from sync.web.admin.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    PageError,
    check_csrf,
    client_address,
    set_cookie,
)
from sync.web.admin.context import AdminContext
from sync.web.admin.pages import signed_in_for
from sync.web.admin.views import render, stylesheet

__all__ = ["session_pages"]

_LOGIN_FORM_SECONDS = 3600
_HOME = "/admin/"
_JOINED = "You joined the clinic: sign in with your password to see it."
_RESET = "Your password is changed: sign in with it."


def session_pages(context: AdminContext) -> APIRouter:
    """The sign-in, sign-out and stylesheet routes."""
    router = APIRouter(prefix="/admin", include_in_schema=False)
    signed_in = Annotated[WebSession, Depends(signed_in_for(context))]

    @router.get("/login")
    def login_form(next: str = _HOME, joined: str = "", reset: str = "") -> Response:
        notice = _JOINED if joined else _RESET if reset else None
        return _login_page(context, _safe_next(next), notice=notice)

    @router.post("/login")
    def login(
        request: Request,
        email: Annotated[str, Form(max_length=320)],
        password: Annotated[str, Form(max_length=1000)],
        csrf_token: Annotated[str | None, Form()] = None,
        next: Annotated[str, Form()] = _HOME,
    ) -> Response:
        if not same_secret(csrf_token, request.cookies.get(LOGIN_CSRF_COOKIE, "")):
            raise PageError(403, "The sign-in form expired or was not sent by this site: retry.")
        with session_scope(context.engine) as session:
            result = sign_in(
                session, context.sign_in_actor("anonymous"), email, password,
                client=client_address(request), limits=context.limits,
            )  # fmt: skip
        if result.retry_after is not None:
            error = f"Too many failed sign-ins. Try again in {result.retry_after} seconds."
            response = _login_page(context, _safe_next(next), error=error, email=email, status=429)
            response.headers["Retry-After"] = str(result.retry_after)
            return response
        if result.session is None:
            error = "That e-mail and password do not match an active account."
            return _login_page(context, _safe_next(next), error=error, email=email, status=401)
        response = RedirectResponse(_safe_next(next), status_code=303)
        lifetime = int(context.limits.session_lifetime.total_seconds())
        set_cookie(response, context, SESSION_COOKIE, result.session.cookie, lifetime)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/admin")
        return response

    @router.post("/logout")
    def logout(
        request: Request, web: signed_in, csrf_token: Annotated[str | None, Form()] = None
    ) -> Response:
        check_csrf(web, csrf_token)
        with session_scope(context.engine) as session:
            cookie = request.cookies.get(SESSION_COOKIE, "")
            actor = context.sign_in_actor(web.user.email)
            sign_out(session, actor, web.user, cookie, client_address(request))
        response = RedirectResponse("/admin/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/admin")
        return response

    @router.get("/static/admin.css")
    def css() -> Response:
        headers = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
        return Response(stylesheet(), media_type="text/css; charset=utf-8", headers=headers)

    return router


def _login_page(
    context: AdminContext,
    next_path: str,
    *,
    error: str | None = None,
    email: str = "",
    status: int = 200,
    notice: str | None = None,
) -> Response:
    token = new_secret()
    response = render(
        "login.html", status, user=None, title="Sign in", nav="", notice=notice,
        login_csrf=token, next_path=next_path, error=error, email=email,
    )  # fmt: skip
    set_cookie(response, context, LOGIN_CSRF_COOKIE, token, _LOGIN_FORM_SECONDS)
    return response


def _safe_next(path: str) -> str:
    """Only a local admin path: no scheme, no host, no ``//`` (no open redirect)."""
    ok = path.startswith("/admin/") and not path.startswith("//") and "\\" not in path
    return path if ok and "://" not in path else _HOME
