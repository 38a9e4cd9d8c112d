"""Connecting a clinic and choosing its calendars from the admin UI, over HTTP (SPEC §2, §9).

The app is served on loopback with Connect Google pointed at the emulator's OAuth
endpoints; the consent page is answered as a browser would, the grant lands encrypted in
the store and drives the real Google client that lists the account's calendars.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from caldav.davclient import DAVClient

from sync.accounts.service import Actor, create_user
from sync.bootstrap import clinic_services, secret_box
from sync.ingest.text import calendar_name
from sync.store.audit import list_audit_events
from sync.store.clinics import get_or_create_clinic
from sync.store.credentials import CredentialState, get_credential
from sync.store.database import session_scope
from sync.store.sources import Provider, list_sources
from sync.usecases.cycle import run_clinic_pass
from tests.admin.conftest import ADMIN, AUDITOR, NOW, PASSWORD, Accounts, csrf_of, sign_in
from tests.admin.connecting import (
    Connecting,
    back_from_google,
    connecting,
    start_google,
    through_consent,
)
from tests.caldav.conftest import radicale_url
from tests.clinics import clinic_profile
from tests.icsurl.conftest import FeedServer, _handler
from tests.loopback import serving

__all__ = ["connecting", "radicale_url"]

OWNER = "owner@clinic.example"  # the emulated account: its primary calendar's id


@pytest.fixture
def admin(connecting: Connecting, accounts: Accounts) -> Iterator[httpx.Client]:
    """A browser signed in as the clinic's admin."""
    with httpx.Client(base_url=connecting.url) as web:
        assert sign_in(web, ADMIN).status_code == 303
        yield web


def _connected(web: httpx.Client) -> httpx.Response:
    return back_from_google(web, through_consent(web))


def _clinic_id(c: Connecting) -> int:
    with session_scope(c.engine) as session:
        return get_or_create_clinic(session, "default").id


def _actions(c: Connecting) -> list[str]:
    with session_scope(c.engine) as session:
        return [event.action for event in list_audit_events(session, _clinic_id(c))]


def _credential(c: Connecting, provider: Provider = Provider.GOOGLE) -> Any:
    with session_scope(c.engine) as session:
        return get_credential(session, _clinic_id(c), provider)


def _add_form(page: str) -> list[tuple[str, bool, bool]]:
    """The picker's boxes: (calendar id, ticked, disabled)."""
    found = re.findall(r'<input type="checkbox" name="calendar_id" value="([^"]+)"([^>]*)>', page)
    return [(value, " checked" in rest, " disabled" in rest) for value, rest in found]


# Connecting Google ---------------------------------------------------------------------


def test_an_admin_connects_google_and_the_grant_is_stored_encrypted_and_audited(
    connecting: Connecting, admin: httpx.Client, new_calendar: Callable[..., str]
) -> None:
    room = new_calendar("Room 1")
    connecting.emulator.require_auth()  # the picker lists calendars with the new grant only
    started = start_google(admin)
    consent_url = started.headers["location"]
    assert consent_url.startswith(f"{connecting.emulator.auth_uri}?")
    assert "code_challenge_method=S256" in consent_url
    assert "access_type=offline" in consent_url
    picker = back_from_google(admin, through_consent(admin))
    assert picker.status_code == 200
    assert "The Google account is connected" in picker.text
    stored = _credential(connecting)
    assert stored.state is CredentialState.ACTIVE
    assert stored.account == OWNER
    assert "refresh_token" not in stored.secret  # encrypted at rest
    grant = json.loads(secret_box(connecting.settings).decrypt(stored.secret))
    assert grant["refresh_token"]
    assert "connection.google_connected" in _actions(connecting)
    csrf = csrf_of(picker.text)
    admin.post("/admin/calendars", data={"csrf_token": csrf, "calendar_id": [room]})
    page = admin.get("/admin/connect").text
    assert "Connected" in page
    assert OWNER in page
    assert "1 calendar(s) watched" in page


def test_a_refused_consent_shows_a_clear_page_and_stores_nothing(
    connecting: Connecting, admin: httpx.Client
) -> None:
    redirect = through_consent(admin, press="Deny")
    assert redirect.params["error"] == "access_denied"
    page = back_from_google(admin, redirect)
    assert page.status_code == 400
    assert "access to the Google account was not allowed" in page.text
    assert "Connect Google again" in page.text
    assert _credential(connecting) is None


