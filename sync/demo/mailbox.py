"""The demo's mailbox: the e-mails the demo sent, readable in the browser at ``/demo/mail``.

Without SMTP settings the demo points ``CLINIC_SYNC_MAIL_OUTBOX`` at a folder of its own
(:class:`sync.notify.outbox.Outbox`), so invitations, password resets and notifications
(SPEC §8) are written there; this page lists them, newest first, with each link of the
service's own address made clickable. Only :mod:`sync.demo.run` mounts it —
:func:`sync.web.app.create_app` never does. Mail text is shown escaped (Jinja autoescape)
and the page carries the admin pages' security headers (no script at all).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage
from functools import cache

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from jinja2 import Environment, Template

from sync.notify.outbox import Outbox
from sync.web.admin.views import SECURITY_HEADERS

__all__ = ["MAILBOX_PATH", "Letter", "mailbox_router"]

MAILBOX_PATH = "/demo/mail"
_URL = re.compile(r"https?://[^\s<>\"']+")
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo mailbox · clinic-sync</title>
<link rel="stylesheet" href="/admin/static/admin.css">
</head>
<body>
<header class="top"><span class="brand">clinic-sync</span></header>
<main id="main">
<h1>Demo mailbox</h1>
<p>The e-mails this demo sent, newest first. Nothing here left the computer.</p>
{% for letter in letters %}
<article class="letter">
  <h2>{{ letter.subject }}</h2>
  <p>To {{ letter.recipient }} · {{ letter.date }}</p>
  <div class="policy-text">
  {%- for part in letter.parts -%}
  {%- if part.link %}<a href="{{ part.text }}">{{ part.text }}</a>
  {%- else %}{{ part.text }}{% endif -%}
  {%- endfor -%}
  </div>
</article>
{% else %}
<p role="status">No e-mail yet. Invite someone from People, and the invitation arrives here.</p>
{% endfor %}
</main>
</body>
</html>
"""


@dataclass(frozen=True, slots=True)
class _Part:
    text: str
    link: bool


@dataclass(frozen=True, slots=True)
class Letter:
    """One e-mail as the mailbox shows it: its body cut into text and links."""

    recipient: str
    subject: str
    date: str
    parts: tuple[_Part, ...]


def mailbox_router(outbox: Outbox, public_url: str) -> APIRouter:
    """``GET /demo/mail``: the outbox's messages, links under ``public_url`` clickable."""
    router = APIRouter(include_in_schema=False)

    @router.get(MAILBOX_PATH)
    def mailbox() -> HTMLResponse:
        letters = [_letter(mail, public_url) for mail in outbox.messages()]
        return HTMLResponse(_template().render(letters=letters), headers=SECURITY_HEADERS)

    return router


def _letter(mail: EmailMessage, public_url: str) -> Letter:
    body = mail.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    return Letter(
        recipient=str(mail["To"] or ""),
        subject=str(mail["Subject"] or "(no subject)"),
        date=str(mail["Date"] or ""),
        parts=tuple(_parts(text, public_url.rstrip("/") + "/")),
    )


def _parts(text: str, own: str) -> list[_Part]:
    """``text`` cut at its URLs; only the service's own URLs become links."""
    parts, start = [], 0
    for found in _URL.finditer(text):
        parts.append(_Part(text[start : found.start()], link=False))
        parts.append(_Part(found.group(), link=found.group().startswith(own)))
        start = found.end()
    parts.append(_Part(text[start:], link=False))
    return [part for part in parts if part.text]


@cache
def _template() -> Template:
    return Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True).from_string(_PAGE)
