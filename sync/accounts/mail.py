"""The e-mails of the people pages: an invitation to a clinic, a password-reset link (SPEC §8).

Sent through the SMTP settings and connection of :class:`sync.notify.mail.EmailChannel`
(STARTTLS/TLS, AUTH), one client for every e-mail the service sends. With no SMTP server
configured (nor a mail outbox folder, :mod:`sync.notify.outbox`) nothing is sent and
:meth:`AccountMail.send` says so: the people page then
shows the admin the invitation link to hand over.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from sync.accounts.secrets import new_secret
from sync.config import Settings
from sync.notify.channel import DeliveryFailed
from sync.notify.mail import EmailChannel, can_send_mail, message_id

__all__ = ["AccountMail", "Letter", "invite_letter", "link_url", "reset_letter"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Letter:
    """One e-mail to one person: subject and plain-text body."""

    recipient: str
    subject: str
    body: str


def link_url(base_url: str, path: str) -> str:
    """``path`` under the service's address (``CLINIC_SYNC_PUBLIC_URL``, never a Host header)."""
    return base_url.rstrip("/") + path


def invite_letter(recipient: str, clinic: str, role: str, url: str, hours: int) -> Letter:
    """The invitation e-mail."""
    body = (
        f"You are invited to {clinic} on clinic-sync, as {role}.\n\n"
        f"Open this link to accept (it works once, for {hours} hours):\n{url}\n\n"
        "If you did not expect this, ignore this e-mail.\n"
    )
    return Letter(recipient, f"Invitation to {clinic} on clinic-sync", body)


def reset_letter(recipient: str, url: str, minutes: int) -> Letter:
    """The password-reset e-mail."""
    body = (
        "Someone asked to reset the password of your clinic-sync account.\n\n"
        f"Open this link to choose a new one (it works once, for {minutes} minutes):\n{url}\n\n"
        "If it was not you, ignore this e-mail: your password stays as it is.\n"
    )
    return Letter(recipient, "Reset your clinic-sync password", body)


class AccountMail:
    """Sends account e-mails, or reports that there is no SMTP server to send them with."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @property
    def configured(self) -> bool:
        """Whether an SMTP server (or a mail outbox folder) is set."""
        return can_send_mail(self._settings)

    def send(self, letter: Letter, *, now: datetime) -> str | None:
        """Send ``letter``; ``None`` when it was handed over, else why it was not."""
        if not self.configured:
            return "no SMTP server is configured"
        try:
            EmailChannel(self._settings).deliver(self._compose(letter, now))
        except DeliveryFailed as err:
            _log.warning("account e-mail to %s not sent: %s", letter.recipient, err)
            return str(err)
        return None

    def _compose(self, letter: Letter, now: datetime) -> EmailMessage:
        mail = EmailMessage()
        sender = self._settings.smtp_from
        mail["From"] = sender
        mail["To"] = letter.recipient
        mail["Subject"] = letter.subject
        mail["Date"] = format_datetime(now)
        mail["Message-ID"] = message_id(f"account.{new_secret()[:16]}", sender)
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834
        mail.set_content(letter.body)
        return mail