def test_a_callback_with_a_wrong_state_is_refused_and_cannot_be_replayed(
    connecting: Connecting, admin: httpx.Client
) -> None:
    redirect = through_consent(admin)
    forged = redirect.location.replace(redirect.params["state"], "not-the-state")
    answer = admin.get(admin.get(forged).headers["location"])
    assert answer.status_code == 400
    assert "state does not match" in answer.text
    replayed = back_from_google(admin, redirect)  # the true answer, after the forged one
    assert replayed.status_code == 400
    assert "not started from this browser session" in replayed.text
    assert _credential(connecting) is None


def test_a_sign_in_answered_after_fifteen_minutes_has_expired(
    connecting: Connecting, admin: httpx.Client
) -> None:
    redirect = through_consent(admin)
    connecting.clock.now = NOW + timedelta(minutes=16)
    answer = back_from_google(admin, redirect)
    assert answer.status_code == 400
    assert "or it expired" in answer.text
    assert _credential(connecting) is None


def test_a_callback_in_another_browser_session_connects_nothing(
    connecting: Connecting, admin: httpx.Client
) -> None:
    redirect = through_consent(admin)
    with httpx.Client(base_url=connecting.url) as other:
        assert sign_in(other, ADMIN).status_code == 303
        answer = back_from_google(other, redirect)
    assert answer.status_code == 400
    assert _credential(connecting) is None


def test_the_callback_needs_a_signed_in_browser(connecting: Connecting) -> None:
    with httpx.Client(base_url=connecting.url) as anonymous:
        answer = anonymous.get("/oauth/google/callback?state=x&code=y")
        assert answer.status_code == 303
        onward = anonymous.get(answer.headers["location"])
    assert onward.status_code == 303
    assert onward.headers["location"].startswith("/admin/login")


def test_a_revoked_grant_shows_the_clinic_must_reconnect(
    connecting: Connecting, admin: httpx.Client
) -> None:
    _connected(admin)
    connecting.emulator.remove_app_access()  # from the account's Google Account page
    picker = admin.get("/admin/calendars")
    assert "Needs reconnecting" in picker.text
    assert _credential(connecting).state is CredentialState.RECONNECT_REQUIRED
    page = admin.get("/admin/connect").text
    assert "Needs reconnecting" in page
    assert "Reconnect Google" in page
    assert back_from_google(admin, through_consent(admin)).status_code == 200
    assert _credential(connecting).state is CredentialState.ACTIVE


def test_disconnect_revokes_the_grant_at_google_and_forgets_it(
    connecting: Connecting, admin: httpx.Client
) -> None:
    _connected(admin)
    grant = json.loads(secret_box(connecting.settings).decrypt(_credential(connecting).secret))
    csrf = csrf_of(admin.get("/admin/connect").text)
    answer = admin.post("/admin/connect/google/disconnect", data={"csrf_token": csrf})
    assert answer.status_code == 200
    assert "disconnected and its access revoked" in answer.text
    assert _credential(connecting) is None
    refresh = httpx.post(
        connecting.emulator.token_uri,
        data={
            "grant_type": "refresh_token", "refresh_token": grant["refresh_token"],
            "client_id": grant["client_id"], "client_secret": grant["client_secret"],
        },
    )  # fmt: skip
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"
    assert "connection.google_disconnected" in _actions(connecting)


def test_every_post_needs_the_csrf_token(connecting: Connecting, admin: httpx.Client) -> None:
    for path in (
        "/admin/connect/google", "/admin/connect/google/disconnect", "/admin/connect/caldav",
        "/admin/connect/ics", "/admin/calendars", "/admin/calendars/1/pause",
    ):  # fmt: skip
        assert admin.post(path, data={"csrf_token": "wrong"}).status_code == 403, path


def test_an_auditor_sees_the_connections_but_cannot_change_them(
    connecting: Connecting, admin: httpx.Client
) -> None:
    _connected(admin)
    with httpx.Client(base_url=connecting.url) as auditor:
        assert sign_in(auditor, AUDITOR).status_code == 303
        page = auditor.get("/admin/connect")
        assert page.status_code == 200
        assert OWNER in page.text
        assert "Disconnect Google" not in page.text
        csrf = csrf_of(page.text)  # the sign-out form's
        for path in ("/admin/connect/google", "/admin/connect/google/disconnect"):
            answer = auditor.post(path, data={"csrf_token": csrf})
            assert answer.status_code == 403, path
            assert "read-only" in answer.text
        data = {"csrf_token": csrf, "url": "https://example.invalid/x.ics"}
        assert auditor.post("/admin/connect/ics", data=data).status_code == 403
        picker = auditor.get("/admin/calendars")
        assert picker.status_code == 200
        assert 'name="calendar_id"' not in picker.text
    assert _credential(connecting) is not None


