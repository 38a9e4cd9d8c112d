"""The policy editor in a real browser: Chromium from Debian driven by Playwright (SPEC §3, §8).

An admin changes a rule, reads the preview, saves, and finds the new version listed;
every page of the editor has no axe-core violation at laptop and phone width, and
policy text with markup in it stays text. Skipped, with the reason, where
``/usr/bin/chromium`` is missing; axe-core comes with the axe-playwright-python package,
nothing is fetched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sync.bootstrap import Services
from sync.web.server import WebServer
from tests.admin.conftest import ADMIN, PASSWORD, Accounts, seed_conflict
from tests.admin.test_browser import SCREENSHOTS
from tests.browser import assert_accessible, axe_violations, needs_chromium, open_page

pytestmark = needs_chromium

WIDTHS = (("laptop", 1366, 768), ("phone", 390, 844))


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    opened = open_page(browser)
    yield opened
    opened.context.close()


def _sign_in(page: Any, server: WebServer) -> None:
    """Sign in as the admin and open the policy from the main menu."""
    page.goto(f"{server.url}/admin/conflicts")
    page.get_by_label("E-mail").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/conflicts")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Policy").click()
    page.wait_for_url("**/admin/policy")


def _shorten_the_shipped_rule(page: Any) -> None:
    page.locator("#rule-0-min_days").fill("5")
    page.locator("#rule-0-ideal_low").fill("5")
    page.get_by_role("button", name="Preview the changes").click()


def test_an_admin_changes_a_rule_sees_the_preview_saves_and_finds_the_version(
    page: Any,
    server: WebServer,
    accounts: Accounts,
    services: Services,
    insert: Callable[..., Any],
    calendars: tuple[str, str],
) -> None:
    seed_conflict(services, insert, calendars)
    _sign_in(page, server)
    _shorten_the_shipped_rule(page)
    preview = page.locator(".preview")
    assert "0 conflicts would appear, 1 would resolve, 0 stay" in preview.inner_text()
    resolving = page.get_by_role("table", name="Conflicts that would resolve (1)")
    assert "Jane Doe" in resolving.inner_text()
    assert "rule 'botox-after-microneedling': min_days 14 → 5" in preview.inner_text()
    page.get_by_role("button", name="Save as new version").click()
    assert page.get_by_role("status").first.inner_text() == "Saved as version 1."
    versions = page.get_by_role("table", name="The clinic's policy versions, newest first")
    assert "Version 1 (in force)" in versions.inner_text()
    assert ADMIN in versions.inner_text()
    page.get_by_role("link", name="Version 1").click()
    assert "min_days = 5" in page.locator("pre").inner_text()
    assert page.dialogs == []


def test_every_policy_page_has_no_axe_violation_at_laptop_and_phone_width(
    browser: Any,
    server: WebServer,
    accounts: Accounts,
    services: Services,
    insert: Callable[..., Any],
    calendars: tuple[str, str],
) -> None:
    seed_conflict(services, insert, calendars)
    for number, (name, width, height) in enumerate(WIDTHS, start=1):
        page = open_page(browser, width, height)
        _sign_in(page, server)
        assert_accessible(page, f"editor ({name})")
        page.locator("#rule-0-min_days").fill("soon")
        page.get_by_role("button", name="Preview the changes").click()
        assert "must be a whole number" in page.get_by_role("alert").inner_text()
        assert axe_violations(page) == [], f"refused form ({name})"
        page.locator("#rule-0-min_days").fill(str(4 + number))
        page.locator("#rule-0-ideal_low").fill(str(4 + number))
        page.get_by_role("button", name="Preview the changes").click()
        assert_accessible(page, f"preview ({name})")
        if SCREENSHOTS:
            page.screenshot(path=f"{SCREENSHOTS}/policy-preview-{name}.png", full_page=True)
        page.get_by_role("button", name="Save as new version").click()
        page.get_by_role("link", name=f"Version {number}", exact=True).click()
        assert_accessible(page, f"version ({name})")
        page.context.close()


def test_policy_text_with_markup_stays_text_in_the_browser(
    page: Any, server: WebServer, accounts: Accounts
) -> None:
    _sign_in(page, server)
    phrases = page.locator("#cat-0-phrases")
    phrases.fill(phrases.input_value() + '\n<script>alert("x")</script>')
    page.locator("#cat-0-label").fill("<img src=x onerror=alert(1)>")
    page.get_by_role("button", name="Preview the changes").click()
    page.get_by_role("button", name="Save as new version").click()
    page.goto(f"{server.url}/admin/policy")
    assert '<script>alert("x")</script>' in page.locator("#cat-0-phrases").input_value()
    assert page.locator("#cat-0-label").input_value() == "<img src=x onerror=alert(1)>"
    assert page.locator("main img").count() == 0
    assert page.locator("main script").count() == 0
    page.wait_for_timeout(200)
    assert page.dialogs == []
