"""A Google Calendar API v3 emulator, spoken to with the real google-api-python-client.

No Google service is reachable from where clinic-sync is built and tested, so this package
serves the parts of https://developers.google.com/calendar/api/v3/reference that clinic-sync
uses (SPEC §9): calendars, calendarList, events with recurrence, sync tokens, ETags, batch,
push notifications, Google's error format, access roles, event types, colors and free/busy,
plus fault injection and request counts.

Modules: ``store`` (state and semantics), ``resources`` (event JSON), ``recurrence``,
``listing`` (events.list), ``access``, ``event_types``, ``colors``, ``freebusy``,
``api`` (routing), ``batch``, ``push``, ``faults``, ``stats``,
``seed``, ``service`` (one emulated account), ``app`` (HTTP), ``server`` (running it),
and Google's OAuth 2.0 endpoints: ``oauth`` (the authorization server), ``oauth_clients``,
``scopes`` and ``consent`` (the consent and error pages).
"""

from sync.emulator.errors import ApiError
from sync.emulator.faults import Fault
from sync.emulator.oauth_clients import OAuthClient
from sync.emulator.seed import Seed, SeedError, load_seed
from sync.emulator.server import EmulatorServer, run_emulator
from sync.emulator.service import EmulatedAccount
from sync.emulator.store import CalendarStore

__all__ = [
    "ApiError",
    "CalendarStore",
    "EmulatedAccount",
    "EmulatorServer",
    "Fault",
    "OAuthClient",
    "Seed",
    "SeedError",
    "load_seed",
    "run_emulator",
]
