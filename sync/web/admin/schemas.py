"""The JSON shapes of ``/api/v1`` (pydantic), documented in the app's OpenAPI schema (SPEC §8).

Records of the store are mapped here, at the edge; nothing else in the app sees these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from rules.model import Rule
from sync.feeds.tokens import feed_url
from sync.store.audit import AuditEvent
from sync.store.conflicts import ConflictState
from sync.store.feeds import FeedToken
from sync.store.health import ClinicOverview
from sync.store.quarantine import QuarantinedEvent
from sync.store.review import BookingSide, ConflictView
from sync.store.sources import CalendarSource
from sync.store.users import User

__all__ = [
    "AuditEventOut",
    "AuditPageOut",
    "BookingOut",
    "CalendarHealthOut",
    "ClinicNames",
    "ClinicOverviewOut",
    "ConflictDetailOut",
    "ConflictOut",
    "ConflictPageOut",
    "ErrorOut",
    "FeedTokenIn",
    "FeedTokenIssuedOut",
    "FeedTokenOut",
    "MeOut",
    "MembershipOut",
    "QuarantinedEventOut",
    "ReviewIn",
    "ReviewOut",
    "RuleOut",
    "audit_out",
    "clinic_names",
    "conflict_detail_out",
    "conflict_out",
    "feed_token_out",
    "health_out",
    "me_out",
    "overview_out",
]

ClinicNames = Mapping[int, tuple[str, str]]
"""Clinic id to (slug, name): how a JSON item says which clinic it belongs to."""


class ErrorOut(BaseModel):
    """Why a request was refused."""

    detail: str


class MembershipOut(BaseModel):
    """A clinic the user is a member of, and their role there."""

    clinic: str = Field(description="The clinic's slug (what ``?clinic=`` takes).")
    clinic_name: str
    role: Literal["admin", "auditor"]


class MeOut(BaseModel):
    """The user a token belongs to: their clinics, and whether they operate the service."""

    email: str
    operator: bool
    clinics: list[MembershipOut]


class ClinicOverviewOut(BaseModel):
    """One clinic as an operator sees it: counts and sync health, no patient data."""

    clinic: str
    clinic_name: str
    calendars: int
    failing_calendars: int = Field(description="Failing now, or asking to be reconnected.")
    quarantined_events: int
    open_conflicts: int = Field(description="Open or flagged.")
    last_sync_at: datetime | None


class BookingOut(BaseModel):
    """One booking of a conflict as last synced; ``summary`` is the calendar's raw text."""

    event_id: str
    calendar: str
    day: date
    start: datetime
    summary: str
    deleted: bool
    html_link: str | None = Field(
        None,
        description="The event in Google Calendar's web UI (Google's htmlLink); null elsewhere.",
    )


class ConflictOut(BaseModel):
    """A conflict in a list."""

    id: str = Field(description="The public id flags and review links carry.")
    clinic: str = Field(description="The clinic's slug.")
    clinic_name: str
    state: ConflictState
    rule: str
    patient_kind: str
    patient: str = Field(description="The patient's key: what the bookings were linked by.")
    patient_name: str = Field(
        description="The patient's name as the bookings' titles write it (the later one's, "
        "else the earlier one's); the key when neither title names them."
    )
    matched_by: str = Field(description="How the two bookings were linked: id, email or name.")
    gap_days: int
    detected_at: datetime
    resolved_at: datetime | None
    resolution_reason: str | None = Field(
        description="Why it stands where it does: the admin's reason while acknowledged or "
        "overridden, why detection resolved it once resolved, else null."
    )
    review_reason: str | None = Field(
        None, description="The reason given at the last acknowledge, override or re-open."
    )
    reviewed_by: str | None = Field(None, description="Who made the last review.")
    reviewed_at: datetime | None = None
    flagged_at: datetime | None
    earlier: BookingOut
    later: BookingOut


class RuleOut(BaseModel):
    """The policy rule a conflict breaks."""

    name: str
    earlier: str
    later: str
    min_days: int
    ideal_days: tuple[int, int]


