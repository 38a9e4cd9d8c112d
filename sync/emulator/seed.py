"""Seed files: calendars and events to start the emulator with.

A seed is JSON, either a list of calendars or an object
``{"calendars": [...], "faults": [...], "oauth": {...}}``::

    [{"id": "dr-smith@clinic.example", "summary": "Dr Smith", "timeZone": "Europe/London",
      "accessRole": "reader", "events": [{Google event JSON}, ...]}]

``accessRole`` (default ``owner``) is the account's role on a calendar shared with it:
``reader``, ``writer`` or ``freeBusyReader`` (:mod:`sync.emulator.access`).

Events are Google's own resource format (https://developers.google.com/calendar/api/v3/reference/events),
so an export of a real calendar can be replayed; server fields such as ``created``, ``updated``,
``iCalUID``, ``organizer`` and ``recurringEventId`` are kept, ids may be any Google gives
(``_``-prefixed imports, ``{id}_R...`` splits, instance ids) and a cancelled item may hold
nothing but its ``id`` (and ``recurringEventId``/``originalStartTime``), as incremental
listings return deleted events (https://developers.google.com/calendar/api/guides/sync).
Faults take the form accepted by ``POST /_emulator/faults``. ``oauth`` registers OAuth
clients and may require access tokens on every Calendar call (:mod:`sync.emulator.oauth`)::

    "oauth": {"required": true, "clients": [{"client_id": "…", "client_secret": "…",
              "redirect_uris": ["http://127.0.0.1:8000/oauth/google/callback"]}]}
 A bad seed fails with
:class:`SeedError` naming the file, the calendar, the event and what is wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sync.emulator.access import ROLES
from sync.emulator.errors import ApiError
from sync.emulator.faults import Fault, FaultInjector
from sync.emulator.oauth import AuthorizationServer
from sync.emulator.oauth_clients import OAuthClient
from sync.emulator.store import CalendarStore

__all__ = ["Seed", "SeedCalendar", "SeedError", "apply_seed", "load_seed", "parse_seed"]

_CALENDAR_KEYS = frozenset(
    {"id", "summary", "description", "location", "timeZone", "accessRole", "events"}
)


class SeedError(ValueError):
    """A seed file that cannot be loaded; the message says where and what."""


@dataclass(frozen=True)
class SeedCalendar:
    """One seeded calendar and its events (Google event JSON)."""

    id: str
    body: dict[str, Any]
    events: tuple[dict[str, Any], ...]
    access_role: str = "owner"


@dataclass(frozen=True)
class Seed:
    """Everything a seed file sets up."""

    calendars: tuple[SeedCalendar, ...]
    faults: tuple[Fault, ...] = ()
    oauth_clients: tuple[OAuthClient, ...] = ()
    oauth_required: bool = False


def load_seed(path: Path) -> Seed:
    """Read and fully validate the seed at ``path`` (it is applied to a scratch store)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise SeedError(f"{path}: cannot read seed file: {err.strerror}") from err
    except ValueError as err:
        raise SeedError(f"{path}: not valid JSON: {err}") from err
    seed = parse_seed(data, str(path))
    apply_seed(seed, CalendarStore(), FaultInjector(), str(path))
    return seed


def parse_seed(data: Any, source: str = "seed") -> Seed:
    """A Seed from decoded JSON, checking its shape."""
    if isinstance(data, list):
        data = {"calendars": data}
    if not isinstance(data, dict) or set(data) - {"calendars", "faults", "oauth"}:
        raise SeedError(
            f"{source}: expected a list of calendars or "
            "{'calendars': [...], 'faults': [...], 'oauth': {...}}"
        )
    calendars = _list(data.get("calendars", []), f"{source}: calendars")
    faults = _list(data.get("faults", []), f"{source}: faults")
    clients, required = _oauth(data.get("oauth", {}), f"{source}: oauth")
    return Seed(
        tuple(_calendar(c, f"{source}: calendars[{i}]") for i, c in enumerate(calendars)),
        tuple(_fault(f, f"{source}: faults[{i}]") for i, f in enumerate(faults)),
        clients,
        required,
    )


def apply_seed(
    seed: Seed,
    store: CalendarStore,
    faults: FaultInjector,
    source: str = "seed",
    *,
    oauth: AuthorizationServer | None = None,
) -> None:
    """Create the seed's calendars and events in ``store``, arm its faults and register its
    OAuth clients with ``oauth``."""
    for index, calendar in enumerate(seed.calendars):
        where = f"{source}: calendars[{index}] ({calendar.id})"
        _apply_calendar(calendar, store, where)
    for fault in seed.faults:
        faults.add(fault)
    if oauth is not None:
        for client in seed.oauth_clients:
            oauth.add_client(client)
        oauth.required = seed.oauth_required


def _apply_calendar(calendar: SeedCalendar, store: CalendarStore, where: str) -> None:
    try:
        # The primary calendar always exists; a seed may still fill it with events.
        if calendar.id != store.owner:
            store.insert_calendar(calendar.body, calendar.id, calendar.access_role)
    except ApiError as err:
        raise SeedError(f"{where}: {err.message}") from err
    for number, event in enumerate(calendar.events):
        try:
            store.insert_event(calendar.id, event, imported=True)
        except ApiError as err:
            name = event.get("id") or event.get("summary") or "?"
            raise SeedError(f"{where}: events[{number}] ({name}): {err.message}") from err


def _calendar(data: Any, where: str) -> SeedCalendar:
    if not isinstance(data, dict):
        raise SeedError(f"{where}: a calendar must be a JSON object")
    if not isinstance(data.get("id"), str) or not data["id"]:
        raise SeedError(f"{where}: 'id' (the calendar id, a string) is required")
    unknown = set(data) - _CALENDAR_KEYS
    if unknown:
        raise SeedError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    events = _list(data.get("events", []), f"{where}: events")
    for number, event in enumerate(events):
        if not isinstance(event, dict):
            raise SeedError(f"{where}: events[{number}]: an event must be a JSON object")
    role = data.get("accessRole", "owner")
    if role not in ROLES:
        raise SeedError(f"{where}: accessRole must be one of {', '.join(ROLES)}, not {role!r}")
    body = {k: v for k, v in data.items() if k not in {"id", "events", "accessRole"}}
    body.setdefault("summary", data["id"])
    return SeedCalendar(data["id"], body, tuple(events), role)


def _oauth(data: Any, where: str) -> tuple[tuple[OAuthClient, ...], bool]:
    if not isinstance(data, dict) or set(data) - {"clients", "required"}:
        raise SeedError(f"{where}: expected {{'clients': [...], 'required': true|false}}")
    required = data.get("required", False)
    if not isinstance(required, bool):
        raise SeedError(f"{where}: 'required' must be true or false")
    clients = []
    for index, item in enumerate(_list(data.get("clients", []), f"{where}: clients")):
        try:
            clients.append(OAuthClient.from_json(item))
        except ValueError as err:
            raise SeedError(f"{where}: clients[{index}]: {err}") from err
    return tuple(clients), required


def _fault(data: Any, where: str) -> Fault:
    try:
        return Fault.from_json(data)
    except (ValueError, TypeError) as err:
        raise SeedError(f"{where}: {err}") from err


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise SeedError(f"{where}: expected a JSON list")
    return value
