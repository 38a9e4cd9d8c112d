"""The people of a clinic: members, their roles and state, invitations (SPEC §2, §8).

``/admin/people`` lists the members of the clinic in view with their role there and
whether they may sign in, and its open invitations. Its admins invite an address with a
role (:mod:`sync.accounts.invites`: the link goes by e-mail through the SMTP settings;
with no SMTP server, or when sending failed, the page shows the admin the link to hand
over), resend or revoke an invitation, change a member's role, disable or enable a
member. Auditors see the list and no form. A member or invitation of a clinic the caller
is not in answers 404 like a missing one.

Disabling is of the account (its sessions and tokens stop at once), so an admin may
disable only someone whose every clinic they administer; anyone else is removed from a
clinic by its own admins. Nobody disables or demotes themselves here.

``/admin/invite/<token>`` is the link: a new person sets their name and password and is
signed in; a person with an account joins the clinic and signs in as usual.
"""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request, Response
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from sync.accounts.invites import (
    IssuedInvite,
    NoSuchInvite,
    accept_invite,
    invite_person,
    open_invite,
    resend_invite,
    withdraw_invite,
)
from sync.accounts.login import open_session
from sync.accounts.mail import AccountMail, invite_letter, link_url
from sync.accounts.service import Actor, disable_user, enable_user, grant_role
from sync.errors import InputError
from sync.store.account_links import list_open_invites
from sync.store.clinics import clinic_by_id
from sync.store.database import session_scope
from sync.store.memberships import Membership, Role
from sync.store.users import User, WebSession, get_user, list_members
from sync.web.admin.access import page_caller
from sync.web.admin.auth import SESSION_COOKIE, PageError, check_csrf, set_cookie
from sync.web.admin.context import AdminContext
from sync.web.admin.pages import page_values, signed_in_for
from sync.web.admin.views import render

__all__ = ["people_pages"]

_ID = Path(ge=1, le=2**31 - 1)
_ROLES = tuple(Role)


@dataclass(frozen=True, slots=True)
class _Handover:
    """An invitation link the admin is shown: no e-mail went out, and why."""

    email: str
    url: str
    reason: str


def people_pages(context: AdminContext) -> APIRouter:
    """The people page's and the invitation link's router."""
    router = APIRouter(prefix="/admin", include_in_schema=False)
    signed_in = Annotated[WebSession, Depends(signed_in_for(context))]
    csrf_field = Annotated[str | None, Form()]

    @router.get("/people")
    def people(web: signed_in) -> Response:
        return _people_page(context, web)

    @router.post("/people/invite")
    def invite(
        request: Request, web: signed_in, csrf_token: csrf_field = None,
        email: Annotated[str, Form(max_length=320)] = "",
        role: Annotated[str, Form(max_length=16)] = "",
    ) -> Response:  # fmt: skip
        membership = _admin_of_view(web, csrf_token)
        try:
            with session_scope(context.engine) as session:
                issued = invite_person(
                    session, _actor(context, web, membership), email, _role(role),
                    context.invite_lifetime,
                )  # fmt: skip
        except InputError as err:
            return _people_page(context, web, error=str(err), status=422, email=email)
        return _after_issue(context, request, web, membership, issued, done="sent")

    @router.post("/people/invites/{invite_id}/resend")
    def resend(
        request: Request, web: signed_in, invite_id: Annotated[int, _ID],
        csrf_token: csrf_field = None,
    ) -> Response:  # fmt: skip
        membership = _admin_of_view(web, csrf_token)
        try:
            with session_scope(context.engine) as session:
                actor = _actor(context, web, membership)
                issued = resend_invite(session, actor, invite_id, context.invite_lifetime)
        except NoSuchInvite as err:
            raise PageError(404, str(err)) from err
        return _after_issue(context, request, web, membership, issued, done="sent again")

    @router.post("/people/invites/{invite_id}/revoke")
    def revoke(
        web: signed_in, invite_id: Annotated[int, _ID], csrf_token: csrf_field = None
    ) -> Response:
        membership = _admin_of_view(web, csrf_token)
        try:
            with session_scope(context.engine) as session:
                gone = withdraw_invite(session, _actor(context, web, membership), invite_id)
        except NoSuchInvite as err:
            raise PageError(404, str(err)) from err
        return _people_page(context, web, notice=f"The invitation of {gone.email} is revoked.")

    @router.post("/people/{user_id}/role")
    def change_role(
        web: signed_in, user_id: Annotated[int, _ID], csrf_token: csrf_field = None,
        role: Annotated[str, Form(max_length=16)] = "",
    ) -> Response:  # fmt: skip
        membership = _admin_of_view(web, csrf_token)
        chosen = _role(role)
        with session_scope(context.engine) as session:
            member = _member(session, web, membership, user_id)
            clinic = clinic_by_id(session, membership.clinic_id)
            grant_role(session, _actor(context, web, membership), member.email, clinic, chosen)
        notice = f"{member.email} is now {chosen.value} of {membership.name}."
        return _people_page(context, web, notice=notice)

    @router.post("/people/{user_id}/{change}")
    def switch(
        web: signed_in, user_id: Annotated[int, _ID], change: str, csrf_token: csrf_field = None
    ) -> Response:
        if change not in ("disable", "enable"):
            raise PageError(404, "There is no such action.")
        membership = _admin_of_view(web, csrf_token)
        with session_scope(context.engine) as session:
            member = _member(session, web, membership, user_id)
            _may_switch(web.user, member)
            act = disable_user if change == "disable" else enable_user
            act(session, _actor(context, web, membership), member.email)
        return _people_page(context, web, notice=f"{member.email} is {change}d.")

    _invitation_routes(router, context)
    return router


