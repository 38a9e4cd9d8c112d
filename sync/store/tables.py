"""The SQLModel tables of clinic-sync, and nothing else (SPEC §4, §5, §8, §9).

Every table has an integer surrogate key plus a unique constraint on its natural key.
Constraint names follow one convention so Alembic (and SQLite's batch mode) can find
them. Enumerations are stored as short strings guarded by CHECK constraints rather
than native enum types, so adding a provider or a state is a one-line migration.
These classes never leave ``sync.store``: repositories map them to plain records.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import registry
from sqlmodel import Column, Field, SQLModel

from sync.store.columns import UtcDateTime, json_document

__all__ = [
    "AuditEventRow",
    "BookingRow",
    "CalendarSourceRow",
    "ClinicPolicyRow",
    "ClinicRow",
    "ConflictRow",
    "FlagWriteRow",
    "PatientRow",
    "StoreModel",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

PROVIDERS = ("google", "caldav", "ics")
EVENT_STATUSES = ("confirmed", "tentative", "cancelled")
MATCH_KINDS = ("id", "email", "name")
CONFLICT_STATES = ("open", "flagged", "acknowledged", "overridden", "resolved")


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name)


def _fk(target: str, ondelete: str = "CASCADE") -> Any:
    return Column(Integer, ForeignKey(target, ondelete=ondelete), nullable=False)


class StoreModel(
    SQLModel, registry=registry(metadata=MetaData(naming_convention=NAMING_CONVENTION))
):
    """Base of the store's tables: its own metadata, apart from any other SQLModel tables."""


FEED_LABELS = ("full", "initials", "initials-tag", "id")


