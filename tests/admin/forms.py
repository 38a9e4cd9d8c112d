"""Reading a page's form as a browser would submit it, for HTTP tests of the admin pages."""

from __future__ import annotations

from html.parser import HTMLParser

__all__ = ["form_fields"]


class _Form(HTMLParser):
    def __init__(self, action: str) -> None:
        super().__init__(convert_charrefs=True)
        self.action = action
        self.inside = False
        self.fields: dict[str, str] = {}
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.inside = found.get("action") == self.action
        elif self.inside and tag == "input" and "name" in found:
            kind = found.get("type", "text")
            if kind not in ("checkbox", "file") or "checked" in found:
                self.fields[found["name"]] = found.get("value", "on")
        elif self.inside and tag == "textarea":
            self.textarea = found["name"]
            self.fields[self.textarea] = ""

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.fields[self.textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self.textarea = None
        elif tag == "form":
            self.inside = False


def form_fields(html: str, action: str) -> dict[str, str]:
    """The fields the form posting to ``action`` submits as the page stands (checked boxes
    only, textareas with their text)."""
    form = _Form(action)
    form.feed(html)
    assert form.fields, f"the page has a form posting to {action}"
    return form.fields
