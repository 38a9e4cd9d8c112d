"""Connecting Google and choosing calendars in a real browser: Debian's Chromium via Playwright.

The whole path a clinic manager takes, with no shell: sign in, Connections, Connect
Google, the emulator's consent page (Allow), back to the calendar picker, choose, and
see the chosen calendars on the Sync health page. Each new page is checked with
axe-core (0 violations) at laptop (1280×800) and phone (390×844) width, and must not
scroll sideways. Skipped, with the reason, where ``/usr/bin/chromium`` is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sync.store.database import session_scope
from sync.store.sources import list_sources
from tests.admin.conftest import ADMIN, HOSTILE, PASSWORD, Accounts
from tests.admin.connecting import Connecting, connecting
from tests.browser import assert_accessible, needs_chromium, open_page

__all__ = ["connecting"]

pytestmark = needs_chromium
WIDTHS = {"laptop": (1280, 800), "phone": (390, 844)}


@pytest.fixture(params=sorted(WIDTHS))
def page(browser: Any, request: Any) -> Iterator[Any]:
    width, height = WIDTHS[request.param]
    opened = open_page(browser, width, height)
    yield opened
    opened.context.close()


def _sign_in(page: Any, c: Connecting) -> None:
    page.goto(f"{c.url}/admin/connect")
    page.get_by_label("E-mail").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/connect")


def test_an_admin_connects_google_picks_calendars_and_sees_them_in_health(
    page: Any, connecting: Connecting, accounts: Accounts, new_calendar: Callable[..., str]
) -> None:
    room = new_calendar("Room 1")
    diary = new_calendar(HOSTILE)  # a calendar name is the account's text: shown inert
    _sign_in(page, connecting)
    assert_accessible(page)
    page.get_by_role("button", name="Connect Google").click()
    page.wait_for_url(f"{connecting.emulator.auth_uri}**")
    assert "Clinic Sync wants access to your Google Account" in page.content()
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url("**/admin/calendars**")
    assert "The Google account is connected" in page.get_by_role("status").inner_text()
    assert_accessible(page)
    assert page.get_by_label("Room 1").is_checked()
    assert not page.get_by_label("owner@clinic.example").is_checked()
    assert page.locator("main script, main img").count() == 0
    page.get_by_label(HOSTILE).uncheck()
    page.get_by_role("button", name="Watch the ticked calendars").click()
    assert "1 calendar(s) added" in page.get_by_role("status").inner_text()
    assert_accessible(page)
    with session_scope(connecting.engine) as session:
        assert [s.external_id for s in list_sources(session)] == [room]
    page.get_by_role("button", name="Pause Room 1").click()
    assert "Room 1 is paused." in page.get_by_role("status").inner_text()
    page.get_by_role("link", name="Sync health").first.click()
    health = page.locator("main").inner_text()
    assert "Room 1" in health
    assert "(paused)" in health
    assert diary not in health
    assert page.dialogs == []


def test_a_refused_consent_says_so_and_offers_to_connect_again(
    page: Any, connecting: Connecting, accounts: Accounts
) -> None:
    _sign_in(page, connecting)
    page.get_by_role("button", name="Connect Google").click()
    page.wait_for_url(f"{connecting.emulator.auth_uri}**")
    page.get_by_role("button", name="Deny").click()
    page.wait_for_url("**/admin/connect/google/callback**")
    assert "was not allowed, so nothing was connected" in page.get_by_role("alert").inner_text()
    assert_accessible(page)
    page.get_by_role("button", name="Connect Google again").click()
    page.wait_for_url(f"{connecting.emulator.auth_uri}**")


def test_a_revoked_grant_offers_to_reconnect(
    page: Any, connecting: Connecting, accounts: Accounts
) -> None:
    _sign_in(page, connecting)
    page.get_by_role("button", name="Connect Google").click()
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url("**/admin/calendars**")
    connecting.emulator.remove_app_access()
    page.reload()
    assert "Needs reconnecting" in page.get_by_role("alert").inner_text()
    page.get_by_role("link", name="Go to Connections").click()
    assert "Needs reconnecting" in page.get_by_role("alert").inner_text()
    assert_accessible(page)
    page.get_by_role("button", name="Reconnect Google").click()
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url("**/admin/calendars**")
    assert "The Google account is connected" in page.get_by_role("status").inner_text()
