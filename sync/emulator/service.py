"""One emulated Google account: its state, faults, counters, push channels and seed.

The single object the HTTP app and :class:`~sync.emulator.server.EmulatorServer` share; its
methods are the Python face of the admin endpoints (reset, faults, stats, expiring sync tokens);
``oauth`` is its authorization server (:mod:`sync.emulator.oauth`), whose state a reset clears
back to the seed's clients.
"""

from __future__ import annotations

from typing import Any

from sync.emulator.api import CalendarApi
from sync.emulator.faults import Fault, FaultInjector
from sync.emulator.oauth import AuthorizationServer
from sync.emulator.push import PushNotifier
from sync.emulator.quota import Quota
from sync.emulator.seed import Seed, apply_seed
from sync.emulator.stats import RequestStats
from sync.emulator.store import DEFAULT_OWNER, CalendarStore

__all__ = ["EmulatedAccount"]


class EmulatedAccount:
    """State and controls of the emulator, independent of how it is served."""

    def __init__(self, seed: Seed | None = None, owner: str = DEFAULT_OWNER) -> None:
        self.seed = seed
        self.store = CalendarStore(owner)
        self.faults = FaultInjector()
        self.stats = RequestStats()
        self.notifier = PushNotifier()
        self.store.add_listener(self.notifier.changed)
        self.oauth = AuthorizationServer(owner)
        self.api = CalendarApi(self.store, self.notifier, self.faults, self.stats, self.oauth)
        self._apply_seed()

    def reset(self) -> None:
        """Back to the seeded state: calendars, events, tokens, faults, counts and channels."""
        self.store.reset()
        self.faults.clear()
        self.stats.reset()
        self.notifier.reset()
        self.api.quota.set(Quota())
        self.oauth.reset()
        self._apply_seed()

    def inject_fault(self, fault: Fault | dict[str, Any]) -> None:
        """Arm a fault (a :class:`Fault` or its JSON form)."""
        self.faults.add(fault if isinstance(fault, Fault) else Fault.from_json(fault))

    def set_access_role(self, calendar_id: str, access_role: str) -> None:
        """Change the account's accessRole on a calendar (its sync tokens then answer 410)."""
        self.store.set_access_role(calendar_id, access_role)

    def expire_sync_tokens(self) -> None:
        """Make every sync token answer 410, as after Google expires them."""
        self.store.expire_sync_tokens()

    def _apply_seed(self) -> None:
        if self.seed is not None:
            apply_seed(self.seed, self.store, self.faults, oauth=self.oauth)
