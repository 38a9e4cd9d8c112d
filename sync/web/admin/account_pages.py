"""One's own account, and a forgotten password (SPEC §8).

``/admin/account``: change one's password (the current one is asked first; every other
session of the account ends, this browser gets a new one) and one's personal API tokens
— create (the secret is shown once), list with when each was made and last used,
revoke. Every change is audited (``user.password_changed``, ``api_token.issued``,
``api_token.revoked``).

``/admin/forgot`` asks for an address and always answers the same, whether or not it
has an account; the e-mail (:mod:`sync.accounts.resets`) is sent after the answer, so
the answer's timing does not tell either. ``/admin/reset/<token>`` sets a new password
once and sends the browser to sign in with it.
"""

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Path, Request, Response
from fastapi.responses import RedirectResponse

from sync.accounts.login import open_session
from sync.accounts.mail import AccountMail, link_url, reset_letter
from sync.accounts.passwords import verify_password
from sync.accounts.resets import (
    RESET_PATH,
    NoSuchReset,
    complete_reset,
    request_reset,
    reset_is_live,
)
from sync.accounts.secrets import new_secret, same_secret
from sync.accounts.service import (
    Actor,
    change_password,
    issue_api_token,
    revoke_api_token_of,
)
from sync.errors import InputError
from sync.store.database import session_scope
from sync.store.users import WebSession, find_user, list_api_tokens, password_hash_of
from sync.web.admin.access import page_caller
from sync.web.admin.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    PageError,
    check_csrf,
    set_cookie,
)
from sync.web.admin.context import AdminContext
from sync.web.admin.pages import page_values, signed_in_for
from sync.web.admin.views import render

__all__ = ["account_pages"]

_FORM_SECONDS = 3600
_CHANGED = "Your password is changed; your other sessions are signed out."
_SENT = (
    "If {email} has an account here, a link to reset its password is on its way. "
    "It works once, for {minutes} minutes."
)


