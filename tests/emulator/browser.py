"""Following Google's consent page as a browser would: GET the page, read its form, submit it.

The form is read with the standard library's HTML parser (hidden fields, ticked boxes, the
buttons), submitted with the button a person would press, and the redirect that comes
back is not followed: its query (code, scope, state or error) is what a callback gets.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser

import httpx

__all__ = ["ConsentForm", "Redirect", "answer_consent", "as_form", "read_form", "redirect_of"]


@dataclass
class ConsentForm:
    """The form of a consent page: where it posts, its fields and its buttons."""

    action: str = ""
    fields: list[tuple[str, str]] = field(default_factory=list)
    boxes: list[tuple[str, str, bool]] = field(default_factory=list)
    buttons: dict[str, tuple[str, str]] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Redirect:
    """Where the authorization server sent the browser, and the query it carries."""

    location: str
    params: dict[str, str]


class _FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.form = ConsentForm()
        self._button: tuple[str, str] | None = None
        self._in_label = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.form.action = a.get("action", "")
        elif tag == "input" and a.get("type") == "hidden":
            self.form.fields.append((a["name"], a.get("value", "")))
        elif tag == "input" and a.get("type") == "checkbox":
            self.form.boxes.append((a["name"], a.get("value", ""), "checked" in a))
        elif tag == "button":
            self._button = (a.get("name", ""), a.get("value", ""))
        elif tag == "label":
            self._in_label = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._in_label = False

    def handle_data(self, data: str) -> None:
        if self._button is not None and data.strip():
            self.form.buttons[data.strip()] = self._button
            self._button = None
        elif self._in_label and data.strip():
            self.form.labels.append(data.strip())


def read_form(page: str) -> ConsentForm:
    """The consent form of an HTML page."""
    reader = _FormReader()
    reader.feed(page)
    return reader.form


def answer_consent(
    browser: httpx.Client, auth_url: str, press: str = "Allow", untick: Iterable[str] = ()
) -> Redirect:
    """Open ``auth_url``, press ``press`` (leaving the scopes in ``untick`` unticked)."""
    page = browser.get(auth_url)
    assert page.status_code == 200, page.text
    form = read_form(page.text)
    skip = set(untick)
    data = list(form.fields)
    data += [(n, v) for n, v, ticked in form.boxes if ticked and v not in skip]
    data.append(form.buttons[press])
    answer = browser.post(urllib.parse.urljoin(auth_url, form.action), data=as_form(data))
    assert answer.status_code == 302, answer.text
    return redirect_of(answer)


def as_form(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Form pairs as httpx takes them (a name may repeat, as ``scope`` does)."""
    form: dict[str, list[str]] = {}
    for name, value in pairs:
        form.setdefault(name, []).append(value)
    return form


def redirect_of(response: httpx.Response) -> Redirect:
    """The redirect ``response`` sends the browser to."""
    location = response.headers["location"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
    return Redirect(location, {k: v[-1] for k, v in query.items()})
