"""Settings, read once from the environment (prefix ``CLINIC_SYNC_``) into one typed object.

These are the operator's settings: the database, the secret key, the public URL, worker
tuning, the Google OAuth client. What a clinic sets for itself (time zone, policy, staff
domains, flag colour, …) is stored with the clinic (:mod:`sync.clinics`, SPEC §2), so one
service runs many clinics; the variables that used to hold it are listed in
:data:`sync.clinics.settings.MOVED_VARIABLES`. Tests and the CLI build :class:`Settings`
explicitly; nothing here runs at import. Every setting is listed with its default in
``.env.example``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from sync.errors import ConfigError

__all__ = ["Settings", "load_settings"]

_DATABASES = frozenset({"sqlite", "postgresql", "postgres"})
# Bare names need no check: pysqlite ships with Python and the store maps a bare
# postgresql:// to psycopg 3, a dependency of the package.
_BUNDLED_DRIVERS = frozenset({"sqlite", "postgresql", "postgres"})


class Settings(BaseSettings):
    """clinic-sync's configuration."""

    model_config = SettingsConfigDict(
        env_prefix="CLINIC_SYNC_",
        env_file=".env",
        # An empty line in .env (as `config example` writes for unset settings) or an empty
        # variable means "the default", for every setting alike.
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
        validate_by_name=True,  # a field with environment aliases is still set by its name
        loc_by_alias=False,  # and its errors name the field, as load_settings expects
    )

    database_url: str = Field(
        "sqlite:///./clinic-sync.db", description="SQLAlchemy URL of the database."
    )
    clinic: str = Field(
        "default",
        description="Slug of the clinic commands act for when --clinic is not given; a "
        "one-clinic install's clinic, made on first use. Each clinic's own settings "
        "(time zone, policy, staff domains, …) live in the database: `clinic-sync clinics`.",
    )
    poll_interval_seconds: int = Field(
        60,
        ge=1,
        description="Seconds between two polls of one calendar (SPEC §9); "
        "CLINIC_SYNC_POLL_SECONDS is accepted too.",
        validation_alias=AliasChoices(
            "CLINIC_SYNC_POLL_INTERVAL_SECONDS", "CLINIC_SYNC_POLL_SECONDS"
        ),
    )
    reconcile_interval: timedelta = Field(
        timedelta(days=1),
        gt=timedelta(0),
        description="How often each calendar is listed in full and compared with the store, "
        "correcting what push or incremental sync missed (ISO 8601 duration, e.g. P1D).",
    )
    google_requests_per_minute: int = Field(
        300,
        ge=1,
        description="Google requests one worker may make per minute; workers sharing an "
        "account each get their share (Google allows about 600 per user per minute).",
    )
    worker_threads: int = Field(4, ge=1, description="Calendars one worker polls at the same time.")
    worker_lease_seconds: float = Field(
        120.0,
        gt=0,
        description="How long a worker's claim on a calendar lasts unless renewed; a dead "
        "worker's calendars are taken over after this long.",
    )
    worker_claim_seconds: float = Field(
        2.0, gt=0, description="How often a worker looks for calendars that are due."
    )
    worker_metrics_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="Port `clinic-sync worker` serves Prometheus metrics on (/metrics); "
        "empty means no metrics endpoint.",
    )
    worker_metrics_host: str = Field(
        "127.0.0.1", description="Address the worker's metrics endpoint binds to."
    )
    google_api_endpoint: str = Field(
        "https://www.googleapis.com/calendar/v3/",
        description="Base URL of the Calendar API v3 (the emulator's URL in tests and demos).",
    )
    google_auth: Literal["none", "oauth", "service_account"] = Field(
        "oauth",
        description="How to authorise to Google: oauth (a clinic's account), "
        "service_account (domain-wide delegation) or none (the emulator only).",
    )
    google_credentials: Path | None = Field(
        None,
        description="Authorized-user JSON (oauth) or service-account key file (service_account).",
    )
    google_subject: str | None = Field(
        None, description="User a service account acts as (domain-wide delegation)."
    )
    google_timeout_seconds: float = Field(
        30.0, gt=0, description="Socket timeout of one request to Google, in seconds."
    )
    google_retry_attempts: int = Field(
        6, ge=1, description="Attempts at one Google request on rate limits and 5xx."
    )
    google_retry_max_wait_seconds: float = Field(
        120.0, ge=0, description="Most seconds spent waiting between retries of one request."
    )

    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="Base URL that feed links are printed with (what practitioners subscribe to).",
    )
    feed_refresh_interval: timedelta = Field(
        timedelta(hours=1),
        gt=timedelta(0),
        description="How often subscribers should refetch a feed (ISO 8601 duration, e.g. PT1H).",
    )
    feed_recheck_seconds: float = Field(
        1.0,
        ge=0,
        description=(
            "Seconds feeds trust a clinic's data version and a token's state before reading "
            "them again (a revocation takes effect within this time)."
        ),
    )

    log_format: Literal["auto", "json", "text"] = Field(
        "auto",
        description="Log lines as JSON (production) or text; auto picks text on a terminal.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Least severe log level written by the worker and the web app."
    )

    secret_key: SecretStr | None = Field(
        None,
        description="Fernet keys that encrypt stored credentials, comma-separated: the first "
        "encrypts, every one decrypts (rotation, `clinic-sync secrets rotate`).",
    )
    google_client_secrets: Path | None = Field(
        None,
        description="OAuth client secrets JSON: a desktop app's for `connect google`, or a web "
        "application's (redirect URI PUBLIC_URL/oauth/google/callback) for Connect Google "
        "in the browser.",
    )
    caldav_timeout_seconds: float = Field(
        30.0, gt=0, description="Timeout of one request to a CalDAV server, in seconds."
    )
    ics_timeout_seconds: float = Field(
        30.0, gt=0, description="Timeout of one fetch of a subscribed .ics URL, in seconds."
    )
    doctor_timeout_seconds: float = Field(
        5.0, gt=0, description="Timeout of each reachability check `clinic-sync doctor` makes."
    )

    admin_session_hours: float = Field(
        12.0, gt=0, description="How long an admin UI sign-in lasts, in hours (SPEC §8)."
    )
    login_max_failures: int = Field(
        5,
        ge=0,
        description="Wrong passwords on one account, since its last sign-in and within the "
        "window, before each further attempt must wait (a growing delay, never a lockout).",
    )
    login_delay_seconds: float = Field(
        2.0,
        gt=0,
        description="The first wait after login_max_failures wrong passwords on an account, "
        "in seconds; it doubles with each further wrong password.",
    )
    login_max_delay_seconds: float = Field(
        60.0,
        gt=0,
        description="The longest wait between two sign-in attempts on one account, in seconds: "
        "the most a stranger guessing at an account can delay its owner.",
    )
    login_address_max_failures: int = Field(
        50,
        ge=1,
        description="Failed sign-ins from one client address, on any accounts, within the "
        "window, before that address answers 429 until the oldest leaves the window.",
    )
    login_window_seconds: int = Field(
        900, ge=1, description="The window failed sign-ins are counted over, in seconds."
    )

    invite_valid_hours: int = Field(
        72, ge=1, description="How long an invitation link to a clinic works, in hours."
    )
    password_reset_valid_minutes: int = Field(
        60, ge=5, description="How long a password-reset link works, in minutes."
    )

    trusted_proxies: str = Field(
        "127.0.0.1",
        description="Reverse proxies (addresses or networks, comma-separated; * for any) whose "
        "X-Forwarded-For/-Proto give the client's address, for sign-in limits and logs; a "
        "request from any other peer is taken at its own address. "
        "CLINIC_SYNC_FORWARDED_ALLOW_IPS is accepted too.",
        validation_alias=AliasChoices(
            "CLINIC_SYNC_TRUSTED_PROXIES", "CLINIC_SYNC_FORWARDED_ALLOW_IPS"
        ),
    )
    api_docs: bool = Field(
        False,
        description="Serve interactive API documentation at /admin/api-docs (/docs points "
        "there) to signed-in users, from a packaged Swagger UI; off by default.",
    )

    push_allow_http: bool = Field(
        False,
        description="Open push channels to a plain http public URL too (tests and the emulator "
        "only: Google delivers notifications to https addresses alone).",
    )
    push_channel_ttl_seconds: int = Field(
        7 * 24 * 3600,
        ge=60,
        description="Lifetime asked for each Google push channel (events.watch), in seconds.",
    )
    push_renew_before_seconds: int = Field(
        6 * 3600,
        ge=0,
        description="How long before a push channel expires a new one is opened, in seconds.",
    )
    push_poll_seconds: int = Field(
        900,
        ge=1,
        description="Seconds between fallback polls of a calendar that has a live push channel.",
    )
    push_sweep_seconds: float = Field(
        60.0,
        gt=0,
        description="How often a worker stops the push channels of removed or disabled calendars.",
    )
    google_project_requests_per_minute: int = Field(
        10_000,
        ge=1,
        description="Google requests one worker may make per minute for the whole project "
        "(the OAuth client), every clinic's grant together; workers sharing the project each "
        "get their share (Google's default is 10,000 a minute).",
    )
    worker_clinics_cached: int = Field(
        32,
        ge=1,
        description="Clinics whose services (policy, Google client) a worker keeps ready at "
        "once; the least recently polled are closed beyond that.",
    )
    worker_clinic_recheck_seconds: float = Field(
        5.0,
        ge=0,
        description="How long a worker trusts a clinic's settings before reading its version "
        "again: a changed policy or setting is in force within this long.",
    )

    smtp_host: str | None = Field(
        None,
        description="SMTP server notifications are e-mailed through; unset: no e-mail is sent "
        "(webhooks still are).",
    )
    smtp_port: int = Field(
        587, ge=1, le=65535, description="Port of the SMTP server (587 STARTTLS, 465 SSL)."
    )
    smtp_username: str | None = Field(
        None, description="User name to sign in to the SMTP server with; unset: no AUTH."
    )
    smtp_password: SecretStr | None = Field(None, description="Password for the SMTP user name.")
    smtp_from: str = Field(
        "clinic-sync@localhost", description="From address of notification e-mails."
    )
    smtp_security: Literal["starttls", "ssl", "none"] = Field(
        "starttls",
        description="How the SMTP connection is protected: starttls (upgrade after "
        "connecting), ssl (TLS from the start) or none (loopback relays and tests only).",
    )
    smtp_timeout_seconds: float = Field(
        30.0, gt=0, description="Timeout of one SMTP conversation, in seconds."
    )
    mail_outbox: Path | None = Field(
        None,
        description="Folder e-mails are written to, one .eml file each, when no SMTP server "
        "is set (clinic-sync demo's mailbox); unset: without SMTP no e-mail is sent.",
    )
    notify_every_seconds: float = Field(
        30.0,
        gt=0,
        description="How often a worker turns new audit records into notifications and "
        "sends the ones due.",
    )
    notify_calendar_failing_minutes: int = Field(
        60,
        ge=1,
        description="Minutes a calendar must fail to sync, without a success, before its "
        "clinic's admins are told (once per failing spell).",
    )
    notify_max_attempts: int = Field(
        6, ge=1, description="Attempts at one notification before it fails for good."
    )
    notify_retry_base_seconds: float = Field(
        30.0,
        gt=0,
        description="Wait before the second attempt at a notification; doubled per attempt "
        "(up to an hour), with random jitter.",
    )
    notify_webhook_timeout_seconds: float = Field(
        10.0, gt=0, description="Timeout of one webhook POST, in seconds."
    )
    notify_allow_http: bool = Field(
        False,
        description="Accept plain http webhook URLs (tests and loopback only; https otherwise).",
    )
    notify_allow_private: bool = Field(
        False,
        description="Accept webhook URLs whose host resolves to a private, loopback or "
        "link-local address (tests and loopback only).",
    )
    google_oauth_base_url: str | None = Field(
        None,
        description="Base URL of the OAuth endpoints the browser's Connect Google signs in at "
        "and grants are refreshed and revoked at; empty means Google's own "
        "(accounts.google.com, oauth2.googleapis.com). The emulator's URL in tests and demos.",
    )

    @model_validator(mode="before")
    @classmethod
    def _blank_is_default(cls, data: object) -> object:
        """A blank value from any source (spaces included, or an argument) is the default."""
        if not isinstance(data, dict):
            return data
        return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}

    @field_validator("database_url")
    @classmethod
    def _usable_database(cls, value: str) -> str:
        """SQLite or PostgreSQL, through a driver that is installed (checked before connecting)."""
        try:
            url = make_url(value)
        except ArgumentError as err:
            raise ValueError("not a database URL (e.g. sqlite:///./clinic-sync.db)") from err
        if url.get_backend_name() not in _DATABASES:
            raise ValueError(
                f"{url.drivername}:// is not supported; use sqlite:///FILE or postgresql://…"
            )
        if url.drivername not in _BUNDLED_DRIVERS:
            _import_driver(url)
        return value

    @field_validator("public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")


def _import_driver(url: URL) -> None:
    try:
        url.get_dialect().import_dbapi()
    except (ImportError, NoSuchModuleError) as err:
        raise ValueError(f"the {url.drivername} driver is not installed") from err


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment (and ``.env``), raising :class:`ConfigError`."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as err:
        problems = "; ".join(
            f"CLINIC_SYNC_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in err.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from err
