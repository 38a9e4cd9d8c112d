"""The demo's mailbox: e-mail written to the outbox folder, shown at ``/demo/mail``.

Without SMTP settings the demo's account e-mails go to an outbox folder
(:mod:`sync.notify.outbox`) and its page lists them with the service's own links made
clickable; mail text is shown inert, and a link elsewhere stays plain text.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import create_engine

from sync.accounts.mail import AccountMail, Letter, invite_letter
from sync.config import Settings
from sync.demo.mailbox import MAILBOX_PATH, mailbox_router
from sync.demo.run import DemoOptions, demo_settings
from sync.notify.job import open_channels
from sync.notify.outbox import Outbox

_NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
_OWN = "http://127.0.0.1:8000"


def _page(folder: Path) -> str:
    app = FastAPI()
    app.include_router(mailbox_router(Outbox(folder), _OWN))
    transport = httpx.ASGITransport(app=app)

    async def get() -> str:
        async with httpx.AsyncClient(transport=transport, base_url=_OWN) as client:
            answer = await client.get(MAILBOX_PATH)
            assert answer.status_code == 200
            assert "script-src" not in answer.headers["content-security-policy"]
            return answer.text

    return asyncio.run(get())


def test_without_smtp_the_demo_sends_its_mail_to_a_folder_beside_its_database(
    tmp_path: Path,
) -> None:
    settings = demo_settings(DemoOptions(database=tmp_path / "demo.db"), _OWN, _OWN)
    assert settings.mail_outbox == tmp_path / "demo.db-mail"
    assert AccountMail(settings).configured


def test_an_invitation_sent_without_smtp_is_listed_with_its_link_clickable(
    tmp_path: Path,
) -> None:
    settings = Settings(mail_outbox=tmp_path / "mail", public_url=_OWN)
    letter = invite_letter("cleo@example.org", "Demo clinic", "admin", f"{_OWN}/admin/join/abc", 48)
    assert AccountMail(settings).send(letter, now=_NOW) is None
    page = _page(tmp_path / "mail")
    assert "Invitation to Demo clinic on clinic-sync" in page
    assert f'<a href="{_OWN}/admin/join/abc">' in page


def test_mail_text_is_shown_inert_and_links_elsewhere_are_not_made_clickable(
    tmp_path: Path,
) -> None:
    settings = Settings(mail_outbox=tmp_path / "mail", public_url=_OWN)
    body = "<script>alert(1)</script> see https://evil.example/phish"
    AccountMail(settings).send(Letter("a@example.org", "<b>hi</b>", body), now=_NOW)
    page = _page(tmp_path / "mail")
    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page
    assert "&lt;b&gt;hi&lt;/b&gt;" in page
    assert 'href="https://evil.example' not in page


def test_an_empty_mailbox_says_where_invitations_will_arrive(tmp_path: Path) -> None:
    assert "No e-mail yet" in _page(tmp_path / "none")


def test_without_smtp_notifications_go_to_the_outbox_folder_too(tmp_path: Path) -> None:
    settings = Settings(mail_outbox=tmp_path / "mail", secret_key=None)
    with open_channels(create_engine("sqlite://"), settings) as channels:
        mail = EmailMessage()
        mail["To"], mail["Subject"] = "owner@example.org", "A conflict was flagged"
        mail.set_content("see the triage home")
        channels["email"].deliver(mail)  # type: ignore[attr-defined]
    [written] = Outbox(tmp_path / "mail").messages()
    assert written["Subject"] == "A conflict was flagged"
