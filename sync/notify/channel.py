"""The port every notification channel implements, and how a send fails (SPEC §8).

::

    ProviderError
    └── DeliveryFailed      a send did not go through: retried, unless ``permanent``
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sync.errors import ProviderError
from sync.notify.messages import Outgoing

__all__ = ["Channel", "DeliveryFailed"]


class DeliveryFailed(ProviderError):
    """A message was not accepted; ``permanent``: trying again cannot help."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class Channel(Protocol):
    """Sends one message, or raises :class:`DeliveryFailed`."""

    def send(self, message: Outgoing, *, now: datetime) -> None: ...