class ClinicRow(StoreModel, table=True):
    """A clinic: the tenant that owns calendars, patients, conflicts and audit records (SPEC §2).

    Its settings live here, not in the process: one service runs any number of clinics.
    ``version`` rises with every change of a setting or of the policy, so a worker that
    keeps a clinic's settings in memory notices a change by comparing one number.
    ``staff_domains`` is the comma-separated, case-folded list.
    """

    __tablename__ = "clinics"
    __table_args__ = (
        UniqueConstraint("slug"),
        _one_of("feed_patient_label", FEED_LABELS, "feed_patient_label"),
    )

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_type=String(64))
    name: str = Field(sa_type=String(200))
    created_at: datetime = Field(sa_type=UtcDateTime)
    time_zone: str = Field(default="UTC", sa_type=String(64))
    staff_domains: str = Field(default="", sa_type=String(2000))
    flag_color: str = Field(default="11", sa_type=String(2))
    patient_id_property: str = Field(default="patient_id", sa_type=String(200))
    feed_patient_label: str = Field(default="initials", sa_type=String(16))
    scan_days_back: int = Field(default=180, sa_type=Integer)
    scan_days_ahead: int = Field(default=365, sa_type=Integer)
    feed_horizon_days: int = Field(default=120, sa_type=Integer)
    dry_run: bool = Field(default=False, sa_type=Boolean)
    version: int = Field(default=1, sa_type=Integer)
    updated_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    notify_practitioners: bool = Field(default=False, sa_type=Boolean)
    notify_digest_hour: int = Field(default=8, sa_type=Integer)
    feed_label_key: str | None = Field(default=None, sa_type=String(64))
    """The secret of the ``initials-tag`` feed label's keyed hash, made on first use."""
    opening_hours: str = Field(default="Mon-Sat 09:00-18:00/30", sa_type=String(100))
    data_version: int = Field(default=0, sa_type=Integer)
    """Rises with every change of the clinic's bookings (:mod:`sync.store.data_version`)."""
    data_changed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class ClinicPolicyRow(StoreModel, table=True):
    """One version of a clinic's policy, kept as the TOML text it was given (SPEC §3).

    The highest version is the one in force; ``text`` is ``None`` for a return to the
    shipped default. Old versions stay, so the audit can say which policy flagged what.
    """

    __tablename__ = "clinic_policies"
    __table_args__ = (UniqueConstraint("clinic_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(sa_column=_fk("clinics.id"))
    version: int = Field(sa_type=Integer)
    text: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(sa_type=UtcDateTime)
    created_by: str | None = Field(default=None, sa_type=String(320))


class CalendarSourceRow(StoreModel, table=True):
    """One calendar the worker polls, with its sync cursor, poll state and row lease."""

    __tablename__ = "calendar_sources"
    __table_args__ = (
        UniqueConstraint("clinic_id", "provider", "external_id"),
        Index(None, "next_poll_at"),
        _one_of("provider", PROVIDERS, "provider"),
    )

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(sa_column=_fk("clinics.id"))
    provider: str = Field(sa_type=String(16))
    external_id: str = Field(sa_type=String(1024))
    display_name: str = Field(sa_type=String(200))
    time_zone: str = Field(sa_type=String(64))
    enabled: bool = Field(sa_type=Boolean)
    sync_token: str | None = Field(default=None, sa_type=Text)
    next_poll_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_sync_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_error: str | None = Field(default=None, sa_type=Text)
    last_error_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    consecutive_failures: int = Field(default=0, sa_type=Integer)
    lease_owner: str | None = Field(default=None, sa_type=String(128))
    lease_expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    lease_token: int = Field(default=0, sa_type=BigInteger)
    """The fencing token: raised by one at every claim, so a stale holder can tell."""
    created_at: datetime = Field(sa_type=UtcDateTime)
    last_full_sync_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    """When the calendar was last listed in full: the clock of periodic reconciliation."""
    last_reconciled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    reconcile_corrections: int | None = Field(default=None, sa_type=Integer)
    """What the last reconciliation corrected (bookings inserted, updated or deleted)."""


class BookingRow(StoreModel, table=True):
    """The mirror of one provider event (one instance of a recurring one) and what we read in it."""

    __tablename__ = "bookings"
    __table_args__ = (
        UniqueConstraint("source_id", "provider_event_id"),
        Index(None, "clinic_id", "day"),
        Index(None, "clinic_id", "patient_kind", "patient_value"),
        # A clinic's live bookings in id order, page by page (the full re-assessment's
        # stream), without scanning and sorting every remaining row for each page.
        Index(None, "clinic_id", "deleted_at", "id"),
        # The instances of a removed series, found without reading the calendar's bookings.
        Index(None, "source_id", "recurring_event_id"),
        _one_of("status", EVENT_STATUSES, "status"),
        _one_of("patient_kind", MATCH_KINDS, "patient_kind"),
        _one_of("match_kind", MATCH_KINDS, "match_kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(sa_column=_fk("clinics.id"))
    source_id: int = Field(sa_column=_fk("calendar_sources.id"))
    provider_event_id: str = Field(sa_type=String(1024))
    ical_uid: str = Field(sa_type=String(1024))
    recurring_event_id: str | None = Field(default=None, sa_type=String(1024))
    etag: str | None = Field(default=None, sa_type=String(256))
    calendar: str = Field(sa_type=String(1024))
    calendar_email: str = Field(sa_type=String(320))
    organizer_email: str = Field(sa_type=String(320))
    start_at: datetime = Field(sa_type=UtcDateTime)
    end_at: datetime = Field(sa_type=UtcDateTime)
    day: date = Field(sa_type=Date)
    all_day: bool = Field(sa_type=Boolean)
    status: str = Field(sa_type=String(16))
    summary: str = Field(sa_type=Text)
    description: str = Field(sa_type=Text)
    attendees: list[dict[str, Any]] = Field(sa_type=json_document())
    private_properties: dict[str, str] = Field(sa_type=json_document())
    categories: list[str] = Field(sa_type=json_document())
    explicit_patient_id: str | None = Field(default=None, sa_type=String(256))
    patient_kind: str | None = Field(default=None, sa_type=String(8))
    patient_value: str | None = Field(default=None, sa_type=String(512))
    match_kind: str | None = Field(default=None, sa_type=String(8))
    content_hash: str = Field(sa_type=String(64))
    revision: int = Field(sa_type=Integer)
    provider_updated_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    first_seen_at: datetime = Field(sa_type=UtcDateTime)
    last_seen_at: datetime = Field(sa_type=UtcDateTime)
    changed_at: datetime = Field(sa_type=UtcDateTime)
    deleted_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    cut_fields: list[str] = Field(default_factory=list, sa_type=json_document())
    """Fields cut to fit their column at the ingest boundary (:mod:`sync.ingest.text`)."""
    html_link: str | None = Field(default=None, sa_type=String(2048))
    """Google's ``htmlLink``: the event in Google Calendar's web UI (other providers: none)."""


class PatientRow(StoreModel, table=True):
    """A patient of a clinic, known by the strongest key seen (SPEC §4)."""

    __tablename__ = "patients"
    __table_args__ = (
        UniqueConstraint("clinic_id", "key_kind", "key_value"),
        _one_of("key_kind", MATCH_KINDS, "key_kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(sa_column=_fk("clinics.id"))
    key_kind: str = Field(sa_type=String(8))
    key_value: str = Field(sa_type=String(512))
    display_name: str | None = Field(default=None, sa_type=String(200))
    created_at: datetime = Field(sa_type=UtcDateTime)


class ConflictRow(StoreModel, table=True):
    """A detected pair of bookings breaking a rule; found once per (rule, earlier, later)."""

    __tablename__ = "conflicts"
    __table_args__ = (
        UniqueConstraint(
            "clinic_id",
            "rule_name",
            "earlier_booking_id",
            "later_booking_id",
            name="uq_conflicts_rule_pair",
        ),
        UniqueConstraint("clinic_id", "public_id"),
        Index(None, "clinic_id", "state"),
        Index(None, "earlier_booking_id"),
        Index(None, "later_booking_id"),
        _one_of("state", CONFLICT_STATES, "state"),
        _one_of("match_kind", MATCH_KINDS, "match_kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(sa_column=_fk("clinics.id"))
    rule_name: str = Field(sa_type=String(128))
    earlier_booking_id: int = Field(sa_column=_fk("bookings.id"))
    later_booking_id: int = Field(sa_column=_fk("bookings.id"))
    state: str = Field(sa_type=String(16))
    patient_kind: str = Field(sa_type=String(8))
    patient_value: str = Field(sa_type=String(512))
    match_kind: str = Field(sa_type=String(8))
    gap_days: int = Field(sa_type=Integer)
    detected_at: datetime = Field(sa_type=UtcDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    resolution_reason: str | None = Field(default=None, sa_type=Text)
    public_id: str | None = Field(default=None, sa_type=String(32))
    """``rules.flag.conflict_id``: what flags, review links and the audit trail name it by."""
    flagged_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    """When its flag was last seen written on the later booking."""
    review_reason: str | None = Field(default=None, sa_type=Text)
    """Why an admin last acknowledged, overrode or re-opened it (SPEC §8)."""
    reviewed_by: str | None = Field(default=None, sa_type=String(200))
    reviewed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class AuditEventRow(StoreModel, table=True):
    """One entry of the append-only audit trail (SPEC §8).

    ``conflict_id`` and ``calendar_source_id`` carry no foreign key on purpose: the trail
    must outlive the rows it mentions and is never rewritten by a cascade.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index(None, "clinic_id", "at"),
        Index(None, "conflict_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UtcDateTime)
    actor: str = Field(sa_type=String(200))
    action: str = Field(sa_type=String(64))
    clinic_id: int = Field(sa_column=_fk("clinics.id", ondelete="RESTRICT"))
    conflict_id: int | None = Field(default=None, sa_type=Integer)
    calendar_source_id: int | None = Field(default=None, sa_type=Integer)
    detail: dict[str, Any] = Field(sa_type=json_document())


FEED_SCOPES = ("patient", "calendar", "clinic")


class FeedTokenRow(StoreModel, table=True):
    """A feed URL's secret, kept only as its SHA-256 hash, and what it opens (SPEC §7).

    ``scope_value`` is the patient key (``kind:value``), the calendar source id, or empty
    for the whole clinic. A rotated token points at the one it replaced.
    """

    __tablename__ = "feed_tokens"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        Index(None, "clinic_id", "created_at"),
        _one_of("scope_kind", FEED_SCOPES, "scope_kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(sa_column=_fk("clinics.id"))
    token_hash: str = Field(sa_type=String(64))
    scope_kind: str = Field(sa_type=String(16))
    scope_value: str = Field(sa_type=String(1024))
    label: str | None = Field(default=None, sa_type=String(200))
    created_at: datetime = Field(sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_fetched_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    rotated_from_id: int | None = Field(default=None, sa_type=Integer)


class FeedFetchRow(StoreModel, table=True):
    """One request for a feed: when, which token (none when unknown) and the HTTP status.

    ``token_id`` carries no foreign key on purpose, like the audit trail: the log outlives
    the tokens it mentions. The presented token itself is never stored.
    """

    __tablename__ = "feed_fetches"
    __table_args__ = (
        Index(None, "at"),
        Index(None, "token_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UtcDateTime)
    token_id: int | None = Field(default=None, sa_type=Integer)
    status: int = Field(sa_type=Integer)


class FeedEventRow(StoreModel, table=True):
    """The last published content hash and SEQUENCE of one feed event UID (RFC 5545 §3.8.7.4)."""

    __tablename__ = "feed_event_sequences"
    __table_args__ = (UniqueConstraint("clinic_id", "uid"),)

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(sa_column=_fk("clinics.id"))
    uid: str = Field(sa_type=String(255))
    content_hash: str = Field(sa_type=String(64))
    sequence: int = Field(sa_type=Integer)
    changed_at: datetime = Field(sa_type=UtcDateTime)


__all__ += ["FeedEventRow", "FeedFetchRow", "FeedTokenRow"]


CREDENTIAL_KINDS = ("oauth", "service_account", "password")
CREDENTIAL_STATES = ("active", "reconnect_required")


class CredentialRow(StoreModel, table=True):
    """How a clinic signs in to one provider, the secret encrypted (SPEC §9).

    ``secret`` is a Fernet token (:mod:`sync.secrets`), never plain text. ``state`` turns
    ``reconnect_required`` when the provider refuses the grant, with the reason, until
    the clinic connects again. One account per provider and clinic.
    """

    __tablename__ = "credentials"
    __table_args__ = (
        UniqueConstraint("clinic_id", "provider"),
        _one_of("provider", PROVIDERS, "provider"),
        _one_of("kind", CREDENTIAL_KINDS, "kind"),
        _one_of("state", CREDENTIAL_STATES, "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(sa_column=_fk("clinics.id"))
    provider: str = Field(sa_type=String(16))
    kind: str = Field(sa_type=String(16))
    account: str = Field(sa_type=String(320))
    endpoint: str | None = Field(default=None, sa_type=String(1024))
    secret: str = Field(sa_type=Text)
    state: str = Field(sa_type=String(24))
    state_reason: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)
    state_changed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


__all__ += ["CredentialRow"]


USER_ROLES = ("admin", "auditor")


class UserRow(StoreModel, table=True):
    """A person who signs in to the admin UI and API (SPEC §8); e-mail kept case-folded.

    ``password_hash`` is an argon2id hash (``sync.accounts.passwords``); a disabled user
    keeps its row, so the audit trail's actor still names someone. What a user may do is
    in their memberships (one role per clinic), not here; ``operator`` runs the service.
    """

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("email"),)

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_type=String(320))
    password_hash: str = Field(sa_type=String(256))
    created_at: datetime = Field(sa_type=UtcDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    password_changed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    operator: bool = Field(default=False, sa_type=Boolean)
    name: str | None = Field(default=None, sa_type=String(200))


class MembershipRow(StoreModel, table=True):
    """A user's place in one clinic: the role they hold there (SPEC §8).

    What a user may see is the clinics they are a member of; an operator without a
    membership runs the service but sees no clinic's patients.
    """

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("user_id", "clinic_id"),
        Index(None, "clinic_id"),
        _one_of("role", USER_ROLES, "role"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=_fk("users.id"))
    clinic_id: int = Field(sa_column=_fk("clinics.id"))
    role: str = Field(sa_type=String(16))
    created_at: datetime = Field(sa_type=UtcDateTime)


class ApiTokenRow(StoreModel, table=True):
    """A personal API token, kept only as its SHA-256 hash (shown once when issued)."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("token_hash"), Index(None, "user_id"))

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=_fk("users.id"))
    token_hash: str = Field(sa_type=String(64))
    label: str | None = Field(default=None, sa_type=String(200))
    created_at: datetime = Field(sa_type=UtcDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class WebSessionRow(StoreModel, table=True):
    """A signed-in browser: the cookie's hash, its CSRF token and when it expires.

    ``clinic_id`` is the clinic the browser is looking at (the header's switcher); it
    is only a preference: every request checks the user is still a member of it.
    """

    __tablename__ = "web_sessions"
    __table_args__ = (UniqueConstraint("token_hash"), Index(None, "expires_at"))

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=_fk("users.id"))
    clinic_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("clinics.id", ondelete="SET NULL"), nullable=True),
    )
    token_hash: str = Field(sa_type=String(64))
    csrf_token: str = Field(sa_type=String(64))
    created_at: datetime = Field(sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)


class LoginAttemptRow(StoreModel, table=True):
    """One sign-in attempt (never its password), for rate limiting by account and address."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index(None, "email", "at"), Index(None, "client", "at"))

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UtcDateTime)
    email: str = Field(sa_type=String(320))
    client: str = Field(sa_type=String(64))
    succeeded: bool = Field(sa_type=Boolean)


__all__ += ["ApiTokenRow", "LoginAttemptRow", "MembershipRow", "UserRow", "WebSessionRow"]


class InviteRow(StoreModel, table=True):
    """An invitation to join a clinic with a role: a one-time link, kept as its hash.

    Live while neither ``accepted_at`` nor ``revoked_at`` is set and before ``expires_at``;
    a resend replaces ``token_hash`` and ``expires_at``, so the older link stops working.
    """

    __tablename__ = "invites"
    __table_args__ = (UniqueConstraint("token_hash"), Index(None, "clinic_id", "email"))

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(sa_column=_fk("clinics.id"))
    email: str = Field(sa_type=String(320))
    role: str = Field(sa_type=String(16))
    token_hash: str = Field(sa_type=String(64))
    invited_by: str = Field(sa_type=String(320))
    created_at: datetime = Field(sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    accepted_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class PasswordResetRow(StoreModel, table=True):
    """A password-reset link sent to a user: its hash, when it expires, when it was used."""

    __tablename__ = "password_resets"
    __table_args__ = (UniqueConstraint("token_hash"), Index(None, "user_id"))

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=_fk("users.id"))
    token_hash: str = Field(sa_type=String(64))
    created_at: datetime = Field(sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


__all__ += ["InviteRow", "PasswordResetRow"]


IDENTITY_KEY_KINDS = MATCH_KINDS


class BookingIdentityKeyRow(StoreModel, table=True):
    """One key that can tie a booking to a patient (SPEC §4): its id, an e-mail, its name.

    A booking holds one row per key it carries, all of them, not only the strongest one
    ``bookings.patient_value`` keeps: detection finds the bookings a change can reach by
    following shared keys (:mod:`sync.usecases.affected`). ``value`` is the compared form (e-mails
    case-folded, names as :func:`rules.patients.name_key` gives them).
    """

    __tablename__ = "booking_identity_keys"
    __table_args__ = (
        UniqueConstraint("booking_id", "kind", "value"),
        # A name's carriers a page at a time in row order, one range: no sort of them all.
        Index(None, "clinic_id", "kind", "value", "booking_id"),
        _one_of("kind", IDENTITY_KEY_KINDS, "kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(sa_column=_fk("clinics.id"))
    booking_id: int = Field(sa_column=_fk("bookings.id"))
    kind: str = Field(sa_type=String(8))
    value: str = Field(sa_type=String(512))


__all__ += ["BookingIdentityKeyRow"]


class PushChannelRow(StoreModel, table=True):
    """A Google events.watch channel open on one calendar (SPEC §9, push notifications).

    Only a SHA-256 of the channel's token is kept: the token is sent once, when the channel
    opens, and each notification is checked against the hash. ``source_id`` turns NULL when
    the calendar is removed, so the channel can still be stopped (Google needs its id and
    ``resource_id``). ``notifications`` counts accepted messages: a poll that sees it change
    while it ran knows a change may have come in too late for its pull.
    """

    __tablename__ = "push_channels"
    __table_args__ = (UniqueConstraint("channel_id"), Index(None, "source_id"))

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(sa_column=_fk("clinics.id"))
    source_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("calendar_sources.id", ondelete="SET NULL"), nullable=True
        ),
    )
    channel_id: str = Field(sa_type=String(64))
    resource_id: str = Field(sa_type=String(255))
    token_hash: str = Field(sa_type=String(64))
    opened_at: datetime = Field(sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    notifications: int = Field(default=0, sa_type=Integer)
    last_message_number: int | None = Field(default=None, sa_type=BigInteger)
    last_notified_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


__all__ += ["PushChannelRow"]


class QuarantinedEventRow(StoreModel, table=True):
    """A provider event that could not be read or stored, and why (SPEC §9, issue 11).

    ``event_key`` is a SHA-256 of the provider's id as received, so an id too long or too
    odd for a column still has one row; ``provider_event_id`` is that id made printable.
    The row goes when the event is read and stored, deleted, or no longer listed.
    """

    __tablename__ = "quarantined_events"
    __table_args__ = (UniqueConstraint("source_id", "event_key"), Index(None, "clinic_id"))

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(sa_column=_fk("clinics.id"))
    source_id: int = Field(sa_column=_fk("calendar_sources.id"))
    event_key: str = Field(sa_type=String(64))
    provider_event_id: str = Field(sa_type=Text)
    reason: str = Field(sa_type=Text)
    first_seen_at: datetime = Field(sa_type=UtcDateTime)
    last_seen_at: datetime = Field(sa_type=UtcDateTime)
    attempts: int = Field(default=1, sa_type=Integer)


__all__ += ["QuarantinedEventRow"]


class FlagWriteRow(StoreModel, table=True):
    """One flag write: recorded before it is sent, settled once its effect is known (SPEC §6).

    ``nonce`` is also written into the event (a private property), and ``seen_nonce`` is
    the one the event carried when the write was decided: a write is known to have
    reached the calendar when the event shows its nonce, or when a later write saw it
    there. ``settled_at`` is set once, by whoever settles first; the audit records of the
    write are added in that same transaction. ``fence_*`` name the lease it was made under.
    """

    __tablename__ = "flag_writes"
    __table_args__ = (
        UniqueConstraint("nonce"),
        Index(None, "clinic_id", "settled_at"),
        Index(None, "seen_nonce"),
    )

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(sa_column=_fk("clinics.id"))
    source_id: int = Field(sa_type=Integer)
    event_id: str = Field(sa_type=String(1024))
    nonce: str = Field(sa_type=String(32))
    seen_nonce: str | None = Field(default=None, sa_type=String(32))
    before: str = Field(sa_type=Text)
    """The public ids of the conflicts the event's flag named when the write was decided."""
    after: str = Field(sa_type=Text)
    """The public ids it names once written (empty: the flag comes off)."""
    block: str = Field(sa_type=String(16))
    """A digest of the block written, empty when removing."""
    detail: dict[str, Any] = Field(sa_type=json_document())
    """Where the event is (calendar name, day) and the warnings the write carries."""
    fence_source_id: int | None = Field(default=None, sa_type=Integer)
    fence_token: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(sa_type=UtcDateTime)
    settled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    outcome: str | None = Field(default=None, sa_type=String(16))


NOTIFY_MODES = ("immediate", "daily", "off")
WEBHOOK_FORMATS = ("json", "slack")
DELIVERY_CHANNELS = ("email", "webhook")
DELIVERY_STATES = ("pending", "sent", "failed")


class NotificationPreferenceRow(StoreModel, table=True):
    """How one member of a clinic wants its notifications: at once, a daily digest, or not.

    No row is the default: ``immediate`` (SPEC §8; issue 15).
    """

    __tablename__ = "notification_preferences"
    __table_args__ = (
        UniqueConstraint("user_id", "clinic_id"),
        Index(None, "clinic_id"),
        _one_of("mode", NOTIFY_MODES, "mode"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=_fk("users.id"))
    clinic_id: int = Field(sa_column=_fk("clinics.id"))
    mode: str = Field(sa_type=String(16))
    updated_at: datetime = Field(sa_type=UtcDateTime)


class NotificationWebhookRow(StoreModel, table=True):
    """An outgoing webhook of a clinic; ``secret`` is a Fernet token (:mod:`sync.secrets`)."""

    __tablename__ = "notification_webhooks"
    __table_args__ = (
        Index(None, "clinic_id"),
        _one_of("format", WEBHOOK_FORMATS, "format"),
    )

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(sa_column=_fk("clinics.id"))
    url: str = Field(sa_type=Text)
    secret: str = Field(sa_type=Text)
    format: str = Field(sa_type=String(16))
    enabled: bool = Field(sa_type=Boolean)
    created_at: datetime = Field(sa_type=UtcDateTime)


class NotificationCursorRow(StoreModel, table=True):
    """The last audit record of a clinic that the notifier has turned into deliveries."""

    __tablename__ = "notification_cursors"
    __table_args__ = (UniqueConstraint("clinic_id"),)

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(sa_column=_fk("clinics.id"))
    last_event_id: int = Field(sa_type=Integer)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class NotificationEpisodeRow(StoreModel, table=True):
    """One spell of trouble told once: a calendar failing to sync, a grant to reconnect.

    ``key`` names the spell (the calendar and its last success, the credential and when it
    turned), so a second notifier, or the next run, finds it told already.
    """

    __tablename__ = "notification_episodes"
    __table_args__ = (UniqueConstraint("clinic_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(sa_column=_fk("clinics.id"))
    key: str = Field(sa_type=String(255))
    started_at: datetime = Field(sa_type=UtcDateTime)
    audit_event_id: int = Field(sa_type=Integer)


class NotificationDeliveryRow(StoreModel, table=True):
    """One audit record to tell one recipient, until it is sent or fails for good.

    Unique on (record, recipient): planning it twice (a crash before the cursor moved, two
    notifiers) cannot double it. ``batch_key`` groups a daily digest's items (one message);
    a delivery without one is a message of its own. ``facts`` is what the message says,
    fixed when planned, so a retry sends the same text under the same identity.
    ``audit_event_id`` carries no foreign key, like the trail's own references.
    """

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("audit_event_id", "recipient"),
        Index(None, "state", "due_at"),
        Index(None, "batch_key"),
        _one_of("channel", DELIVERY_CHANNELS, "channel"),
        _one_of("state", DELIVERY_STATES, "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(sa_column=_fk("clinics.id"))
    audit_event_id: int = Field(sa_type=Integer)
    channel: str = Field(sa_type=String(16))
    recipient: str = Field(sa_type=String(400))
    """An e-mail address, or ``webhook:<id>``."""
    batch_key: str | None = Field(default=None, sa_type=String(450))
    facts: dict[str, Any] = Field(sa_type=json_document())
    state: str = Field(default="pending", sa_type=String(16))
    attempts: int = Field(default=0, sa_type=Integer)
    due_at: datetime = Field(sa_type=UtcDateTime)
    lease_owner: str | None = Field(default=None, sa_type=String(128))
    lease_expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(sa_type=UtcDateTime)
    settled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


__all__ += [
    "NotificationCursorRow",
    "NotificationDeliveryRow",
    "NotificationEpisodeRow",
    "NotificationPreferenceRow",
    "NotificationWebhookRow",
]


class GoogleSignInRow(StoreModel, table=True):
    """A Connect Google started in one browser session, waiting for Google's callback.

    One per web session, gone with it; ``clinic_id`` is the clinic the grant is for,
    ``state`` and ``code_verifier`` bind the callback to this sign-in (RFC 6749 §10.12,
    RFC 7636). Taken (deleted) by the callback, so a replayed callback finds nothing.
    """

    __tablename__ = "google_sign_ins"
    __table_args__ = (UniqueConstraint("web_session_id"),)

    id: int | None = Field(default=None, primary_key=True)
    web_session_id: int = Field(sa_column=_fk("web_sessions.id"))
    clinic_id: int = Field(sa_column=_fk("clinics.id"))
    state: str = Field(sa_type=String(128))
    code_verifier: str = Field(sa_type=String(128))
    redirect_uri: str = Field(sa_type=String(1024))
    started_at: datetime = Field(sa_type=UtcDateTime)


__all__ += ["GoogleSignInRow"]


class TitleReadingRow(StoreModel, table=True):
    """What one title of a clinic's bookings says, as one version of the reader read it.

    Reading a title (:class:`rules.titles.TitleReader`) depends on nothing but the title,
    the policy and the reader's code; ``reader`` names those two
    (:func:`sync.store.title_readings.reading_version`), so a new process re-checking the
    clinic takes the readings instead of reading every distinct title again. Keyed by the
    title's SHA-256 digest (``title_digest``): a title may be longer than an index entry.
    Kept for the titles the clinic's live bookings carry; a full re-check deletes the rest.
    """

    __tablename__ = "title_readings"
    __table_args__ = (UniqueConstraint("clinic_id", "reader", "title_digest"),)

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(sa_column=_fk("clinics.id"))
    reader: str = Field(sa_type=String(64))
    title_digest: str = Field(sa_type=String(64))
    categories: list[str] = Field(sa_type=json_document())
    name: str | None = Field(default=None, sa_type=Text)
    name_key: str | None = Field(default=None, sa_type=Text)


__all__ += ["TitleReadingRow"]
