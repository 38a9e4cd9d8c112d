"""``clinic-sync demo`` lets a person Connect Google from the browser, with no shell.

The demo registers an OAuth client on its emulator whose redirect URI is the printed web
app's callback, port included; signing in with the printed login and going through the
emulator's consent page connects the emulated account.
"""

from __future__ import annotations

import re
import subprocess

import httpx

from tests.demo.test_command import _ADMIN, _CSRF, _Lines, demo
from tests.emulator.browser import answer_consent

__all__ = ["demo"]


def test_the_printed_login_connects_the_emulated_google_account_through_its_consent_page(
    demo: subprocess.Popen[str],
) -> None:
    lines = _Lines(demo)
    web = lines.until(re.compile(r"Web app\s+(http://127\.0\.0\.1:\d+)"), timeout=60).group(1)
    login_url, user, password = lines.until(_ADMIN, timeout=10).groups()
    with httpx.Client(base_url=web, timeout=10) as browser:
        form = browser.get(login_url)
        data = {"email": user, "password": password, "csrf_token": _csrf(form.text)}
        assert browser.post(login_url, data=data).status_code == 303
        csrf = _csrf(browser.get("/admin/connect").text)
        started = browser.post("/admin/connect/google", data={"csrf_token": csrf})
        assert started.status_code == 303, started.text
        with httpx.Client(timeout=10) as google_side:
            redirect = answer_consent(google_side, started.headers["location"])
        assert redirect.location.startswith(f"{web}/oauth/google/callback?")
        answer = browser.get(redirect.location)
        while answer.status_code == 303:
            answer = browser.get(answer.headers["location"])
    assert "The Google account is connected" in answer.text
    lines.rest()
    assert demo.wait(timeout=30) == 0


def _csrf(page: str) -> str:
    found = _CSRF.search(page)
    assert found is not None
    return found.group(1)
