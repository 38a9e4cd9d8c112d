"""Turning a clinic's new audit records into deliveries, once (SPEC §8; issue 15).

Per clinic, in one transaction: wait for the trail's writers to commit
(:func:`~sync.store.notifications.hold_trail`), read the records after the cursor, plan a
delivery for each record to tell and each recipient, move the cursor past what was read.
A crash anywhere rolls all of it back; two notifiers planning the same record collide on
the unique (record, recipient) pair and the second adds nothing.

Recipients of a record:

- the clinic's admins (memberships with role ``admin``, account not disabled), each as
  they chose: ``immediate`` (no choice recorded), ``daily`` (a digest at the clinic's
  ``notify_digest_hour``, its local time) or ``off``; e-mail only when SMTP is configured;
- for a conflict, when the clinic's ``notify_practitioners`` is on, the practitioner whose
  calendar holds the booking: the calendar id when it is a person's address (not a
  Google group, resource or import calendar), unless that person is an admin already;
- each of the clinic's enabled webhooks;
- a conflict resolved after it was flagged goes only into the daily digests
  (:data:`~sync.notify.facts.DIGEST_ONLY`): the digest lists what was resolved since the last.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlmodel import Session

from rules.patients import TitleNames
from rules.vocabulary import Matcher
from sync.clinics.profile import ClinicProfile
from sync.notify.facts import DIGEST_ONLY, TOLD_ACTIONS, facts_of
from sync.store.audit import AuditEvent
from sync.store.notifications import (
    DeliveryPlan,
    Member,
    NotifyMode,
    StoredWebhook,
    advance_cursor,
    clinic_admins,
    cursor_of,
    events_after,
    hold_trail,
    list_webhooks,
    plan_deliveries,
)

__all__ = ["Planned", "digest_due", "plan_clinic", "practitioner_address"]

_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True, slots=True)
class Planned:
    """What one planning step did for a clinic."""

    read: int
    planned: int
    cursor: int


@dataclass(frozen=True, slots=True)
class _Audience:
    members: Sequence[Member]
    webhooks: Sequence[StoredWebhook]
    email: bool


def plan_clinic(
    session: Session,
    profile: ClinicProfile,
    *,
    public_url: str,
    email: bool,
    now: datetime,
    limit: int,
) -> Planned:
    """Plan the deliveries of up to ``limit`` of the clinic's records after its cursor."""
    hold_trail(session)
    after = cursor_of(session, profile.id)
    events = events_after(session, profile.id, after, limit)
    if not events:
        return Planned(0, 0, after)
    audience = _Audience(
        clinic_admins(session, profile.id),
        [hook for hook in list_webhooks(session, profile.id) if hook.enabled],
        email,
    )
    plans: list[DeliveryPlan] = []
    titles = _LazyTitles(profile)
    for event in events:
        if event.action in TOLD_ACTIONS:
            facts = facts_of(session, profile, event, titles=titles, public_url=public_url, now=now)
            if facts is not None:
                plans += _plans(profile, event, facts, audience, now)
    planned = plan_deliveries(session, plans, now=now)
    advance_cursor(session, profile.id, events[-1].id, now=now)
    return Planned(len(events), planned, events[-1].id)


class _LazyTitles:
    """A title reader built on first use: most runs read no ``flag.written`` at all."""

    def __init__(self, profile: ClinicProfile) -> None:
        self._profile = profile
        self._built: TitleNames | None = None

    def __call__(self, summary: str) -> tuple[str | None, str | None]:
        if self._built is None:
            self._built = TitleNames(Matcher(self._profile.policy))
        return self._built(summary)


def _plans(
    profile: ClinicProfile,
    event: AuditEvent,
    facts: dict[str, Any],
    audience: _Audience,
    now: datetime,
) -> list[DeliveryPlan]:
    def plan(channel: str, recipient: str, due: datetime, batch: str | None = None) -> DeliveryPlan:
        return DeliveryPlan(profile.id, event.id, channel, recipient, due, facts, batch)

    if facts["kind"] in DIGEST_ONLY:
        return _digest_plans(profile, audience, now, plan) if audience.email else []
    plans = [plan("webhook", f"webhook:{hook.id}", now) for hook in audience.webhooks]
    if not audience.email:
        return plans
    for member in audience.members:
        if member.mode is NotifyMode.IMMEDIATE:
            plans.append(plan("email", member.email, now))
        elif member.mode is NotifyMode.DAILY:
            due = digest_due(profile, now)
            plans.append(plan("email", member.email, due, _digest_key(profile, member, due)))
    practitioner = practitioner_address(str(facts.get("calendar_id", "")))
    admins = {member.email.casefold() for member in audience.members}
    if (
        facts["kind"] == "conflict"
        and profile.settings.notify_practitioners
        and practitioner
        and practitioner.casefold() not in admins
    ):
        plans.append(plan("email", practitioner, now))
    return plans


def _digest_plans(
    profile: ClinicProfile,
    audience: _Audience,
    now: datetime,
    plan: Callable[[str, str, datetime, str | None], DeliveryPlan],
) -> list[DeliveryPlan]:
    """Plans in the next digest of each admin who chose one: what is news for the day."""
    due = digest_due(profile, now)
    return [
        plan("email", member.email, due, _digest_key(profile, member, due))
        for member in audience.members
        if member.mode is NotifyMode.DAILY
    ]


def practitioner_address(calendar_id: str) -> str | None:
    """The person a calendar belongs to, when its id is their address; else ``None``.

    Google names shared calendars ``…@group.calendar.google.com``, rooms
    ``…@resource.calendar.google.com`` and subscriptions ``…@import.calendar.google.com``:
    nobody reads mail there.
    """
    if not _ADDRESS.fullmatch(calendar_id):
        return None
    domain = calendar_id.rpartition("@")[2].casefold()
    if domain == "calendar.google.com" or domain.endswith(".calendar.google.com"):
        return None
    return calendar_id


def digest_due(profile: ClinicProfile, now: datetime) -> datetime:
    """The next digest time after ``now``: ``notify_digest_hour`` on the clinic's clock."""
    local = now.astimezone(profile.zone)
    hour = time(profile.settings.notify_digest_hour)
    due = datetime.combine(local.date(), hour, tzinfo=profile.zone)
    if due <= local:
        due = datetime.combine(local.date() + timedelta(days=1), hour, tzinfo=profile.zone)
    return due


def _digest_key(profile: ClinicProfile, member: Member, due: datetime) -> str:
    day = due.astimezone(profile.zone).date().isoformat()
    who = hashlib.sha256(member.email.casefold().encode()).hexdigest()[:24]
    return f"digest:{profile.id}:{who}:{day}"
