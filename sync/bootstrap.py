"""The one place that wires settings into running parts: store, policy, rules, calendar source.

Entry points (the command line, later the worker and the web app) call these with a
:class:`~sync.config.Settings` object; nothing is built at import time (STYLE). Opening
the store applies pending migrations first (SPEC §9: one process on SQLite needs no
separate step), and a bad policy file stops start-up (SPEC §3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Engine

from rules.model import Policy
from rules.patients import IdentityOptions
from rules.vocabulary import Matcher
from sync.config import Settings
from sync.metrics import CycleMetrics, metrics_in_scope
from sync.policy_file import load_policy
from sync.secrets import SecretBox
from sync.sources.caldav.connection import stored_caldav_source
from sync.sources.google.client import CalendarClient, ClientConfig, GoogleAuth
from sync.sources.google.grants import NotConnected, load_or_mark
from sync.sources.google.retry import RetryPolicy
from sync.sources.google.source import GoogleCalendarSource
from sync.sources.icsurl.source import IcsUrlSource
from sync.sources.port import CalendarSource
from sync.sources.router import CalendarRouter, SourceFactory
from sync.store.clinics import get_or_create_clinic
from sync.store.database import make_engine, session_scope
from sync.store.migrate import upgrade
from sync.store.sources import Provider
from sync.usecases.pull import BookingReader

__all__ = [
    "Services",
    "booking_reader",
    "google_client",
    "google_source",
    "open_services",
    "open_store",
    "other_sources",
    "retry_policy",
    "secret_box",
]


@dataclass(frozen=True)
class Services:
    """Everything a sync pass needs, built from one settings object; close it when done.

    ``google_source`` is ``None`` for a clinic with no Google connection; ``others`` open
    the CalDAV and .ics sources on first use. :attr:`calendars` routes every calendar to
    its provider's source, so the pull, detection and flags never ask which it is.
    Each cycle is counted in ``metrics`` when there are some (:mod:`sync.metrics`).
    """

    settings: Settings
    engine: Engine
    policy: Policy
    reader: BookingReader
    google_source: GoogleCalendarSource | None
    others: Mapping[Provider, SourceFactory] = field(default_factory=dict)
    metrics: CycleMetrics | None = None

    @property
    def poll_interval(self) -> timedelta:
        return timedelta(seconds=self.settings.poll_interval_seconds)

    @property
    def google(self) -> GoogleCalendarSource:
        """The clinic's Google source; a clear set-up error when Google is not connected."""
        if self.google_source is None:
            raise NotConnected("no Google account is connected: run `clinic-sync connect google`")
        return self.google_source

    @cached_property
    def calendars(self) -> CalendarRouter:
        """One source over every connected provider."""
        factories: dict[Provider, SourceFactory] = dict(self.others)
        if self.google_source is not None:
            factories[Provider.GOOGLE] = lambda: self.google
        return CalendarRouter(self.engine, factories)

    def close(self) -> None:
        """Close provider connections and the database pool."""
        if "calendars" in self.__dict__:
            self.calendars.close()
        if self.google_source is not None:
            self.google_source.client.close()
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_store(settings: Settings, *, migrate: bool = True) -> Engine:
    """An engine on the configured database, migrated to the head revision."""
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    return engine


def booking_reader(policy: Policy, settings: Settings) -> BookingReader:
    """Reads categories and patients with ``policy`` and the clinic's staff domains."""
    return BookingReader(Matcher(policy), IdentityOptions(staff_domains=settings.staff_domains))


def retry_policy(settings: Settings) -> RetryPolicy:
    """Backoff bounded by the configured attempts and total wait."""
    return RetryPolicy(
        max_attempts=settings.google_retry_attempts,
        max_total_wait=settings.google_retry_max_wait_seconds,
    )


def secret_box(settings: Settings) -> SecretBox:
    """The box of the configured ``CLINIC_SYNC_SECRET_KEY`` (a clear error when unset)."""
    key = settings.secret_key.get_secret_value() if settings.secret_key else None
    return SecretBox.from_setting(key)


def google_client(settings: Settings, engine: Engine | None = None) -> CalendarClient:
    """The Calendar v3 client for the configured endpoint and credentials.

    Credentials come from ``CLINIC_SYNC_GOOGLE_CREDENTIALS`` when it names a file, else
    from the grant ``clinic-sync connect google`` stored (encrypted) in the database.
    """
    config = ClientConfig(
        endpoint=settings.google_api_endpoint,
        auth=GoogleAuth(settings.google_auth),
        credentials_file=settings.google_credentials,
        subject=settings.google_subject,
        timeout=settings.google_timeout_seconds,
    )
    uses_store = config.auth is not GoogleAuth.NONE and config.credentials_file is None
    stored = _stored_grant(settings, engine) if uses_store and engine is not None else None
    return CalendarClient(config, credentials=stored)


def _stored_grant(settings: Settings, engine: Engine) -> Any:
    with session_scope(engine) as session:
        clinic = get_or_create_clinic(session, settings.clinic)
    return load_or_mark(engine, clinic.id, secret_box(settings))


def google_source(
    settings: Settings, *, retry: RetryPolicy | None = None, engine: Engine | None = None
) -> GoogleCalendarSource:
    """Google as a calendar source, scanning the configured horizon."""
    return GoogleCalendarSource(
        google_client(settings, engine),
        scan_days_back=settings.scan_days_back,
        scan_days_ahead=settings.scan_days_ahead,
        patient_id_property=settings.patient_id_property,
        retry=retry or retry_policy(settings),
    )


def open_services(
    settings: Settings, *, retry: RetryPolicy | None = None, metrics: CycleMetrics | None = None
) -> Services:
    """Policy first (a bad file must stop start-up before anything opens), then the rest.

    Cycles are counted in ``metrics``, by default those a worker's metrics endpoint serves
    (:func:`sync.metrics.metrics_in_scope`), else new ones.
    """
    policy = load_policy(settings.policy)
    engine = open_store(settings)
    try:
        google = _google_if_connected(settings, retry, engine)
    except BaseException:
        engine.dispose()
        raise
    reader = booking_reader(policy, settings)
    others = other_sources(settings, engine)
    counted = metrics or metrics_in_scope()
    return Services(settings, engine, policy, reader, google, others, metrics=counted)


def _google_if_connected(
    settings: Settings, retry: RetryPolicy | None, engine: Engine
) -> GoogleCalendarSource | None:
    try:
        return google_source(settings, retry=retry, engine=engine)
    except NotConnected:
        return None  # a clinic on CalDAV or .ics only; Services.google says what to do


def other_sources(settings: Settings, engine: Engine) -> dict[Provider, SourceFactory]:
    """Openers of the CalDAV and .ics sources, reading their credentials when first used."""

    def caldav() -> CalendarSource:
        with session_scope(engine) as session:
            clinic = get_or_create_clinic(session, settings.clinic)
            return stored_caldav_source(
                session,
                clinic.id,
                secret_box(settings),
                timeout=settings.caldav_timeout_seconds,
                scan_days_back=settings.scan_days_back,
                scan_days_ahead=settings.scan_days_ahead,
                default_zone=settings.clinic_time_zone,
            )

    def ics() -> CalendarSource:
        return IcsUrlSource(
            timeout=settings.ics_timeout_seconds,
            scan_days_back=settings.scan_days_back,
            scan_days_ahead=settings.scan_days_ahead,
            default_zone=settings.clinic_time_zone,
        )

    return {Provider.CALDAV: caldav, Provider.ICS: ics}
