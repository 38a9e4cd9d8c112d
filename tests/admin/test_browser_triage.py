"""The "Needs attention" home in a real browser, at laptop and phone size (SPEC §8, issue 15).

Chromium from Debian driven by Playwright, as :mod:`tests.admin.test_browser` does, with
axe-core (axe-playwright-python's bundled copy) checking each page for WCAG violations.
Skipped, with the reason, where ``/usr/bin/chromium`` is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sync.bootstrap import Services
from sync.usecases.cycle import run_clinic_pass
from sync.web.server import WebServer
from tests.admin.conftest import ADMIN, AUDITOR, HOSTILE, NOW, PASSWORD, Accounts, Json
from tests.admin.test_browser import SCREENSHOTS
from tests.browser import axe_violations, needs_chromium, open_page
from tests.cycle.conftest import PATIENT

pytestmark = needs_chromium

SIZES = (("laptop", 1280, 800), ("phone", 390, 844))


def _open_home(browser: Any, server: WebServer, email: str, width: int, height: int) -> Any:
    """A fresh context at ``width``×``height``, signed in, on the home page."""
    page = open_page(browser, width, height)
    page.goto(f"{server.url}/admin/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/admin/")
    return page


def _seed(services: Services, insert: Callable[..., Json], calendars: tuple[str, str]) -> None:
    """Five upcoming conflicts, the soonest Tom Begum's, and one already past."""
    smith, room = calendars
    for day, name in (
        (3, "Tom Begum"),
        (6, "Ann Lee"),
        (7, "Jane Doe"),
        (8, "Bo Li"),
        (9, "Cy Ng"),
    ):
        insert(smith, f"Microneedling - {name}", f"2030-01-0{day - 2}T09:00:00+00:00")
        insert(room, f"Botox - {name}", f"2030-01-{day + 2:02d}T11:15:00+00:00")
    insert(smith, "Microneedling Old Past", "2029-12-20T09:00:00+00:00")
    insert(smith, "Botox Old Past", "2029-12-24T09:00:00+00:00")
    run_clinic_pass(services, now=NOW, clock=lambda: NOW)


@pytest.mark.parametrize(("size", "width", "height"), SIZES, ids=[s[0] for s in SIZES])
def test_the_first_conflict_needing_attention_is_on_the_first_screen_and_axe_finds_nothing(
    browser: Any,
    server: WebServer,
    accounts: Accounts,
    services: Services,
    insert: Callable[..., Json],
    calendars: tuple[str, str],
    size: str,
    width: int,
    height: int,
) -> None:
    _seed(services, insert, calendars)
    page = _open_home(browser, server, ADMIN, width, height)
    rows = page.locator("table.triage tbody tr")
    assert rows.count() == 5
    first = rows.first
    assert "Tom Begum" in first.inner_text()
    box = first.bounding_box()
    assert page.evaluate("window.scrollY") == 0
    assert box["y"] >= 0
    assert box["y"] + box["height"] <= height, f"{size}: the first conflict ends at {box}"
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= width
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert "Old Past" not in page.locator("main").inner_text()
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/triage-{size}.png")
    summary = page.locator("details.fold > summary")
    assert page.get_by_label("Calendar", exact=True).is_visible() is False  # folded away
    summary.click()
    assert page.get_by_label("Calendar", exact=True).is_visible()
    assert axe_violations(page) == []
    first.get_by_role("link").first.click()
    page.wait_for_url("**/admin/conflicts/*")
    assert page.locator("h1").inner_text().startswith("Tom Begum: Botox on Sat 5 Jan 2030 11:15")
    assert axe_violations(page) == []
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/conflict-{size}.png", full_page=True)
    page.context.close()


def test_a_hostile_title_renders_inert_on_the_home_and_the_conflict_page(
    browser: Any,
    server: WebServer,
    accounts: Accounts,
    services: Services,
    insert: Callable[..., Json],
    calendars: tuple[str, str],
) -> None:
    smith, room = calendars
    insert(smith, "Microneedling Jane Doe", "2030-01-10T10:00:00+00:00", attendees=PATIENT)
    insert(room, HOSTILE, "2030-01-17T10:00:00+00:00", attendees=PATIENT)
    run_clinic_pass(services, now=NOW, clock=lambda: NOW)
    page = _open_home(browser, server, AUDITOR, 390, 844)
    assert page.locator("table.triage tbody tr").count() == 1
    assert page.locator("main img, main script").count() == 0
    page.locator("table.triage tbody tr a").first.click()
    page.wait_for_url("**/admin/conflicts/*")
    text = page.locator("main").inner_text()
    assert '<script>alert("x")</script>' in text
    assert "<img src=x onerror=alert(1)>" in text
    assert page.locator("main img").count() == 0
    assert page.locator("main script").count() == 0
    page.wait_for_timeout(200)
    assert page.dialogs == []
    page.context.close()
