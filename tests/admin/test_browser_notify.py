"""The notifications page in a real browser: Chromium driven by Playwright, checked by axe-core.

An admin chooses a daily digest and adds a webhook, at laptop (1280×800) and phone (390×844)
width; axe-core finds no violation on the page before and after, and it never scrolls
sideways. Skipped, with the reason, where ``/usr/bin/chromium`` is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from sync.config import Settings
from sync.emulator import EmulatorServer
from sync.store.database import session_scope
from sync.store.notifications import NotifyMode, clinic_admins, list_webhooks
from sync.web.server import WebServer
from tests.admin.conftest import ADMIN, PASSWORD, Accounts
from tests.browser import assert_accessible, needs_chromium, open_page
from tests.notify.conftest import KEY

pytestmark = needs_chromium
WIDTHS = {"laptop": (1280, 800), "phone": (390, 844)}


@pytest.fixture
def settings(engine: Engine, emulator: EmulatorServer) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=str(engine.url),
        google_api_endpoint=emulator.url,
        google_auth="none",
        public_url="http://clinic.example",
        secret_key=KEY,
        notify_allow_private=True,  # hooks.example resolves nowhere here
    )


@pytest.fixture(params=sorted(WIDTHS))
def page(request: Any, browser: Any) -> Iterator[Any]:
    width, height = WIDTHS[request.param]
    opened = open_page(browser, width, height)
    yield opened
    opened.context.close()


def test_an_admin_chooses_a_digest_and_adds_a_webhook_on_an_accessible_page(
    page: Any, server: WebServer, accounts: Accounts, engine: Engine
) -> None:
    page.goto(f"{server.url}/admin/notifications")
    page.get_by_label("E-mail").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/notifications")
    assert_accessible(page)

    page.get_by_label("One daily digest").check()
    page.get_by_role("button", name="Save").click()
    assert "Saved: one daily digest." in page.get_by_role("status").first.inner_text()
    assert page.get_by_label("One daily digest").is_checked()
    assert_accessible(page)

    page.get_by_label("URL").fill("https://hooks.example/clinic")
    page.get_by_label("Format").select_option("slack")
    page.get_by_role("button", name="Add webhook").click()
    secret = page.get_by_label("Signing secret").input_value()
    assert secret.startswith("whsec_")
    assert page.get_by_role("cell", name="https://hooks.example/clinic").is_visible()
    assert_accessible(page)

    with session_scope(engine) as session:
        [member] = [m for m in clinic_admins(session, 1) if m.email == ADMIN]
        [hook] = list_webhooks(session, 1)
    assert member.mode is NotifyMode.DAILY
    assert (hook.url, hook.format) == ("https://hooks.example/clinic", "slack")
