"""People by e-mail: invitations, roles, disabling, password resets, own account (SPEC §8).

The app runs under uvicorn on loopback and sends through a real SMTP server (aiosmtpd);
each link is taken from the e-mail that arrived and followed with a plain HTTP client.
"""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy import Engine

from sync.accounts.service import Actor, create_user
from sync.config import Settings
from sync.store.audit import list_audit_events
from sync.store.clinics import add_clinic, get_clinic
from sync.store.database import session_scope
from sync.store.users import Role, find_user
from sync.web.app import create_app
from sync.web.server import WebServer
from tests.admin.conftest import ADMIN, AUDITOR, NOW, PASSWORD, Accounts, Clock, csrf_of, sign_in
from tests.admin.people_fixtures import (
    arrived,
    browser_client,
    clock,
    inbox,
    link_in,
    mail_app,
    mail_server,
    people_settings,
)
from tests.notify.conftest import Inbox, smtp

__all__ = ["browser_client", "clock", "inbox", "mail_app", "mail_server", "smtp"]

COLLEAGUE = "cleo.colleague@clinic.example"
NEW_PASSWORD = "another long password"


def _invite(web: httpx.Client, email: str = COLLEAGUE, role: str = "auditor") -> httpx.Response:
    csrf = csrf_of(web.get("/admin/people").text)
    return web.post("/admin/people/invite", data={"csrf_token": csrf, "email": email, "role": role})


def _actions(engine: Engine, clinic: str = "default") -> list[str]:
    with session_scope(engine) as session:
        return [e.action for e in list_audit_events(session, get_clinic(session, clinic).id)]


def test_an_invited_colleague_sets_a_password_from_the_emailed_link_once_and_is_signed_in(
    browser_client: httpx.Client, mail_server: WebServer, inbox: Inbox, accounts: Accounts,
    engine: Engine,
) -> None:  # fmt: skip
    assert sign_in(browser_client, ADMIN).status_code == 303
    answer = _invite(browser_client)
    assert answer.status_code == 200
    assert f"Invitation sent to {COLLEAGUE}" in answer.text
    [mail] = inbox.to(COLLEAGUE)
    assert mail["Subject"].startswith("Invitation to ")
    path = link_in(mail)
    with httpx.Client(base_url=mail_server.url) as colleague:
        page = colleague.get(path)
        assert page.status_code == 200
        assert "as <strong>auditor</strong>" in page.text
        accepted = colleague.post(path, data={"name": "Cleo Colleague", "password": PASSWORD})
        assert accepted.status_code == 303
        assert accepted.headers["location"] == "/admin/"
        home = colleague.get("/admin/")
        assert home.status_code == 200
        assert COLLEAGUE in home.text
        again = colleague.post(path, data={"name": "Mallory", "password": PASSWORD})
        assert again.status_code == 404
        assert colleague.get(path).status_code == 404
    with session_scope(engine) as session:
        user = find_user(session, COLLEAGUE)
        assert user is not None
        assert user.name == "Cleo Colleague"
        assert [(m.slug, m.role) for m in user.memberships] == [("default", Role.AUDITOR)]
    assert {"invite.sent", "invite.accepted"} <= set(_actions(engine))


def test_an_invitation_link_stops_working_once_it_expires(
    browser_client: httpx.Client, inbox: Inbox, accounts: Accounts, clock: Clock
) -> None:
    sign_in(browser_client, ADMIN)
    _invite(browser_client)
    path = link_in(inbox.to(COLLEAGUE)[0])
    clock.now = NOW + timedelta(hours=72, seconds=1)
    assert browser_client.get(path).status_code == 404
    refused = browser_client.post(path, data={"name": "Cleo", "password": PASSWORD})
    assert refused.status_code == 404
    assert "expired" in refused.text


def test_a_short_password_is_refused_and_the_link_still_works(
    browser_client: httpx.Client, inbox: Inbox, accounts: Accounts
) -> None:
    sign_in(browser_client, ADMIN)
    _invite(browser_client)
    path = link_in(inbox.to(COLLEAGUE)[0])
    with httpx.Client(base_url=str(browser_client.base_url)) as colleague:
        short = colleague.post(path, data={"name": "Cleo", "password": "short"})
        assert short.status_code == 422
        assert "at least 10 characters" in short.text
        assert colleague.get(path).status_code == 200


def test_resending_an_invitation_sends_a_new_link_and_retires_the_old_one(
    browser_client: httpx.Client, inbox: Inbox, accounts: Accounts, engine: Engine
) -> None:
    sign_in(browser_client, ADMIN)
    _invite(browser_client)
    first = link_in(inbox.to(COLLEAGUE)[0])
    twice = _invite(browser_client)
    assert twice.status_code == 422
    assert "invited already" in twice.text
    page = browser_client.get("/admin/people").text
    invite_id = page.split("/admin/people/invites/")[1].split("/")[0]
    data = {"csrf_token": csrf_of(page)}
    assert (
        browser_client.post(f"/admin/people/invites/{invite_id}/resend", data=data).status_code
        == 200
    )
    second = link_in(inbox.to(COLLEAGUE)[1])
    assert second != first
    assert browser_client.get(first).status_code == 404
    assert browser_client.get(second).status_code == 200
    revoked = browser_client.post(f"/admin/people/invites/{invite_id}/revoke", data=data)
    assert "is revoked" in revoked.text
    assert browser_client.get(second).status_code == 404
    assert {"invite.resent", "invite.revoked"} <= set(_actions(engine))


