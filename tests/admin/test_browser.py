"""The admin UI in a real browser: Chromium from Debian driven by Playwright (SPEC §8).

Skipped, with the reason, where ``/usr/bin/chromium`` is missing (.ci/run installs it).
Playwright never downloads a browser here: it launches the system one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sync.bootstrap import Services
from sync.usecases.flag_settlement import WRITE_PROPERTY
from sync.web.server import WebServer
from tests.admin.conftest import ADMIN, AUDITOR, HOSTILE, PASSWORD, Accounts, seed_conflict
from tests.browser import needs_chromium, open_page

SCREENSHOTS = os.environ.get("CLINIC_SYNC_SCREENSHOTS")
"""A folder to save the conflicts page at phone and laptop width into, to look at by eye."""

pytestmark = needs_chromium


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    opened = open_page(browser)
    yield opened
    opened.context.close()


def _sign_in(page: Any, server: WebServer, email: str) -> None:
    page.goto(f"{server.url}/admin/conflicts")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/conflicts")


def test_an_admin_filters_overrides_with_a_reason_and_the_flag_is_gone(
    page: Any,
    server: WebServer,
    accounts: Accounts,
    services: Services,
    insert: Callable[..., Any],
    calendars: tuple[str, str],
    service: Any,
) -> None:
    seeded = seed_conflict(services, insert, calendars, title=HOSTILE)
    _sign_in(page, server, ADMIN)
    page.get_by_label("Patient").fill("jane")
    page.get_by_label("flagged").check()
    page.get_by_role("button", name="Apply filters").click()
    assert page.get_by_role("status").first.inner_text() == "1 conflict"
    page.get_by_role("link", name="Jane Doe").click()
    page.get_by_label("Reason for the override (required)").fill("Consultant approved the gap")
    page.get_by_role("button", name="Override and remove the flag").click()
    assert (
        "Overridden: the flag was taken off the calendar."
        in page.get_by_role("status").first.inner_text()
    )
    event = service.events().get(calendarId=seeded.calendar, eventId=seeded.event_id).execute()
    private = (event.get("extendedProperties") or {}).get("private") or {}
    assert set(private) <= {WRITE_PROPERTY}  # only the last write's nonce, private, stays
    assert "Consultant approved the gap" in page.locator("main").inner_text()
    assert page.dialogs == []


def test_a_hostile_title_renders_inert_and_visible(
    page: Any,
    server: WebServer,
    accounts: Accounts,
    services: Services,
    insert: Callable[..., Any],
    calendars: tuple[str, str],
) -> None:
    seed_conflict(services, insert, calendars, title=HOSTILE)
    _sign_in(page, server, AUDITOR)
    text = page.locator("main").inner_text()
    assert '<script>alert("x")</script>' in text
    assert "<img src=x onerror=alert(1)>" in text
    assert page.locator("main img").count() == 0
    assert page.locator("main script").count() == 0
    page.wait_for_timeout(200)
    assert page.dialogs == []


def test_an_auditor_gets_403_and_keyboard_users_can_reach_the_filters(
    page: Any,
    server: WebServer,
    accounts: Accounts,
    services: Services,
    insert: Callable[..., Any],
    calendars: tuple[str, str],
) -> None:
    seeded = seed_conflict(services, insert, calendars)
    _sign_in(page, server, AUDITOR)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    answer = page.request.post(
        f"{server.url}/admin/conflicts/{seeded.public_id}/override", form={"reason": "x"}
    )
    assert answer.status == 403
    page.goto(f"{server.url}/admin/conflicts/{seeded.public_id}")
    assert page.get_by_role("button", name="Override and remove the flag").count() == 0


def test_the_conflicts_page_reads_at_phone_and_laptop_width(
    browser: Any,
    server: WebServer,
    accounts: Accounts,
    services: Services,
    insert: Callable[..., Any],
    calendars: tuple[str, str],
) -> None:
    seed_conflict(services, insert, calendars)
    for name, width, height in (("phone", 390, 844), ("laptop", 1366, 768)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        _sign_in(page, server, ADMIN)
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"{name}: the page scrolls sideways ({scroll_width}px)"
        if SCREENSHOTS:
            page.screenshot(path=f"{SCREENSHOTS}/conflicts-{name}.png", full_page=True)
        context.close()
