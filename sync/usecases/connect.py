"""Connecting a clinic to its calendars, as ``clinic-sync connect`` and the web UI do (SPEC §2, §9).

An admin connects a provider account (a Google grant, a CalDAV account, an .ics
address), chooses which of its calendars the clinic watches, pauses or removes them.
Each step here is one change in the caller's unit of work, recorded in the audit trail
with who made it (:func:`sync.store.audit.record_audit_event`); the network is asked
beforehand, outside the transaction (:func:`discover_caldav`, :func:`fetch_ics`), so a
provider that is slow or down holds no row locks, and nothing is saved for an account
that did not answer. Secrets arrive encrypted or are encrypted here by the
:class:`~sync.secrets.SecretBox`; the store never sees them in plain text.

Removing a calendar deletes its bookings and conflicts with it; its audit history stays
(audit rows carry no foreign key). A paused calendar keeps its cursor and is not polled
(:func:`sync.store.sources.list_sources` with ``enabled_only``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session

from sync.accounts.service import Actor
from sync.errors import InputError
from sync.ingest.text import calendar_name
from sync.secrets import SecretBox
from sync.sources.caldav.connection import caldav_client
from sync.sources.caldav.source import CalDavSource
from sync.sources.google.grants import save_oauth_grant
from sync.sources.icsurl import IcsUrlSource
from sync.sources.port import RemoteCalendar
from sync.store.audit import record_audit_event
from sync.store.credentials import (
    Credential,
    CredentialKind,
    delete_credential,
    save_credential,
)
from sync.store.data_version import bump_data_version
from sync.store.sources import (
    CalendarSource,
    Provider,
    add_source,
    get_source,
    list_sources,
    remove_source,
    set_source_enabled,
)

__all__ = [
    "CalDavAccount",
    "add_calendars",
    "discover_caldav",
    "fetch_ics",
    "forget_google",
    "pause_calendar",
    "remove_calendar",
    "save_caldav",
    "save_google_grant",
    "subscribe_ics",
]


@dataclass(frozen=True, slots=True)
class CalDavAccount:
    """A CalDAV server and the account signing in to it (an app password on iCloud)."""

    url: str
    username: str
    password: str


def discover_caldav(account: CalDavAccount, *, timeout: float) -> list[RemoteCalendar]:
    """The account's calendars, found by signing in: the check made before anything is saved."""
    source = CalDavSource(
        caldav_client(account.url, account.username, account.password, timeout=timeout)
    )
    try:
        return source.list_calendars()
    finally:
        source.close()


def fetch_ics(url: str, *, timeout: float) -> RemoteCalendar:
    """The calendar an .ics address serves, read once to check it is one."""
    source = IcsUrlSource(timeout=timeout)
    try:
        return source.get_calendar(url)
    finally:
        source.close()


def save_google_grant(session: Session, actor: Actor, grant: str, box: SecretBox) -> Credential:
    """Store a Google authorised-user grant, encrypted; the clinic is connected (again)."""
    stored = save_oauth_grant(session, actor.clinic_id, grant, box, now=actor.now)
    _audit(session, actor, "connection.google_connected", {"kind": stored.kind.value})
    return stored


def forget_google(session: Session, actor: Actor, *, revoked: bool) -> Credential | None:
    """Delete the clinic's stored Google grant; ``revoked``: Google ended it first."""
    gone = delete_credential(session, actor.clinic_id, Provider.GOOGLE)
    if gone is not None:
        detail = {"kind": gone.kind.value, "account": gone.account, "revoked": str(revoked).lower()}
        _audit(session, actor, "connection.google_disconnected", detail)
    return gone


def save_caldav(
    session: Session,
    actor: Actor,
    account: CalDavAccount,
    found: Iterable[RemoteCalendar],
    box: SecretBox,
) -> list[CalendarSource]:
    """Store a checked CalDAV account (its password encrypted) and watch its new calendars."""
    save_credential(
        session, actor.clinic_id, Provider.CALDAV, CredentialKind.PASSWORD,
        account=account.username, secret=box.encrypt(account.password),
        endpoint=account.url, now=actor.now,
    )  # fmt: skip
    detail = {"url": account.url, "account": account.username}
    _audit(session, actor, "connection.caldav_connected", detail)
    return add_calendars(session, actor, Provider.CALDAV, found)


def subscribe_ics(session: Session, actor: Actor, calendar: RemoteCalendar) -> CalendarSource:
    """Watch a read-only .ics address; :class:`InputError` if the clinic has it already."""
    added = add_calendars(session, actor, Provider.ICS, [calendar])
    if not added:
        raise InputError(f"{calendar.id} is already connected")
    return added[0]


def add_calendars(
    session: Session, actor: Actor, provider: Provider, found: Iterable[RemoteCalendar]
) -> list[CalendarSource]:
    """Watch each calendar of ``found`` the clinic does not watch yet; the ones added."""
    known = {source.external_id for source in list_sources(session, actor.clinic_id)}
    added: list[CalendarSource] = []
    for calendar in found:
        if calendar.id in known:
            continue
        known.add(calendar.id)
        source = add_source(
            session, actor.clinic_id, provider, calendar.id,
            display_name=calendar_name(calendar.summary), time_zone=calendar.time_zone,
            now=actor.now,
        )  # fmt: skip
        detail = {**_named(source), "access_role": calendar.access_role}
        _audit(session, actor, "calendar.added", detail, source.id)
        added.append(source)
    return added


def pause_calendar(session: Session, actor: Actor, source_id: int, paused: bool) -> CalendarSource:
    """Stop (or restart) polling one of the clinic's calendars, keeping its cursor."""
    source = _own(session, actor, source_id)
    if source.enabled == (not paused):
        return source
    set_source_enabled(session, source_id, not paused)
    action = "calendar.paused" if paused else "calendar.resumed"
    _audit(session, actor, action, _named(source), source_id)
    return get_source(session, source_id)


def remove_calendar(session: Session, actor: Actor, source_id: int) -> CalendarSource:
    """Stop watching one of the clinic's calendars; its stored bookings go, its history stays."""
    source = _own(session, actor, source_id)
    remove_source(session, source_id)
    bump_data_version(session, source.clinic_id, actor.now)
    _audit(session, actor, "calendar.removed", _named(source), source_id)
    return source


def _own(session: Session, actor: Actor, source_id: int) -> CalendarSource:
    """The actor's clinic's calendar; another clinic's answers like a missing one."""
    found = [s for s in list_sources(session, actor.clinic_id) if s.id == source_id]
    if not found:
        raise InputError(f"no calendar {source_id} is connected")
    return found[0]


def _named(source: CalendarSource) -> dict[str, str]:
    return {
        "calendar": source.external_id,
        "name": source.display_name,
        "provider": source.provider.value,
    }


def _audit(
    session: Session,
    actor: Actor,
    action: str,
    detail: dict[str, str],
    source_id: int | None = None,
) -> None:
    record_audit_event(
        session, actor.clinic_id, actor.name, action,
        calendar_source_id=source_id, detail=detail, at=actor.now,
    )  # fmt: skip
