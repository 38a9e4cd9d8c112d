"""Who is asking: a browser's session cookie or an API bearer token, and may they act (SPEC §8).

Pages use a server-side session: the cookie (``HttpOnly``, ``SameSite=Lax``, ``Secure``
behind https) holds a random secret whose hash names the session row. Every form
carries the session's CSRF token (a synchronizer token) and every POST checks it;
the sign-in form, made before any session exists, uses a double-submit cookie. The
JSON API accepts only ``Authorization: Bearer`` personal tokens — no cookies, so no
CSRF there. Auditors read; anything that changes state needs an admin of the clinic
it changes (403; see :mod:`sync.web.admin.access`).
"""

from __future__ import annotations

from fastapi import HTTPException, Request, Response

from sync.accounts.secrets import hash_secret, same_secret
from sync.store.database import session_scope
from sync.store.users import User, WebSession, user_for_api_token, web_session_for
from sync.web.access_log import note_user
from sync.web.admin.context import AdminContext

__all__ = [
    "LOGIN_CSRF_COOKIE",
    "SESSION_COOKIE",
    "LoginRequired",
    "PageError",
    "api_user",
    "check_csrf",
    "client_address",
    "page_session",
    "set_cookie",
]

SESSION_COOKIE = "clinic_sync_session"
LOGIN_CSRF_COOKIE = "clinic_sync_login_csrf"
_BEARER = "bearer "


class PageError(Exception):
    """A page cannot be shown: answered with an HTML error page of ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class LoginRequired(Exception):
    """A page was asked for without a live session: the browser is sent to sign in."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def client_address(request: Request) -> str:
    """The peer's address (a proxy in front must be trusted by uvicorn to pass the real one)."""
    return request.client.host if request.client else "unknown"


def api_user(context: AdminContext, request: Request) -> User:
    """The user a bearer token names; 401 otherwise."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith(_BEARER):
        raise _unauthorised("a bearer token is required")
    secret = header[len(_BEARER) :].strip()
    with session_scope(context.engine) as session:
        user = user_for_api_token(session, hash_secret(secret), now=context.now())
    if user is None:
        raise _unauthorised("the token is unknown, revoked or its user disabled")
    note_user(request, user.email)
    return user


def page_session(context: AdminContext, request: Request) -> WebSession:
    """The browser's live session; :class:`LoginRequired` otherwise."""
    cookie = request.cookies.get(SESSION_COOKIE)
    found = None
    if cookie:
        with session_scope(context.engine) as session:
            found = web_session_for(session, hash_secret(cookie), now=context.now())
    if found is None:
        raise LoginRequired(request.url.path)
    note_user(request, found.user.email)
    return found


def check_csrf(web_session: WebSession, token: str | None) -> None:
    """A 403 page unless a form carried its session's CSRF token."""
    if not same_secret(token, web_session.csrf_token):
        raise PageError(403, "The form's security token is missing or wrong: reload the page.")


def set_cookie(
    response: Response, context: AdminContext, name: str, value: str, max_age: int
) -> None:
    """Set an admin cookie: HttpOnly, SameSite=Lax, Secure behind https, path /admin."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/admin",
        httponly=True,
        samesite="lax",
        secure=context.secure_cookies,
    )


def _unauthorised(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})
