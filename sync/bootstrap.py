"""The one place that wires settings into running parts: store, policy, rules, calendar source.

Entry points (the command line, the worker and the web app) call these with a
:class:`~sync.config.Settings` object, the operator's, and a clinic: its settings and
policy come from the store (:mod:`sync.clinics.profile`). Nothing is built at import time
(STYLE). Opening the store applies pending migrations first (SPEC §9: one process on SQLite
needs no separate step), and a policy that does not parse stops that clinic (SPEC §3).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from types import TracebackType
from typing import Self

from sqlalchemy import Engine

from rules.model import Policy
from rules.vocabulary import Matcher
from sync.clinics.model import ClinicSettings
from sync.clinics.profile import ClinicProfile, open_profile
from sync.config import Settings
from sync.errors import ConfigError
from sync.metrics import CycleMetrics, metrics_in_scope
from sync.secrets import SecretBox
from sync.sources.google.client import CalendarClient, ClientConfig, GoogleAuth
from sync.sources.google.grants import NotConnected, load_or_mark
from sync.sources.google.retry import RetryPolicy
from sync.sources.google.source import GoogleCalendarSource
from sync.sources.google.web_oauth import (
    CALLBACK_PATH,
    GOOGLE_ENDPOINTS,
    OAuthEndpoints,
    WebSignIn,
)
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
    "clinic_services",
    "google_client",
    "google_oauth_endpoints",
    "google_source",
    "google_web_sign_in",
    "open_services",
    "open_store",
    "other_sources",
    "retry_policy",
    "secret_box",
    "store_scope",
]


@dataclass(frozen=True)
class Services:
    """Everything a sync pass of one clinic needs; close it when done.

    ``clinic`` is the clinic's profile (settings and policy, read from the store).
    ``google_source`` is ``None`` for a clinic with no Google connection; ``others`` open
    the CalDAV and .ics sources on first use. :attr:`calendars` routes every calendar to
    its provider's source, so the pull, detection and flags never ask which it is.
    Each cycle is counted in ``metrics`` when there are some (:mod:`sync.metrics`).
    ``owns_engine`` is false when the engine is shared by several clinics' services
    (a worker serving every clinic): closing them leaves it open.
    """

    settings: Settings
    engine: Engine
    clinic: ClinicProfile
    reader: BookingReader
    google_source: GoogleCalendarSource | None
    others: Mapping[Provider, SourceFactory] = field(default_factory=dict)
    metrics: CycleMetrics | None = None
    owns_engine: bool = True

    @property
    def policy(self) -> Policy:
        return self.clinic.policy

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
        return CalendarRouter(self.engine, self.clinic.id, factories)

    def close(self) -> None:
        """Close provider connections and the database pool."""
        if "calendars" in self.__dict__:
            self.calendars.close()
        if self.google_source is not None:
            self.google_source.client.close()
        if self.owns_engine:
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


@contextmanager
def store_scope(settings: Settings) -> Iterator[Engine]:
    """The configured database, migrated; its pool is closed when the block ends."""
    engine = open_store(settings)
    try:
        yield engine
    finally:
        engine.dispose()


def open_store(settings: Settings, *, migrate: bool = True) -> Engine:
    """An engine on the configured database, migrated to the head revision."""
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    return engine


def booking_reader(clinic: ClinicProfile) -> BookingReader:
    """Reads categories and patients with the clinic's policy and staff domains."""
    return BookingReader(Matcher(clinic.policy), clinic.identity)


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


def google_client(
    settings: Settings, engine: Engine | None = None, clinic_id: int | None = None
) -> CalendarClient:
    """The Calendar v3 client for the configured endpoint and credentials.

    Credentials come from ``CLINIC_SYNC_GOOGLE_CREDENTIALS`` when it names a file, else
    from the grant ``clinic-sync connect google`` stored (encrypted) for the clinic
    ``clinic_id`` (by default the one ``CLINIC_SYNC_CLINIC`` names).
    """
    config = ClientConfig(
        endpoint=settings.google_api_endpoint,
        auth=GoogleAuth(settings.google_auth),
        credentials_file=settings.google_credentials,
        subject=settings.google_subject,
        timeout=settings.google_timeout_seconds,
    )
    uses_store = config.auth is not GoogleAuth.NONE and config.credentials_file is None
    if not uses_store or engine is None:
        return CalendarClient(config)
    if clinic_id is None:
        with session_scope(engine) as session:  # its id only: no policy to parse
            clinic_id = get_or_create_clinic(session, settings.clinic).id
    token_uri = google_oauth_endpoints(settings).token_uri
    credentials = load_or_mark(engine, clinic_id, secret_box(settings), token_uri=token_uri)
    return CalendarClient(config, credentials=credentials)


def google_oauth_endpoints(settings: Settings) -> OAuthEndpoints:
    """Google's OAuth endpoints, or those under ``CLINIC_SYNC_GOOGLE_OAUTH_BASE_URL``."""
    base = settings.google_oauth_base_url
    return OAuthEndpoints.at(base) if base else GOOGLE_ENDPOINTS