def test_an_operator_of_no_clinic_cannot_start_connecting(connecting: Connecting) -> None:
    with session_scope(connecting.engine) as session:
        actor = Actor("cli", get_or_create_clinic(session, "default").id, NOW)
        create_user(session, actor, "nobody@clinic.example", None, PASSWORD, operator=True)
    with httpx.Client(base_url=connecting.url) as web:
        assert sign_in(web, "nobody@clinic.example").status_code == 303
        csrf = csrf_of(web.get("/admin/connect").text)
        answer = web.post("/admin/connect/google", data={"csrf_token": csrf})
    assert answer.status_code in (403, 404)


# The calendar picker -------------------------------------------------------------------


def test_the_picker_leaves_the_primary_calendar_unticked_and_marks_read_only_ones(
    connecting: Connecting, admin: httpx.Client, new_calendar: Callable[..., str]
) -> None:
    room = new_calendar("Room 1")
    shared = new_calendar("Dr Lee (shared)")
    busy = new_calendar("Partner clinic")
    connecting.emulator.set_access_role(shared, "reader")
    connecting.emulator.set_access_role(busy, "freeBusyReader")
    picker = _connected(admin).text
    boxes = {value: (ticked, disabled) for value, ticked, disabled in _add_form(picker)}
    assert boxes[room] == (True, False)
    assert boxes[OWNER] == (False, False)  # the owner's own diary: not pre-selected
    assert boxes[shared] == (False, False)
    assert boxes[busy] == (False, True)
    assert "the account's own primary calendar" in picker
    assert picker.count("read-only: conflicts are found, flags cannot be written") == 2


def test_the_picker_shows_a_calendar_name_as_the_ingest_boundary_cleans_and_bounds_it(
    connecting: Connecting, admin: httpx.Client, new_calendar: Callable[..., str]
) -> None:
    """The account's calendar names are the provider's text: no line breaks, and bounded."""
    raw = "Room 1\nsecond line\x07 " + "x" * 5_000
    new_calendar(raw)
    picker = _connected(admin).text
    assert html.escape(calendar_name(raw), quote=False) in picker
    assert "x" * 1_000 not in picker
    assert "\x07" not in picker


def test_chosen_calendars_are_added_paused_resumed_and_removed_with_their_history(
    connecting: Connecting,
    admin: httpx.Client,
    new_calendar: Callable[..., str],
) -> None:
    room = new_calendar("Room 1")
    _connected(admin)
    csrf = csrf_of(admin.get("/admin/calendars").text)
    added = admin.post("/admin/calendars", data={"csrf_token": csrf, "calendar_id": [room]})
    assert added.status_code == 200
    assert "1 calendar(s) added" in added.text
    with session_scope(connecting.engine) as session:
        [source] = list_sources(session, _clinic_id(connecting))
    assert source.external_id == room
    assert f'value="{room}"' not in added.text  # watched now: not offered again
    assert "syncing" in added.text
    paused = admin.post(f"/admin/calendars/{source.id}/pause", data={"csrf_token": csrf})
    assert "Room 1 is paused." in paused.text
    _pass(connecting)
    assert _last_sync(connecting) is None  # a paused calendar is not polled
    admin.post(f"/admin/calendars/{source.id}/resume", data={"csrf_token": csrf})
    _pass(connecting)
    assert _last_sync(connecting) == NOW
    removed = admin.post(f"/admin/calendars/{source.id}/remove", data={"csrf_token": csrf})
    assert "Room 1 is removed." in removed.text
    with session_scope(connecting.engine) as session:
        assert list_sources(session, _clinic_id(connecting)) == []
        trail = list_audit_events(session, _clinic_id(connecting))
    mine = [e.action for e in trail if e.calendar_source_id == source.id]
    assert mine == ["calendar.added", "calendar.paused", "calendar.resumed", "calendar.removed"]
    assert {e.actor for e in trail if e.calendar_source_id == source.id} == {ADMIN}


