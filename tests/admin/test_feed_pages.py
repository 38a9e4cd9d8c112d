"""Feed tokens in the admin UI: by calendar name or from a conflict, rotate, revoke (SPEC §7-§8).

The app serves the feeds it hands out, so each URL the page shows is fetched from the
same server: a rotated or revoked URL must stop working, the new one must work.
"""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from sync.config import Settings
from sync.store.audit import list_audit_events
from sync.store.database import session_scope
from sync.store.feeds import list_feed_tokens
from sync.store.sources import Provider, add_source
from sync.web.app import create_app
from tests.admin.conftest import ADMIN, AUDITOR, Accounts, Clock, Seeded, csrf_of, sign_in

_URL = re.compile(r'id="issued-url" readonly value="http://clinic\.example(/feeds/[^"]+\.ics)"')


@pytest.fixture
def app(settings: Settings, engine: Engine) -> FastAPI:
    """The app with feeds that read a token's state on every request (no recheck delay)."""
    return create_app(
        settings.model_copy(update={"feed_recheck_seconds": 0}), engine, clock=Clock()
    )


def issued_path(page: httpx.Response) -> str:
    found = _URL.search(page.text)
    assert found is not None, "the page shows the new feed URL"
    return found.group(1)


def issue(web: httpx.Client, **data: str) -> httpx.Response:
    csrf = csrf_of(web.get("/admin/feed-tokens").text)
    return web.post("/admin/feed-tokens", data={"csrf_token": csrf, **data})


def test_a_calendar_feed_is_chosen_by_the_calendars_name(
    web: httpx.Client, accounts: Accounts, seeded: Seeded, engine: Engine
) -> None:
    with session_scope(engine) as session:
        add_source(
            session,
            1,
            Provider.ICS,
            "https://ics.example/a.ics",
            display_name="Dr Smith",
            time_zone="UTC",
        )
    sign_in(web, ADMIN)
    page = web.get("/admin/feed-tokens").text
    options = dict(re.findall(r'<option value="(\d+)">([^<]+)</option>', page))
    assert "Dr Smith" in options.values()
    smith = next(value for value, name in options.items() if name == "Dr Smith")
    answer = issue(web, scope="calendar", value=smith)
    assert web.get(issued_path(answer)).status_code == 200
    assert "calendar Dr Smith" in web.get("/admin/feed-tokens").text


def test_a_patients_feed_is_issued_from_the_conflict_page_in_one_click(
    web: httpx.Client, accounts: Accounts, seeded: Seeded, engine: Engine
) -> None:
    sign_in(web, ADMIN)
    page = web.get(f"/admin/conflicts/{seeded.public_id}").text
    form = re.search(r'<form[^>]*aria-label="Feed of this patient">(.*?)</form>', page, re.S)
    assert form is not None, "the conflict page offers the patient's feed"
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form.group(1)))
    answer = web.post("/admin/feed-tokens", data=fields)
    assert f'href="/admin/conflicts/{seeded.public_id}"' in answer.text
    feed = web.get(issued_path(answer))
    assert feed.status_code == 200
    assert "Eligible for Botox" in feed.text
    with session_scope(engine) as session:
        [token] = list_feed_tokens(session, 1)
    assert (token.scope_kind, token.scope_value) == ("patient", fields["value"])


def test_rotating_hands_out_a_new_url_and_the_old_one_stops(
    web: httpx.Client, accounts: Accounts, seeded: Seeded, engine: Engine
) -> None:
    sign_in(web, ADMIN)
    old = issued_path(issue(web, scope="clinic", label="desk"))
    assert web.get(old).status_code == 200
    csrf = csrf_of(web.get("/admin/feed-tokens").text)
    rotated = web.post("/admin/feed-tokens/1/rotate", data={"csrf_token": csrf})
    new = issued_path(rotated)
    assert new != old
    assert web.get(old).status_code == 404
    assert web.get(new).status_code == 200
    assert "(replaces 1)" in web.get("/admin/feed-tokens").text
    with session_scope(engine) as session:
        actions = [event.action for event in list_audit_events(session, 1)]
    assert "feed_token.rotated" in actions


def test_revoking_asks_first_and_works_without_javascript(
    web: httpx.Client, accounts: Accounts, seeded: Seeded
) -> None:
    sign_in(web, ADMIN)
    url = issued_path(issue(web, scope="clinic"))
    listing = web.get("/admin/feed-tokens").text
    assert 'href="/admin/feed-tokens/1/revoke"' in listing
    confirm = web.get("/admin/feed-tokens/1/revoke")
    assert "Revoke feed token 1?" in confirm.text
    csrf = csrf_of(confirm.text)
    unconfirmed = web.post("/admin/feed-tokens/1/revoke", data={"csrf_token": csrf})
    assert "Yes, revoke feed token 1" in unconfirmed.text
    assert web.get(url).status_code == 200, "a post without the confirmation revokes nothing"
    done = web.post("/admin/feed-tokens/1/revoke", data={"csrf_token": csrf, "confirm": "yes"})
    assert "Feed token 1 is revoked" in done.text
    assert web.get(url).status_code == 404


def test_an_auditor_can_neither_rotate_nor_revoke(
    web: httpx.Client, accounts: Accounts, seeded: Seeded
) -> None:
    sign_in(web, ADMIN)
    url = issued_path(issue(web, scope="clinic"))
    web.post("/admin/logout", data={"csrf_token": csrf_of(web.get("/admin/feed-tokens").text)})
    sign_in(web, AUDITOR)
    csrf = csrf_of(web.get("/admin/feed-tokens").text)
    assert web.get("/admin/feed-tokens/1/revoke").status_code == 403
    assert web.post("/admin/feed-tokens/1/rotate", data={"csrf_token": csrf}).status_code == 403
    data = {"csrf_token": csrf, "confirm": "yes"}
    assert web.post("/admin/feed-tokens/1/revoke", data=data).status_code == 403
    assert web.get(url).status_code == 200
