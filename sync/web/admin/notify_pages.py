"""The admin UI's notifications page: one's own e-mail choice, and the clinic's webhooks (SPEC §8).

``/admin/notifications`` is about the clinic in view (:func:`~sync.web.admin.access.page_caller`):

- each admin chooses how they are e-mailed of it — at once, a daily digest, or not at all —
  the same choice ``clinic-sync notify preferences`` records (auditors are not e-mailed,
  so they have none to make);
- an admin manages its webhooks as ``clinic-sync notify webhooks`` does: add a URL (json or
  slack format; the signing secret is shown once, in the answer to the form, and stored
  encrypted), send a test message to one, delete one.

Every form needs the session's CSRF token; every change is on the clinic's audit trail with
the admin's e-mail. A webhook of another clinic answers 404 like a missing one.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Response

from sync.bootstrap import secret_box
from sync.errors import ClinicSyncError, InputError
from sync.notify.check import send_test
from sync.notify.job import open_channels
from sync.notify.webhooks import FORMATS, check_url, new_secret
from sync.store.audit import record_audit_event
from sync.store.database import session_scope
from sync.store.errors import RecordNotFound
from sync.store.notifications import (
    NotifyMode,
    StoredWebhook,
    add_webhook,
    clinic_admins,
    list_webhooks,
    remove_webhook,
    set_preference,
)
from sync.store.users import WebSession
from sync.web.admin.access import NotAllowed, page_caller
from sync.web.admin.auth import PageError, check_csrf
from sync.web.admin.context import AdminContext
from sync.web.admin.pages import not_allowed, page_values, signed_in_for
from sync.web.admin.views import render

__all__ = ["notification_pages"]

_MODES = {
    NotifyMode.IMMEDIATE: "Each notification at once",
    NotifyMode.DAILY: "One daily digest",
    NotifyMode.OFF: "No e-mail",
}
_WebhookId = Annotated[int, Path(ge=1, le=2**31 - 1)]
_Csrf = Annotated[str | None, Form()]


def notification_pages(context: AdminContext) -> APIRouter:
    """The notifications page's router."""
    router = APIRouter(prefix="/admin", include_in_schema=False)
    signed_in = Annotated[WebSession, Depends(signed_in_for(context))]

    @router.get("/notifications")
    def show(web: signed_in) -> Response:
        return _page(context, web)

    @router.post("/notifications/preference")
    def choose(
        web: signed_in, csrf_token: _Csrf = None, mode: Annotated[str, Form()] = ""
    ) -> Response:
        check_csrf(web, csrf_token)
        clinic_id = _admin_clinic(web)
        try:
            chosen = NotifyMode(mode)
        except ValueError:
            return _page(context, web, error="Choose one of the ways to be told.", status=422)
        now = context.now()
        with session_scope(context.engine) as session:
            set_preference(session, web.user.id, clinic_id, chosen, now=now)
            _audit(session, clinic_id, web, "notification.preference_set", {"mode": chosen.value})
        return _page(context, web, notice=f"Saved: {_MODES[chosen].lower()}.")

    @router.post("/notifications/webhooks")
    def add(
        web: signed_in,
        csrf_token: _Csrf = None,
        url: Annotated[str, Form(max_length=2000)] = "",
        fmt: Annotated[str, Form(alias="format")] = "json",
    ) -> Response:
        check_csrf(web, csrf_token)
        clinic_id = _admin_clinic(web)
        try:
            hook, secret = _add(context, web, clinic_id, url, fmt)
        except InputError as err:
            return _page(context, web, error=str(err), status=422)
        return _page(context, web, issued=(hook, secret))

    @router.post("/notifications/webhooks/{webhook_id}/test")
    def test(webhook_id: _WebhookId, web: signed_in, csrf_token: _Csrf = None) -> Response:
        check_csrf(web, csrf_token)
        clinic_id = _admin_clinic(web)
        hook = _webhook(context, clinic_id, webhook_id)
        return _page(context, web, notice=_test(context, clinic_id, hook))

    @router.post("/notifications/webhooks/{webhook_id}/delete")
    def delete(webhook_id: _WebhookId, web: signed_in, csrf_token: _Csrf = None) -> Response:
        check_csrf(web, csrf_token)
        clinic_id = _admin_clinic(web)
        with session_scope(context.engine) as session:
            try:
                remove_webhook(session, clinic_id, webhook_id)
            except RecordNotFound as err:
                raise PageError(404, str(err)) from err
            _audit(session, clinic_id, web, "webhook.removed", {"webhook": webhook_id})
        return _page(context, web, notice=f"Webhook {webhook_id} is deleted.")

    return router


