"""Feed tokens in a real browser: Chromium driven by Playwright, checked by axe-core (SPEC §7-§8).

An admin issues a patient's feed from the conflict page in one click and gets a URL
that works; revoking goes through a confirmation page, which works with JavaScript off.
axe-core finds no violation on any page on the way. Skipped, with the reason, where
``/usr/bin/chromium`` is missing; Playwright launches the system browser, never its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from sync.bootstrap import Services
from sync.config import Settings
from sync.web.app import create_app
from sync.web.server import WebServer
from tests.admin.conftest import ADMIN, PASSWORD, Accounts, Clock, seed_conflict
from tests.browser import assert_accessible, needs_chromium, open_page

pytestmark = needs_chromium


@pytest.fixture
def app(settings: Settings, engine: Engine) -> FastAPI:
    """The app with feeds that read a token's state on every request (no recheck delay)."""
    fresh = settings.model_copy(update={"feed_recheck_seconds": 0})
    return create_app(fresh, engine, clock=Clock())


def signed_in(browser: Any, server: WebServer, *, script: bool = True) -> Any:
    page = open_page(browser, script=script)
    page.goto(f"{server.url}/admin/conflicts")
    page.get_by_label("E-mail").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/conflicts")
    return page


def feed_path(page: Any) -> str:
    url = page.get_by_label("Feed URL").input_value()
    assert url.startswith("http://clinic.example/feeds/")
    return url.removeprefix("http://clinic.example")


def test_a_patients_feed_is_issued_from_the_conflict_page_in_one_click(
    browser: Any,
    server: WebServer,
    accounts: Accounts,
    services: Services,
    insert: Callable[..., Any],
    calendars: tuple[str, str],
) -> None:
    seeded = seed_conflict(services, insert, calendars)
    page = signed_in(browser, server)
    page.goto(f"{server.url}/admin/conflicts/{seeded.public_id}")
    assert_accessible(page)
    page.get_by_role("button", name="Issue this patient's feed").click()
    assert "shown only once" in page.get_by_role("status").first.inner_text()
    assert_accessible(page)
    feed = httpx.get(server.url + feed_path(page))
    assert feed.status_code == 200
    assert "Eligible for Botox" in feed.text
    page.get_by_role("link", name=f"Back to conflict {seeded.public_id}").click()
    page.wait_for_url(f"**/admin/conflicts/{seeded.public_id}")
    page.context.close()


def test_revoking_asks_for_confirmation_and_works_without_javascript(
    browser: Any,
    server: WebServer,
    accounts: Accounts,
    services: Services,
    insert: Callable[..., Any],
    calendars: tuple[str, str],
) -> None:
    seed_conflict(services, insert, calendars)
    page = signed_in(browser, server)
    page.goto(f"{server.url}/admin/feed-tokens")
    page.get_by_role("button", name="Issue clinic feed").click()
    url = server.url + feed_path(page)
    assert_accessible(page)
    page.get_by_role("link", name="Revoke feed token 1").click()
    page.wait_for_url("**/admin/feed-tokens/1/revoke")
    assert_accessible(page)
    page.context.close()
    bare = signed_in(browser, server, script=False)
    bare.goto(f"{server.url}/admin/feed-tokens")
    bare.get_by_role("link", name="Revoke feed token 1").click()
    assert bare.get_by_role("heading", level=1).inner_text() == "Revoke feed token 1?"
    assert httpx.get(url).status_code == 200, "asking revokes nothing"
    bare.get_by_role("button", name="Yes, revoke feed token 1").click()
    assert "Feed token 1 is revoked." in bare.get_by_role("status").first.inner_text()
    assert httpx.get(url).status_code == 404
    bare.context.close()
