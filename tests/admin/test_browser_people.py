"""People flows in a real browser: Debian's Chromium driven by Playwright, checked by axe-core.

An admin invites a colleague; the invitation is read from the SMTP server on loopback
(aiosmtpd); the colleague opens the link, sets a password and is signed in. A forgotten
password is reset from its e-mail, and a personal API token made on the account page.
Each new page is checked at laptop and phone width: no axe-core violation, no sideways
scrolling. Skipped, with the reason, where ``/usr/bin/chromium`` is missing.
"""

from __future__ import annotations

from typing import Any

from sync.web.server import WebServer
from tests.admin.conftest import ADMIN, PASSWORD, Accounts
from tests.admin.people_fixtures import arrived, clock, inbox, link_in, mail_app, mail_server
from tests.browser import assert_accessible, needs_chromium, open_page
from tests.notify.conftest import Inbox, smtp

__all__ = ["clock", "inbox", "mail_app", "mail_server", "smtp"]

COLLEAGUE = "cleo.colleague@clinic.example"
WIDTHS = (("laptop", 1366, 768), ("phone", 390, 844))

pytestmark = needs_chromium


def _sign_in(page: Any, server: WebServer, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{server.url}/admin/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/admin/")  # no next: the triage home


def _accessible_at_each_width(
    browser: Any, url: str, signed_in_as: tuple[WebServer, str, str] | None = None
) -> None:
    """No axe-core violation and no sideways scrolling at laptop and phone width."""
    for name, width, height in WIDTHS:
        page = open_page(browser, width, height)
        if signed_in_as is not None:
            _sign_in(page, *signed_in_as)
        page.goto(url)
        assert_accessible(page, f"{url} at {name}")
        page.context.close()


def test_an_admin_invites_a_colleague_who_sets_a_password_from_the_email_and_is_signed_in(
    browser: Any, mail_server: WebServer, inbox: Inbox, accounts: Accounts
) -> None:
    admin = open_page(browser)
    _sign_in(admin, mail_server, ADMIN)
    admin.get_by_role("link", name="People").click()
    admin.get_by_label("E-mail to invite").fill(COLLEAGUE)
    admin.get_by_label("Role", exact=True).select_option("admin")
    admin.get_by_role("button", name="Invite", exact=True).click()
    assert f"Invitation sent to {COLLEAGUE}" in admin.get_by_role("status").first.inner_text()
    assert COLLEAGUE in admin.locator("main").inner_text()
    _accessible_at_each_width(
        browser, f"{mail_server.url}/admin/people", (mail_server, ADMIN, PASSWORD)
    )

    [mail] = arrived(inbox, COLLEAGUE)
    link = f"{mail_server.url}{link_in(mail)}"
    _accessible_at_each_width(browser, link)
    colleague = open_page(browser)
    colleague.goto(link)
    colleague.get_by_label("Your name").fill("Cleo <b>Colleague</b>")
    colleague.get_by_label("Choose a password").fill("colleague's own password")
    colleague.get_by_role("button", name="Set the password and sign in").click()
    colleague.wait_for_url("**/admin/")
    assert COLLEAGUE in colleague.locator("header").inner_text()
    colleague.get_by_role("link", name="Your account").click()
    assert "Cleo <b>Colleague</b>" in colleague.locator("main").inner_text()  # inert text
    assert colleague.locator("main b").count() == 0
    colleague.goto(link)
    assert "expired, was used or was withdrawn" in colleague.locator("main").inner_text()
    assert admin.dialogs == colleague.dialogs == []


def test_a_forgotten_password_is_reset_from_the_email_and_an_api_token_is_made(
    browser: Any, mail_server: WebServer, inbox: Inbox, accounts: Accounts
) -> None:
    _accessible_at_each_width(browser, f"{mail_server.url}/admin/forgot")
    page = open_page(browser)
    page.goto(f"{mail_server.url}/admin/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("E-mail").fill(ADMIN)
    page.get_by_role("button", name="Send the link").click()
    assert "a link to reset its password is on its way" in page.get_by_role("status").inner_text()

    link = f"{mail_server.url}{link_in(arrived(inbox, ADMIN)[0])}"
    _accessible_at_each_width(browser, link)
    page.goto(link)
    page.get_by_label("New password").fill("a brand new password")
    page.get_by_role("button", name="Set the password").click()
    page.wait_for_url("**/admin/login?reset=1")
    _sign_in(page, mail_server, ADMIN, "a brand new password")

    account = f"{mail_server.url}/admin/account"
    _accessible_at_each_width(browser, account, (mail_server, ADMIN, "a brand new password"))
    page.goto(account)
    page.get_by_label("Token name").fill("reporting")
    page.get_by_role("button", name="Create a token").click()
    secret = page.get_by_label("API token", exact=True).input_value()
    assert secret.startswith("csa_")
    page.get_by_role("button", name="Revoke API token reporting").click()
    assert "is revoked" in page.get_by_role("status").first.inner_text()
    assert page.dialogs == []