class AuditEventOut(BaseModel):
    """One entry of the append-only audit trail."""

    id: int
    at: datetime
    actor: str
    action: str
    clinic_id: int
    clinic: str
    clinic_name: str
    conflict_id: int | None
    calendar_source_id: int | None
    detail: dict[str, Any]


class ConflictDetailOut(ConflictOut):
    """A conflict with its rule, the dates the later treatment was eligible and its history."""

    rule_detail: RuleOut | None
    earliest_eligible: date | None
    ideal_window: tuple[date, date] | None
    history: list[AuditEventOut]


class ConflictPageOut(BaseModel):
    """One page of conflicts."""

    items: list[ConflictOut]
    total: int
    page: int
    per_page: int
    pages: int


class AuditPageOut(BaseModel):
    """One page of the audit trail, newest first."""

    items: list[AuditEventOut]
    total: int
    page: int
    per_page: int
    pages: int


class ReviewIn(BaseModel):
    """Why an admin acknowledges, overrides or re-opens (required for an override)."""

    reason: str = Field("", max_length=2000)


class ReviewOut(BaseModel):
    """The conflict after the action, and what happened on the calendar."""

    conflict: ConflictDetailOut
    calendar: str


class QuarantinedEventOut(BaseModel):
    """An event of the calendar that could not be read or stored, and why (SPEC §9)."""

    event_id: str
    reason: str
    first_seen_at: datetime
    last_seen_at: datetime
    attempts: int


class CalendarHealthOut(BaseModel):
    """How the sync of one calendar is going."""

    id: int
    clinic_id: int
    clinic: str
    clinic_name: str
    provider: str
    name: str
    enabled: bool
    last_sync_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    next_poll_at: datetime | None
    consecutive_failures: int
    last_reconciled_at: datetime | None
    """When the calendar was last listed in full and compared with the store."""
    reconcile_corrections: int | None
    """What that reconciliation corrected (normally 0)."""
    quarantined: list[QuarantinedEventOut]


class FeedTokenOut(BaseModel):
    """A feed token, never its secret."""

    id: int
    clinic: str
    clinic_name: str
    scope_kind: str
    scope_value: str
    label: str | None
    created_at: datetime
    revoked_at: datetime | None
    last_fetched_at: datetime | None


class FeedTokenIn(BaseModel):
    """What a new feed opens: a patient key (``id:P-17``), a calendar id, or the clinic."""

    scope: Literal["patient", "calendar", "clinic"]
    clinic: str | None = Field(
        None, max_length=64, description="The clinic's slug; needed by a member of several."
    )
    value: str = Field("", max_length=1000)
    label: str | None = Field(None, max_length=200)


class FeedTokenIssuedOut(BaseModel):
    """A feed token just issued, with its URL: shown this once."""

    token: FeedTokenOut
    url: str


def booking_out(side: BookingSide) -> BookingOut:
    return BookingOut(
        event_id=side.event_id,
        calendar=side.calendar,
        day=side.day,
        start=side.start,
        summary=side.summary,
        deleted=side.deleted,
        html_link=side.html_link,
    )


def conflict_out(view: ConflictView, patient_name: str) -> ConflictOut:
    """``view`` in a list; its patient as :func:`sync.web.admin.wording.patient_name` reads."""
    return ConflictOut(**_conflict_fields(view), patient_name=patient_name)


def conflict_detail_out(
    view: ConflictView, rule: Rule | None, history: list[AuditEvent], patient_name: str
) -> ConflictDetailOut:
    names = {view.clinic_id: (view.clinic, view.clinic_name)}
    eligible = window = None
    if rule is not None:
        eligible = view.earlier.day + timedelta(days=rule.min_days)
        low, high = rule.ideal_days
        window = (view.earlier.day + timedelta(days=low), view.earlier.day + timedelta(days=high))
    return ConflictDetailOut(
        **_conflict_fields(view),
        patient_name=patient_name,
        rule_detail=_rule_out(rule),
        earliest_eligible=eligible,
        ideal_window=window,
        history=[audit_out(event, names) for event in history],
    )


