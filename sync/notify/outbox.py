"""A mail outbox folder: e-mails written as ``.eml`` files instead of going to SMTP (RFC 5322).

Where no SMTP server is configured but ``CLINIC_SYNC_MAIL_OUTBOX`` names a folder, every
e-mail the service sends — notifications (:class:`sync.notify.mail.EmailChannel`) and
account e-mails (:mod:`sync.accounts.mail`) — is written there, one file per message, so a
person can read it. ``clinic-sync demo`` uses it for its mailbox page
(:mod:`sync.demo.mailbox`). Each file is written under a temporary name and renamed, so
a reader never sees half a message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from time import time_ns

from sync.notify.channel import DeliveryFailed

__all__ = ["Outbox"]


@dataclass(frozen=True, slots=True)
class Outbox:
    """The folder ``path``, written and read one message file at a time."""

    path: Path

    def deliver(self, mail: EmailMessage) -> None:
        """Write ``mail`` as a new file; :class:`DeliveryFailed` if the folder refuses it."""
        name = f"{time_ns():020d}-{os.getpid()}-{id(mail):x}.eml"
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            partial = self.path / f".{name}.part"
            partial.write_bytes(mail.as_bytes(policy=policy.SMTP))
            partial.replace(self.path / name)
        except OSError as err:
            raise DeliveryFailed(f"mail outbox {self.path} not writable: {err}") from err

    def messages(self) -> list[EmailMessage]:
        """The messages written so far, newest first."""
        if not self.path.is_dir():
            return []
        files = sorted(self.path.glob("*.eml"), reverse=True)
        return [_read(file) for file in files]


def _read(file: Path) -> EmailMessage:
    with file.open("rb") as handle:
        parsed = BytesParser(policy=policy.default).parse(handle)
    assert isinstance(parsed, EmailMessage)
    return parsed