def _admin_clinic(web: WebSession) -> int:
    """The clinic in view, which the caller must be an admin of (403 otherwise)."""
    caller = page_caller(web)
    if caller.current is None:
        raise PageError(404, "you are not a member of any clinic")
    try:
        caller.require_admin(caller.current.clinic_id)
    except NotAllowed as err:
        raise not_allowed(err) from err
    return caller.current.clinic_id


def _add(
    context: AdminContext, web: WebSession, clinic_id: int, url: str, fmt: str
) -> tuple[StoredWebhook, str]:
    if fmt not in FORMATS:
        raise InputError(f"the format is one of {', '.join(FORMATS)}")
    checked = check_url(url, context.settings)
    secret = new_secret()
    try:
        sealed = secret_box(context.settings).encrypt(secret)
    except ClinicSyncError as err:
        raise InputError(f"webhooks cannot be kept here yet: {err}") from err
    with session_scope(context.engine) as session:
        hook = add_webhook(session, clinic_id, checked, sealed, fmt, now=context.now())
        detail = {"webhook": hook.id, "url": hook.url, "format": fmt}
        _audit(session, clinic_id, web, "webhook.added", detail)
    return hook, secret


def _webhook(context: AdminContext, clinic_id: int, webhook_id: int) -> StoredWebhook:
    with session_scope(context.engine) as session:
        found = list_webhooks(session, clinic_id, ids=[webhook_id])
    if not found:
        raise PageError(404, f"no webhook with id {webhook_id}")
    return found[0]


def _test(context: AdminContext, clinic_id: int, hook: StoredWebhook) -> str:
    """Send the test message to ``hook`` alone; what became of it, in words."""
    profile, settings = context.clinic(clinic_id), context.settings
    recipient = f"webhook:{hook.id}"
    with open_channels(context.engine, settings) as channels:
        outcomes = send_test(
            context.engine,
            profile,
            channels,
            public_url=settings.public_url,
            now=context.now(),
            only=recipient,
        )
    if not outcomes:
        return f"Webhook {hook.id} is not enabled, or webhooks are not configured: nothing sent."
    reason = outcomes[0].reason
    return f"Test sent to webhook {hook.id}." if reason is None else f"Test failed: {reason}"


def _audit(
    session: Any, clinic_id: int, web: WebSession, action: str, detail: dict[str, object]
) -> None:
    record_audit_event(session, clinic_id, web.user.email, action, detail=detail)


def _page(
    context: AdminContext,
    web: WebSession,
    *,
    status: int = 200,
    notice: str | None = None,
    error: str | None = None,
    issued: tuple[StoredWebhook, str] | None = None,
) -> Response:
    values = page_values(web, "notifications", "Notifications")
    values["notice"] = notice
    clinic = page_caller(web).current
    mode, hooks = None, []
    if clinic is not None and values["can_act"]:
        with session_scope(context.engine) as session:
            mine = [m for m in clinic_admins(session, clinic.clinic_id) if m.user_id == web.user.id]
            hooks = list_webhooks(session, clinic.clinic_id)
        mode = mine[0].mode if mine else NotifyMode.IMMEDIATE
    return render(
        "notifications.html",
        status,
        **values,
        modes=_MODES,
        mode=mode,
        hooks=hooks,
        formats=FORMATS,
        error=error,
        issued=issued,
    )