def _invitation_routes(router: APIRouter, context: AdminContext) -> None:
    """The invitation link: the page, and accepting it."""

    @router.get("/invite/{token}")
    def invitation(token: Annotated[str, Path(max_length=100)]) -> Response:
        return _invite_page(context, token)

    @router.post("/invite/{token}")
    def accept(
        token: Annotated[str, Path(max_length=100)],
        name: Annotated[str, Form(max_length=200)] = "",
        password: Annotated[str, Form(max_length=1000)] = "",
    ) -> Response:
        try:
            with session_scope(context.engine) as session:
                accepted = accept_invite(
                    session, token, context.now(), name=name, password=password
                )
                opened = None
                if accepted.new_account:
                    lifetime = context.limits.session_lifetime
                    opened = open_session(session, accepted.user, context.now(), lifetime)
        except NoSuchInvite as err:
            raise PageError(404, str(err)) from err
        except InputError as err:
            return _invite_page(context, token, error=str(err), name=name, status=422)
        if opened is None:
            return RedirectResponse("/admin/login?joined=1", status_code=303)
        response = RedirectResponse("/admin/", status_code=303)
        lifetime_s = int(context.limits.session_lifetime.total_seconds())
        set_cookie(response, context, SESSION_COOKIE, opened.cookie, lifetime_s)
        return response


def _admin_of_view(web: WebSession, csrf_token: str | None) -> Membership:
    """The clinic in view, which the caller must administer; the form's CSRF checked first."""
    check_csrf(web, csrf_token)
    current = page_caller(web).current
    if current is None:
        raise PageError(404, "You are not a member of any clinic.")
    if current.role is not Role.ADMIN:
        raise PageError(403, "Auditors have read-only access here: ask an admin to do this.")
    return current


def _actor(context: AdminContext, web: WebSession, membership: Membership) -> Actor:
    return Actor(web.user.email, membership.clinic_id, context.now())


def _role(text: str) -> Role:
    if text not in set(Role):
        raise PageError(422, "Choose a role: admin or auditor.")
    return Role(text)


def _member(session: Session, web: WebSession, membership: Membership, user_id: int) -> User:
    """A member of the clinic in view (another clinic's answers like a missing one)."""
    member = get_user(session, user_id)
    if member is None or member.membership(membership.clinic_id) is None:
        raise PageError(404, f"no member {user_id} in this clinic")
    if member.id == web.user.id:
        raise PageError(409, "You cannot change your own role or account here.")
    return member


def _may_switch(admin: User, member: User) -> None:
    if not all(admin.can_act_in(clinic_id) for clinic_id in member.clinic_ids):
        raise PageError(
            409,
            "This person is also a member of clinics you do not administer: their "
            "account can be disabled only by an admin of each of them.",
        )


def _after_issue(
    context: AdminContext,
    request: Request,
    web: WebSession,
    membership: Membership,
    issued: IssuedInvite,
    *,
    done: str,
) -> Response:
    settings = context.settings
    hours = settings.invite_valid_hours
    letter = invite_letter(
        issued.invite.email, membership.name, issued.invite.role.value,
        link_url(settings.public_url, issued.path), hours,
    )  # fmt: skip
    failed = AccountMail(settings).send(letter, now=context.now())
    if failed is None:
        return _people_page(context, web, notice=f"Invitation {done} to {issued.invite.email}.")
    # The admin's own browser asked: the link on screen uses the address it reached us at.
    url = link_url(str(request.base_url), issued.path)
    handover = _Handover(issued.invite.email, url, failed)
    return _people_page(context, web, handover=handover)


def _people_page(
    context: AdminContext, web: WebSession, *, status: int = 200, **extra: Any
) -> Response:
    values = page_values(web, "people", "People")
    values["notice"] = extra.pop("notice", None)
    current = page_caller(web).current
    if current is None:
        raise PageError(404, "You are not a member of any clinic.")
    with session_scope(context.engine) as session:
        members = list_members(session, current.clinic_id)
        invites = list_open_invites(session, current.clinic_id)
    return render(
        "people.html", status, **values, members=members, invites=invites, roles=_ROLES,
        now=context.now(), me=web.user.id, handover=extra.get("handover"),
        error=extra.get("error"), email=extra.get("email", ""),
    )  # fmt: skip


def _invite_page(
    context: AdminContext, token: str, *, status: int = 200, error: str | None = None,
    name: str = "",
) -> Response:  # fmt: skip
    try:
        with session_scope(context.engine) as session:
            invite, known = open_invite(session, token, context.now())
            clinic = clinic_by_id(session, invite.clinic_id)
    except NoSuchInvite as err:
        raise PageError(404, str(err)) from err
    return render(
        "invite.html", status, user=None, csrf="", nav="", notice=None,
        title=f"Join {clinic.name}", invite=invite, joining=clinic, has_account=known is not None,
        error=error, name=name, token=token,
    )  # fmt: skip