def test_without_an_smtp_server_the_admin_is_shown_the_link_to_hand_over(
    settings: Settings, engine: Engine, accounts: Accounts
) -> None:
    app = create_app(people_settings(settings, None), engine, clock=Clock())
    with WebServer(app) as server, httpx.Client(base_url=server.url) as web:
        sign_in(web, ADMIN)
        answer = _invite(web)
        assert "No e-mail was sent (no SMTP server is configured)" in answer.text
        url = answer.text.split('id="invite-link" readonly value="')[1].split('"')[0]
        assert url.startswith(f"{server.url}/admin/invite/")
        assert web.get(url).status_code == 200


def test_an_existing_user_invited_to_a_second_clinic_just_gains_the_membership(
    browser_client: httpx.Client, inbox: Inbox, accounts: Accounts, engine: Engine
) -> None:
    with session_scope(engine) as session:
        beta = add_clinic(session, "beta", "Beta Clinic")
        create_user(session, Actor("cli", beta.id, NOW), "bo@beta.example", Role.ADMIN, PASSWORD)
    sign_in(browser_client, "bo@beta.example")
    _invite(browser_client, AUDITOR, "admin")
    path = link_in(inbox.to(AUDITOR)[0])
    with httpx.Client(base_url=str(browser_client.base_url)) as auditor:
        page = auditor.get(path)
        assert "You have an account already" in page.text
        joined = auditor.post(path)
        assert joined.status_code == 303
        assert joined.headers["location"].startswith("/admin/login")
        assert sign_in(auditor, AUDITOR).status_code == 303  # the password is unchanged
    with session_scope(engine) as session:
        user = find_user(session, AUDITOR)
        assert user is not None
        assert {(m.slug, m.role) for m in user.memberships} == {
            ("default", Role.AUDITOR), ("beta", Role.ADMIN),
        }  # fmt: skip
    assert "invite.accepted" in _actions(engine, "beta")


def test_a_disabled_member_cannot_sign_in_and_their_sessions_and_tokens_stop(
    browser_client: httpx.Client, mail_server: WebServer, accounts: Accounts, engine: Engine
) -> None:
    with httpx.Client(base_url=mail_server.url) as auditor:
        assert sign_in(auditor, AUDITOR).status_code == 303
        sign_in(browser_client, ADMIN)
        page = browser_client.get("/admin/people").text
        auditor_id = _member_id(engine, AUDITOR)
        data = {"csrf_token": csrf_of(page)}
        answer = browser_client.post(f"/admin/people/{auditor_id}/disable", data=data)
        assert f"{AUDITOR} is disabled" in answer.text
        assert auditor.get("/admin/conflicts").status_code == 303  # signed out
        assert sign_in(auditor, AUDITOR).status_code == 401
        bearer = {"Authorization": f"Bearer {accounts.auditor_token}"}
        assert auditor.get("/api/v1/me", headers=bearer).status_code == 401
        browser_client.post(f"/admin/people/{auditor_id}/enable", data=data)
        assert sign_in(auditor, AUDITOR).status_code == 303
    assert {"user.disabled", "user.enabled"} <= set(_actions(engine))


def test_an_admin_changes_a_members_role_but_not_their_own(
    browser_client: httpx.Client, accounts: Accounts, engine: Engine
) -> None:
    sign_in(browser_client, ADMIN)
    data = {"csrf_token": csrf_of(browser_client.get("/admin/people").text), "role": "admin"}
    changed = browser_client.post(f"/admin/people/{_member_id(engine, AUDITOR)}/role", data=data)
    assert f"{AUDITOR} is now admin" in changed.text
    own = browser_client.post(f"/admin/people/{_member_id(engine, ADMIN)}/role", data=data)
    assert own.status_code == 409
    assert "user.granted" in _actions(engine)


def test_an_auditor_sees_the_people_but_cannot_invite(
    browser_client: httpx.Client, inbox: Inbox, accounts: Accounts
) -> None:
    sign_in(browser_client, AUDITOR)
    page = browser_client.get("/admin/people")
    assert ADMIN in page.text
    assert "Invite someone" not in page.text
    data = {"csrf_token": csrf_of(page.text), "email": COLLEAGUE, "role": "admin"}
    assert browser_client.post("/admin/people/invite", data=data).status_code == 403
    assert inbox.messages == []


def _member_id(engine: Engine, email: str) -> int:
    with session_scope(engine) as session:
        user = find_user(session, email)
        assert user is not None
        return user.id


# --- password reset and one's own account ----------------------------------------------


def _masked(page: str, email: str) -> str:
    """The page without the address asked for and the form's fresh CSRF token."""
    return re.sub(r'name="csrf_token" value="[^"]+"', "", page.replace(email, "X"))