def account_pages(context: AdminContext) -> APIRouter:
    """The own-account, forgotten-password and reset-link routes."""
    router = APIRouter(prefix="/admin", include_in_schema=False)
    signed_in = Annotated[WebSession, Depends(signed_in_for(context))]
    csrf_field = Annotated[str | None, Form()]

    @router.get("/account")
    def account(web: signed_in, changed: str = "") -> Response:
        return _account_page(context, web, notice=_CHANGED if changed else None)

    @router.post("/account/password")
    def new_password(
        web: signed_in, csrf_token: csrf_field = None,
        current: Annotated[str, Form(max_length=1000)] = "",
        password: Annotated[str, Form(max_length=1000)] = "",
    ) -> Response:  # fmt: skip
        check_csrf(web, csrf_token)
        with session_scope(context.engine) as session:
            if not verify_password(password_hash_of(session, web.user.id), current):
                error = "The current password is not right."
                return _account_page(context, web, error=error, status=422)
            try:
                user = change_password(session, _actor(context, web), web.user.email, password)
            except InputError as err:
                return _account_page(context, web, error=str(err), status=422)
            opened = open_session(session, user, context.now(), context.limits.session_lifetime)
        response = RedirectResponse("/admin/account?changed=1", status_code=303)
        lifetime = int(context.limits.session_lifetime.total_seconds())
        set_cookie(response, context, SESSION_COOKIE, opened.cookie, lifetime)
        return response

    @router.post("/account/tokens")
    def new_token(
        web: signed_in, csrf_token: csrf_field = None,
        label: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:  # fmt: skip
        check_csrf(web, csrf_token)
        with session_scope(context.engine) as session:
            actor = _actor(context, web)
            issued = issue_api_token(session, actor, web.user.email, label.strip() or None)
        return _account_page(context, web, issued=issued.secret)

    @router.post("/account/tokens/{token_id}/revoke")
    def revoke_token(
        web: signed_in,
        token_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
        csrf_token: csrf_field = None,
    ) -> Response:
        check_csrf(web, csrf_token)
        try:
            with session_scope(context.engine) as session:
                revoke_api_token_of(session, _actor(context, web), web.user, token_id)
        except InputError as err:
            raise PageError(404, str(err)) from err
        return _account_page(context, web, notice=f"API token {token_id} is revoked.")

    _reset_routes(router, context)
    return router


def _reset_routes(router: APIRouter, context: AdminContext) -> None:
    """Asking for a reset link, and using it."""
    csrf_field = Annotated[str | None, Form()]

    @router.get("/forgot")
    def forgot_form() -> Response:
        return _forgot_page(context)

    @router.post("/forgot")
    def forgot(
        request: Request,
        background: BackgroundTasks,
        email: Annotated[str, Form(max_length=320)] = "",
        csrf_token: csrf_field = None,
    ) -> Response:
        if not same_secret(csrf_token, request.cookies.get(LOGIN_CSRF_COOKIE, "")):
            raise PageError(403, "The form expired or was not sent by this site: retry.")
        with session_scope(context.engine) as session:
            actor = context.sign_in_actor("anonymous")
            found = request_reset(session, actor, email, context.reset_lifetime)
        if found is not None:
            user, secret = found
            url = link_url(context.settings.public_url, RESET_PATH + secret)
            minutes = context.settings.password_reset_valid_minutes
            letter = reset_letter(user.email, url, minutes)
            background.add_task(AccountMail(context.settings).send, letter, now=context.now())
        minutes = context.settings.password_reset_valid_minutes
        notice = _SENT.format(email=email.strip()[:320], minutes=minutes)
        return _forgot_page(context, notice=notice)

    @router.get("/reset/{token}")
    def reset_form(token: Annotated[str, Path(max_length=100)]) -> Response:
        return _reset_page(context, token)

    @router.post("/reset/{token}")
    def reset(
        token: Annotated[str, Path(max_length=100)],
        password: Annotated[str, Form(max_length=1000)] = "",
    ) -> Response:
        try:
            with session_scope(context.engine) as session:
                complete_reset(session, context.sign_in_actor("anonymous"), token, password)
        except NoSuchReset as err:
            raise PageError(404, str(err)) from err
        except InputError as err:
            return _reset_page(context, token, error=str(err), status=422)
        return RedirectResponse("/admin/login?reset=1", status_code=303)


def _actor(context: AdminContext, web: WebSession) -> Actor:
    current = page_caller(web).current
    if current is None:
        return context.sign_in_actor(web.user.email)
    return Actor(web.user.email, current.clinic_id, context.now())


def _account_page(
    context: AdminContext, web: WebSession, *, status: int = 200, **extra: Any
) -> Response:
    values = page_values(web, "account", "Your account")
    values["notice"] = extra.pop("notice", None)
    with session_scope(context.engine) as session:
        tokens = list_api_tokens(session, web.user.id)
        me = find_user(session, web.user.email)
    return render(
        "account.html", status, **values, tokens=tokens, me=me,
        issued=extra.get("issued"), error=extra.get("error"),
    )  # fmt: skip


def _forgot_page(context: AdminContext, *, notice: str | None = None) -> Response:
    token = new_secret()
    response = render(
        "forgot.html", user=None, csrf="", nav="", notice=notice,
        title="Forgot your password", login_csrf=token,
    )  # fmt: skip
    set_cookie(response, context, LOGIN_CSRF_COOKIE, token, _FORM_SECONDS)
    return response


def _reset_page(
    context: AdminContext, token: str, *, status: int = 200, error: str | None = None
) -> Response:
    with session_scope(context.engine) as session:
        live = reset_is_live(session, token, context.now())
    if not live:
        raise PageError(404, "This reset link has expired or was used: ask for a new one.")
    return render(
        "reset.html", status, user=None, csrf="", nav="", notice=None,
        title="Choose a new password", token=token, error=error,
    )  # fmt: skip
