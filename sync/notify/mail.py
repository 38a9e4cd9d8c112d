"""E-mail notifications over SMTP: stdlib ``smtplib`` and ``EmailMessage`` (RFC 5321, 5322).

STARTTLS, SSL or a plain connection, with AUTH when a user name is set
(``CLINIC_SYNC_SMTP_*``). The ``Message-ID`` is made from the message's identity, the
same on every attempt: SMTP cannot confirm that a message which was handed over before a
crash was delivered, so a retry may deliver it again, and the repeated Message-ID lets a
mail system or a reader see it is the same message.

With no SMTP server but a mail outbox folder (``CLINIC_SYNC_MAIL_OUTBOX``), the same
composed e-mail is written to that folder instead (:class:`sync.notify.outbox.Outbox`).
"""

from __future__ import annotations

import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from sync.config import Settings
from sync.notify.channel import DeliveryFailed
from sync.notify.messages import Outgoing, email_body, email_subject
from sync.notify.outbox import Outbox

__all__ = ["EmailChannel", "can_send_mail", "message_id"]


def can_send_mail(settings: Settings) -> bool:
    """Whether e-mail goes anywhere: to an SMTP server, or to the mail outbox folder."""
    return bool(settings.smtp_host) or settings.mail_outbox is not None


def message_id(identity: str, sender: str) -> str:
    """The Message-ID of every attempt at the message ``identity``."""
    domain = sender.rpartition("@")[2] or "clinic-sync.invalid"
    return f"<clinic-sync.{identity}@{domain}>"


class EmailChannel:
    """Sends notifications through the configured SMTP server, or into the mail outbox."""

    def __init__(self, settings: Settings) -> None:
        if not can_send_mail(settings):
            raise ValueError("no SMTP server is configured (CLINIC_SYNC_SMTP_HOST)")
        self._settings = settings
        self._host = settings.smtp_host or ""
        folder = None if settings.smtp_host else settings.mail_outbox
        self._outbox = None if folder is None else Outbox(folder)

    def send(self, message: Outgoing, *, now: datetime) -> None:
        """Hand ``message`` to the SMTP server; :class:`DeliveryFailed` if it is refused."""
        self.deliver(self.compose(message, now=now))

    def deliver(self, mail: EmailMessage) -> None:
        """Hand a composed e-mail to the SMTP server; :class:`DeliveryFailed` if it is refused."""
        if self._outbox is not None:
            self._outbox.deliver(mail)
            return
        try:
            with self._connect() as smtp:
                smtp.send_message(mail)
        except smtplib.SMTPResponseException as err:
            # 5xx: the server will not take it (no such mailbox, policy); 4xx: try later.
            reason = f"SMTP {err.smtp_code}: {_text(err.smtp_error)}"
            raise DeliveryFailed(reason, permanent=err.smtp_code >= 500) from err
        except smtplib.SMTPRecipientsRefused as err:
            raise DeliveryFailed(f"recipient refused: {err.recipients}", permanent=True) from err
        except (smtplib.SMTPException, OSError) as err:
            raise DeliveryFailed(f"SMTP server unreachable: {err}") from err

    def compose(self, message: Outgoing, *, now: datetime) -> EmailMessage:
        """The e-mail for ``message``."""
        mail = EmailMessage()
        mail["From"] = self._settings.smtp_from
        mail["To"] = message.recipient
        mail["Subject"] = email_subject(message)
        mail["Date"] = format_datetime(now)
        mail["Message-ID"] = message_id(message.identity, self._settings.smtp_from)
        mail["X-Clinic-Sync-Delivery"] = message.identity
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
        mail.set_content(email_body(message))
        return mail

    def _connect(self) -> smtplib.SMTP:
        settings, timeout = self._settings, self._settings.smtp_timeout_seconds
        if settings.smtp_security == "ssl":
            context = ssl.create_default_context()
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                self._host, settings.smtp_port, timeout=timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(self._host, settings.smtp_port, timeout=timeout)
        try:
            if settings.smtp_security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                secret = settings.smtp_password
                smtp.login(settings.smtp_username, secret.get_secret_value() if secret else "")
        except BaseException:
            smtp.close()  # the caller's `with` never sees a connection that failed to open
            raise
        return smtp


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