def _forgot(web: httpx.Client, email: str) -> httpx.Response:
    form = web.get("/admin/forgot")
    return web.post("/admin/forgot", data={"email": email, "csrf_token": csrf_of(form.text)})


def test_forgot_password_answers_the_same_whether_or_not_the_address_has_an_account(
    browser_client: httpx.Client, inbox: Inbox, accounts: Accounts
) -> None:
    known = _forgot(browser_client, ADMIN)
    unknown = _forgot(browser_client, "nobody@clinic.example")
    assert known.status_code == unknown.status_code == 200
    assert _masked(known.text, ADMIN) == _masked(unknown.text, "nobody@clinic.example")
    arrived(inbox, ADMIN)
    assert [m["To"] for m in inbox.messages] == [ADMIN]


def test_at_most_three_reset_emails_an_hour_go_to_one_address(
    browser_client: httpx.Client, inbox: Inbox, accounts: Accounts, clock: Clock
) -> None:
    for _ in range(5):
        assert _forgot(browser_client, ADMIN).status_code == 200
    arrived(inbox, ADMIN, 3)
    assert len(inbox.to(ADMIN)) == 3
    clock.now = NOW + timedelta(hours=1, seconds=1)
    _forgot(browser_client, ADMIN)
    assert len(arrived(inbox, ADMIN, 4)) == 4


def test_a_reset_link_sets_a_new_password_once_and_ends_every_session(
    browser_client: httpx.Client, mail_server: WebServer, inbox: Inbox, accounts: Accounts,
    engine: Engine,
) -> None:  # fmt: skip
    with httpx.Client(base_url=mail_server.url) as elsewhere:
        assert sign_in(elsewhere, ADMIN).status_code == 303
        _forgot(browser_client, ADMIN)
        path = link_in(arrived(inbox, ADMIN)[0])
        assert browser_client.get(path).status_code == 200
        done = browser_client.post(path, data={"password": NEW_PASSWORD})
        assert done.status_code == 303
        assert elsewhere.get("/admin/conflicts").status_code == 303  # signed out
    assert browser_client.post(path, data={"password": "a third long password"}).status_code == 404
    assert sign_in(browser_client, ADMIN).status_code == 401
    assert sign_in(browser_client, ADMIN, NEW_PASSWORD).status_code == 303
    assert {"password_reset.requested", "password_reset.completed"} <= set(_actions(engine))


def test_a_reset_link_stops_working_once_it_expires(
    browser_client: httpx.Client, inbox: Inbox, accounts: Accounts, clock: Clock
) -> None:
    _forgot(browser_client, ADMIN)
    path = link_in(arrived(inbox, ADMIN)[0])
    clock.now = NOW + timedelta(minutes=61)
    assert browser_client.get(path).status_code == 404
    assert browser_client.post(path, data={"password": NEW_PASSWORD}).status_code == 404


def test_changing_ones_password_needs_the_current_one_and_keeps_this_browser_signed_in(
    browser_client: httpx.Client, accounts: Accounts, engine: Engine
) -> None:
    sign_in(browser_client, ADMIN)
    csrf = csrf_of(browser_client.get("/admin/account").text)
    wrong = {"csrf_token": csrf, "current": "not it at all", "password": NEW_PASSWORD}
    assert browser_client.post("/admin/account/password", data=wrong).status_code == 422
    right = {"csrf_token": csrf, "current": PASSWORD, "password": NEW_PASSWORD}
    changed = browser_client.post("/admin/account/password", data=right)
    assert changed.status_code == 303
    page = browser_client.get(changed.headers["location"])
    assert "Your password is changed" in page.text
    with httpx.Client(base_url=str(browser_client.base_url)) as other:
        assert sign_in(other, ADMIN).status_code == 401
        assert sign_in(other, ADMIN, NEW_PASSWORD).status_code == 303
    assert "user.password_changed" in _actions(engine)


def test_a_personal_api_token_is_shown_once_listed_with_its_use_and_revoked(
    browser_client: httpx.Client, mail_server: WebServer, accounts: Accounts, engine: Engine
) -> None:
    sign_in(browser_client, ADMIN)
    csrf = csrf_of(browser_client.get("/admin/account").text)
    made = browser_client.post(
        "/admin/account/tokens", data={"csrf_token": csrf, "label": "laptop"}
    )
    secret = made.text.split('id="issued-token" readonly value="')[1].split('"')[0]
    assert secret.startswith("csa_")
    listed = browser_client.get("/admin/account").text
    assert secret not in listed
    assert "laptop" in listed
    bearer = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=mail_server.url, headers=bearer) as api:
        assert api.get("/api/v1/me").status_code == 200
        token_id = listed.split("/admin/account/tokens/")[-1].split("/")[0]
        gone = browser_client.post(
            f"/admin/account/tokens/{token_id}/revoke", data={"csrf_token": csrf}
        )
        assert f"API token {token_id} is revoked" in gone.text
        assert api.get("/api/v1/me").status_code == 401
    assert {"api_token.issued", "api_token.revoked"} <= set(_actions(engine))