def google_web_sign_in(settings: Settings) -> WebSignIn:
    """The browser's Connect Google: the configured OAuth client, calling back to
    ``CLINIC_SYNC_PUBLIC_URL`` + ``/oauth/google/callback``."""
    if settings.google_client_secrets is None:
        raise ConfigError(
            "CLINIC_SYNC_GOOGLE_CLIENT_SECRETS must name the OAuth client (a web application's "
            "client secrets JSON) to connect Google from the browser"
        )
    return WebSignIn.from_client_secrets(
        settings.google_client_secrets,
        f"{settings.public_url}{CALLBACK_PATH}",
        endpoints=google_oauth_endpoints(settings),
        timeout=settings.google_timeout_seconds,
    )


def google_source(
    settings: Settings,
    clinic: ClinicProfile | None = None,
    *,
    retry: RetryPolicy | None = None,
    engine: Engine | None = None,
) -> GoogleCalendarSource:
    """Google as a calendar source of ``clinic``, scanning the clinic's horizon.

    Without a clinic (a client on the emulator, ``connect``'s checks) a new clinic's
    defaults apply.
    """
    scan = clinic.settings if clinic is not None else ClinicSettings()
    return GoogleCalendarSource(
        google_client(settings, engine, None if clinic is None else clinic.id),
        scan_days_back=scan.scan_days_back,
        scan_days_ahead=scan.scan_days_ahead,
        patient_id_property=scan.patient_id_property,
        retry=retry or retry_policy(settings),
    )


def open_services(
    settings: Settings,
    *,
    clinic: str | None = None,
    retry: RetryPolicy | None = None,
    metrics: CycleMetrics | None = None,
) -> Services:
    """The services of the clinic ``clinic`` (default ``CLINIC_SYNC_CLINIC``), on a new engine.

    A one-clinic install's clinic is made on first use. Cycles are counted in ``metrics``,
    by default those a worker's metrics endpoint serves
    (:func:`sync.metrics.metrics_in_scope`), else new ones.
    """
    engine = open_store(settings)
    try:
        profile = open_profile(engine, slug=clinic or settings.clinic, create=clinic is None)
        return clinic_services(settings, engine, profile, retry=retry, metrics=metrics)
    except BaseException:
        engine.dispose()
        raise


def clinic_services(
    settings: Settings,
    engine: Engine,
    clinic: ClinicProfile,
    *,
    retry: RetryPolicy | None = None,
    metrics: CycleMetrics | None = None,
    owns_engine: bool = True,
    reader: BookingReader | None = None,
) -> Services:
    """The services of one clinic over ``engine`` (shared when ``owns_engine`` is false).

    ``reader`` is one built already for the clinic's policy (a worker serving many clinics
    shares one matcher among clinics of the same policy); by default a new one.
    """
    google = _google_if_connected(settings, clinic, retry, engine)
    others = other_sources(settings, engine, clinic)
    counted = metrics or metrics_in_scope()
    return Services(
        settings,
        engine,
        clinic,
        reader or booking_reader(clinic),
        google,
        others,
        metrics=counted,
        owns_engine=owns_engine,
    )


def _google_if_connected(
    settings: Settings, clinic: ClinicProfile, retry: RetryPolicy | None, engine: Engine
) -> GoogleCalendarSource | None:
    try:
        return google_source(settings, clinic, retry=retry, engine=engine)
    except NotConnected:
        return None  # a clinic on CalDAV or .ics only; Services.google says what to do


def other_sources(
    settings: Settings, engine: Engine, clinic: ClinicProfile
) -> dict[Provider, SourceFactory]:
    """Openers of the clinic's CalDAV and .ics sources, reading credentials when first used."""
    scan = clinic.settings

    def caldav() -> CalendarSource:
        # Imported here: the CalDAV client and its HTTP stack cost a worker whose clinic
        # has no CalDAV calendar a fifth of a second at every start.
        from sync.sources.caldav.connection import stored_caldav_source  # noqa: PLC0415

        with session_scope(engine) as session:
            return stored_caldav_source(
                session,
                clinic.id,
                secret_box(settings),
                timeout=settings.caldav_timeout_seconds,
                scan_days_back=scan.scan_days_back,
                scan_days_ahead=scan.scan_days_ahead,
                default_zone=scan.time_zone,
            )

    def ics() -> CalendarSource:
        # Only a clinic with ICS feeds loads the iCalendar reader (a tenth of a start-up).
        from sync.sources.icsurl.source import IcsUrlSource  # noqa: PLC0415

        return IcsUrlSource(
            timeout=settings.ics_timeout_seconds,
            scan_days_back=scan.scan_days_back,
            scan_days_ahead=scan.scan_days_ahead,
            default_zone=scan.time_zone,
        )

    return {Provider.CALDAV: caldav, Provider.ICS: ics}