def test_a_calendar_not_in_the_account_cannot_be_added(
    connecting: Connecting, admin: httpx.Client
) -> None:
    _connected(admin)
    csrf = csrf_of(admin.get("/admin/calendars").text)
    data = {"csrf_token": csrf, "calendar_id": ["someone-else@group.calendar.google.com"]}
    answer = admin.post("/admin/calendars", data=data)
    assert answer.status_code == 422
    with session_scope(connecting.engine) as session:
        assert list_sources(session, _clinic_id(connecting)) == []


def test_an_unknown_calendar_or_action_answers_404(
    connecting: Connecting, admin: httpx.Client
) -> None:
    csrf = csrf_of(admin.get("/admin/calendars").text)
    assert admin.post("/admin/calendars/999/pause", data={"csrf_token": csrf}).status_code == 404
    assert admin.post("/admin/calendars/1/explode", data={"csrf_token": csrf}).status_code == 404


# CalDAV and .ics -----------------------------------------------------------------------


def test_a_caldav_account_that_does_not_answer_is_not_saved(
    connecting: Connecting, admin: httpx.Client
) -> None:
    csrf = csrf_of(admin.get("/admin/connect").text)
    data = {
        "csrf_token": csrf, "url": "http://127.0.0.1:9/dav/", "username": "frontdesk",
        "password": "app-password",
    }  # fmt: skip
    answer = admin.post("/admin/connect/caldav", data=data)
    assert answer.status_code == 422
    assert 'value="frontdesk"' in answer.text  # typed values kept, the password not
    assert "app-password" not in answer.text
    assert _credential(connecting, Provider.CALDAV) is None


def test_a_caldav_account_is_checked_then_stored_encrypted_with_its_calendars(
    connecting: Connecting, admin: httpx.Client, radicale_url: str, dav_calendar: str
) -> None:
    csrf = csrf_of(admin.get("/admin/connect").text)
    data = {
        "csrf_token": csrf, "url": radicale_url, "username": "clinic",
        "password": "app-password",
    }  # fmt: skip
    answer = admin.post("/admin/connect/caldav", data=data)
    assert answer.status_code == 200, answer.text
    assert "CalDAV account clinic connected" in answer.text
    stored = _credential(connecting, Provider.CALDAV)
    assert stored.endpoint == radicale_url
    assert "app-password" not in stored.secret
    assert secret_box(connecting.settings).decrypt(stored.secret) == "app-password"
    with session_scope(connecting.engine) as session:
        sources = list_sources(session, _clinic_id(connecting))
    assert any(s.provider is Provider.CALDAV for s in sources)
    assert "connection.caldav_connected" in _actions(connecting)


def test_an_ics_address_is_read_once_then_subscribed(
    connecting: Connecting, admin: httpx.Client, ics_feed: str
) -> None:
    csrf = csrf_of(admin.get("/admin/connect").text)
    answer = admin.post("/admin/connect/ics", data={"csrf_token": csrf, "url": ics_feed})
    assert answer.status_code == 200, answer.text
    assert "read-only" in answer.text
    again = admin.post("/admin/connect/ics", data={"csrf_token": csrf, "url": ics_feed})
    assert again.status_code == 422
    assert "already connected" in again.text
    bad = admin.post("/admin/connect/ics", data={"csrf_token": csrf, "url": "file:///etc/passwd"})
    assert bad.status_code == 422


# Helpers ---------------------------------------------------------------------------------


def _pass(c: Connecting) -> None:
    profile = clinic_profile(c.engine)
    with clinic_services(c.settings, c.engine, profile, owns_engine=False) as services:
        run_clinic_pass(services, now=NOW)


def _last_sync(c: Connecting) -> Any:
    with session_scope(c.engine) as session:
        [source] = list_sources(session, _clinic_id(c))
    return source.last_sync_at


@pytest.fixture
def dav_calendar(radicale_url: str) -> str:
    client = DAVClient(url=radicale_url, username="clinic", password="x", timeout=10)
    try:
        made = client.principal().make_calendar(name="Treatment room")
        return str(made.url)
    finally:
        client.close()


@pytest.fixture
def ics_feed() -> Iterator[str]:
    feeds: list[FeedServer] = []

    def handler(base: str) -> type[Any]:
        feeds.append(FeedServer(base=base))
        feeds[0].serve(name="Front desk")
        return _handler(feeds[0])

    with serving(handler) as _base:
        yield feeds[0].url
