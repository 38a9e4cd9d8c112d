"""Debian's Chromium driven by Playwright, as every browser test opens it (SPEC §8).

Playwright never downloads a browser here: :func:`launched_chromium` starts the system
one, with the flags this machine's closed network needs. A test module that uses it
sets ``pytestmark = needs_chromium``, so it is skipped, with the reason, where
``/usr/bin/chromium`` is missing (``.ci/run`` installs it). :func:`assert_accessible`
is the check each page of the admin passes: axe-core (through axe-playwright-python)
finds no violation, and the page does not scroll sideways at its width.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "ARGS",
    "CHROMIUM",
    "assert_accessible",
    "axe_violations",
    "launched_chromium",
    "needs_chromium",
    "open_page",
]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"
)


@contextmanager
def launched_chromium() -> Iterator[Any]:
    """The system Chromium, headless, closed on leaving."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


def open_page(browser: Any, width: int = 1280, height: int = 800, *, script: bool = True) -> Any:
    """A page in a fresh context of ``width``×``height``; its dialogs are dismissed and kept
    in ``page.dialogs`` for the test to read. Close it with ``page.context.close()``."""
    context = browser.new_context(
        viewport={"width": width, "height": height}, java_script_enabled=script
    )
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs
    return page


def axe_violations(page: Any) -> list[str]:
    """What axe-core finds on the page, a line per rule with the elements it names."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [f"{v['id']}: {[n['target'] for n in v['nodes']]}" for v in found]


def assert_accessible(page: Any, what: str = "") -> None:
    """No axe-core violation, and no sideways scrolling at the page's width."""
    where = what or page.url
    assert axe_violations(page) == [], where
    width = page.viewport_size["width"]
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{where} scrolls sideways ({scroll_width}px > {width}px)"