def audit_out(event: AuditEvent, names: ClinicNames) -> AuditEventOut:
    slug, name = names.get(event.clinic_id, ("", ""))
    return AuditEventOut(
        id=event.id,
        at=event.at,
        actor=event.actor,
        action=event.action,
        clinic_id=event.clinic_id,
        clinic=slug,
        clinic_name=name,
        conflict_id=event.conflict_id,
        calendar_source_id=event.calendar_source_id,
        detail=dict(event.detail),
    )


def health_out(
    source: CalendarSource, names: ClinicNames, held: Sequence[QuarantinedEvent] = ()
) -> CalendarHealthOut:
    slug, name = names.get(source.clinic_id, ("", ""))
    return CalendarHealthOut(
        id=source.id,
        clinic_id=source.clinic_id,
        clinic=slug,
        clinic_name=name,
        provider=source.provider.value,
        name=source.display_name,
        enabled=source.enabled,
        last_sync_at=source.last_sync_at,
        last_error=source.last_error,
        last_error_at=source.last_error_at,
        next_poll_at=source.next_poll_at,
        consecutive_failures=source.consecutive_failures,
        last_reconciled_at=source.last_reconciled_at,
        reconcile_corrections=source.reconcile_corrections,
        quarantined=[
            QuarantinedEventOut(
                event_id=event.event_id,
                reason=event.reason,
                first_seen_at=event.first_seen_at,
                last_seen_at=event.last_seen_at,
                attempts=event.attempts,
            )
            for event in held
        ],
    )


def feed_token_out(token: FeedToken, names: ClinicNames) -> FeedTokenOut:
    slug, name = names.get(token.clinic_id, ("", ""))
    return FeedTokenOut(
        id=token.id,
        clinic=slug,
        clinic_name=name,
        scope_kind=token.scope_kind,
        scope_value=token.scope_value,
        label=token.label,
        created_at=token.created_at,
        revoked_at=token.revoked_at,
        last_fetched_at=token.last_fetched_at,
    )


def issued_out(
    token: FeedToken, names: ClinicNames, public_url: str, secret: str
) -> FeedTokenIssuedOut:
    return FeedTokenIssuedOut(token=feed_token_out(token, names), url=feed_url(public_url, secret))


def clinic_names(user: User) -> dict[int, tuple[str, str]]:
    """The slug and name of each of the user's clinics."""
    return {held.clinic_id: (held.slug, held.name) for held in user.memberships}


def me_out(user: User) -> MeOut:
    clinics = [
        MembershipOut(clinic=held.slug, clinic_name=held.name, role=held.role.value)
        for held in user.memberships
    ]
    return MeOut(email=user.email, operator=user.operator, clinics=clinics)


def overview_out(row: ClinicOverview) -> ClinicOverviewOut:
    return ClinicOverviewOut(
        clinic=row.slug,
        clinic_name=row.name,
        calendars=row.calendars,
        failing_calendars=row.failing_calendars,
        quarantined_events=row.quarantined_events,
        open_conflicts=row.open_conflicts,
        last_sync_at=row.last_sync_at,
    )


def _rule_out(rule: Rule | None) -> RuleOut | None:
    if rule is None:
        return None
    return RuleOut(
        name=rule.name,
        earlier=rule.earlier,
        later=rule.later,
        min_days=rule.min_days,
        ideal_days=rule.ideal_days,
    )


def _conflict_fields(view: ConflictView) -> dict[str, Any]:
    return {
        "id": view.public_id,
        "clinic": view.clinic,
        "clinic_name": view.clinic_name,
        "state": view.state,
        "rule": view.rule_name,
        "patient_kind": view.patient_kind,
        "patient": view.patient_value,
        "matched_by": view.match_kind,
        "gap_days": view.gap_days,
        "detected_at": view.detected_at,
        "resolved_at": view.resolved_at,
        "resolution_reason": view.reason,
        "review_reason": view.review_reason,
        "reviewed_by": view.reviewed_by,
        "reviewed_at": view.reviewed_at,
        "flagged_at": view.flagged_at,
        "earlier": booking_out(view.earlier),
        "later": booking_out(view.later),
    }


__all__ += ["booking_out", "issued_out"]
