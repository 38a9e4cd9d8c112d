"""Issue #14's "Done when", in a real browser on the real ``clinic-sync demo`` process.

A person signs in with the printed login and lands on the triage home, connects the
emulated Google account through its consent page, picks a calendar, changes the policy
with its preview and saves it, invites a colleague, opens the printed demo mailbox,
follows the invitation link, sets a password, is signed in as the colleague and sees the
flagged conflicts on the home page — all in Debian's Chromium via Playwright, no shell.
Each page on the way has no axe-core violation and does not scroll sideways, at phone
width (390×844) where the main menu must fit too. Skipped where ``/usr/bin/chromium``
is missing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import assert_accessible, needs_chromium
from tests.demo.test_command import _ADMIN, _Lines

pytestmark = needs_chromium
_WEB = re.compile(r"Web app\s+(http://127\.0\.0\.1:\d+)")
_MAILBOX = re.compile(r"Mailbox\s+(http://127\.0\.0\.1:\d+/demo/mail)")
COLLEAGUE = "cleo@colleague.example"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def running_demo(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], _Lines]]:
    """``clinic-sync demo`` on a free port until the test stops it (SIGTERM)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLINIC_SYNC_")}
    command = [sys.executable, "-c", "from sync.cli import main; main()", "demo"]
    options = ["--for", "600", "--port", "0", "--database", str(tmp_path / "demo.db")]
    process = subprocess.Popen(
        command + options,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    yield process, _Lines(process)
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)
    if process.stdout is not None:
        process.stdout.close()


def _phone_page(browser: Any) -> Any:
    page = browser.new_context(viewport=PHONE).new_page()
    page.set_default_timeout(30_000)
    return page


def _menu(page: Any, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def test_a_person_connects_google_sets_the_policy_invites_a_colleague_and_sees_flags(
    running_demo: tuple[subprocess.Popen[str], _Lines], browser: Any
) -> None:
    process, lines = running_demo
    web = lines.until(_WEB, timeout=120).group(1)
    login_url, user, password = lines.until(_ADMIN, timeout=10).groups()
    mailbox = lines.until(_MAILBOX, timeout=10).group(1)
    admin = _phone_page(browser)

    admin.goto(login_url)
    admin.get_by_label("E-mail").fill(user)
    admin.get_by_label("Password").fill(password)
    admin.get_by_role("button", name="Sign in").click()
    admin.wait_for_url(f"{web}/admin/")
    assert_accessible(admin)
    _menu_fits_a_phone(admin)

    _menu(admin, "Connections")
    admin.get_by_role("button", name="Connect Google").click()
    admin.get_by_role("button", name="Allow").click()
    admin.wait_for_url("**/admin/calendars**")
    assert "The Google account is connected" in admin.get_by_role("status").inner_text()
    assert_accessible(admin)
    # Every demo calendar is watched from the start: take one away, then pick it again.
    admin.get_by_role("button", name="Remove Nurse Kim").click()
    assert "Nurse Kim is removed." in admin.get_by_role("status").inner_text()
    assert admin.get_by_label("Nurse Kim").is_checked()
    admin.get_by_role("button", name="Watch the ticked calendars").click()
    assert "1 calendar(s) added" in admin.get_by_role("status").inner_text()
    _polled(admin, "Nurse Kim")

    _menu(admin, "Policy")
    admin.locator("#rule-0-min_days").fill("5")
    admin.locator("#rule-0-ideal_low").fill("5")
    admin.get_by_role("button", name="Preview the changes").click()
    assert "min_days 14 → 5" in admin.locator(".preview").inner_text()
    assert_accessible(admin)
    admin.get_by_role("button", name="Save as new version").click()
    assert admin.get_by_role("status").first.inner_text() == "Saved as version 1."

    _menu(admin, "People")
    admin.get_by_label("E-mail to invite").fill(COLLEAGUE)
    admin.get_by_label("Role", exact=True).select_option("admin")
    admin.get_by_role("button", name="Invite", exact=True).click()
    assert f"Invitation sent to {COLLEAGUE}" in admin.get_by_role("status").first.inner_text()
    assert_accessible(admin)

    colleague = _phone_page(browser)
    colleague.goto(mailbox)
    assert_accessible(colleague)
    letter = colleague.get_by_role("article").filter(has_text=f"To {COLLEAGUE}")
    letter.get_by_role("link").click()
    colleague.get_by_label("Your name").fill("Cleo Colleague")
    colleague.get_by_label("Choose a password").fill("the colleague's own password")
    colleague.get_by_role("button", name="Set the password and sign in").click()
    colleague.wait_for_url(f"{web}/admin/**")
    assert COLLEAGUE in colleague.locator("header").inner_text()
    _menu(colleague, "Needs attention")
    flagged = colleague.locator("table.triage tbody tr").filter(has_text="flagged")
    assert flagged.count() > 0
    # The calendar picked again is read and flagged like the others.
    assert flagged.filter(has_text="Nurse Kim").count() > 0, flagged.all_inner_texts()
    assert_accessible(colleague)

    process.terminate()
    lines.rest()
    assert process.wait(timeout=30) == 0


def _menu_fits_a_phone(page: Any) -> None:
    """Every main-menu link is on screen and at least 24 × 24 px to tap (WCAG 2.5.8)."""
    links = page.get_by_role("navigation", name="Main").get_by_role("link")
    assert links.count() >= 9
    for box in (links.nth(i).bounding_box() for i in range(links.count())):
        assert box["x"] >= 0, box
        assert box["x"] + box["width"] <= PHONE["width"], box
        assert box["height"] >= 24, box
        assert box["width"] >= 24, box


def _polled(page: Any, calendar: str) -> None:
    """The worker syncs the newly picked ``calendar``: its row gets a last sync time."""
    row = page.get_by_role("row").filter(has_text=calendar)
    for _ in range(40):
        if re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", row.inner_text()):
            return
        page.wait_for_timeout(500)
        page.reload()
    raise AssertionError(f"{calendar} was never synced: {row.inner_text()}")
