"""One notification run: trouble to the trail, the trail to deliveries, due ones sent (SPEC §8).

:func:`run_notifications` is what the worker calls every ``CLINIC_SYNC_NOTIFY_EVERY_SECONDS``
(:func:`schedule_notifications`) and what ``clinic-sync notify run`` calls. Each run is
bounded: at most ``events_per_clinic`` records read per clinic and ``deliveries`` sent, so
a backlog drains over several runs instead of holding one worker thread for long.
Several workers may run it at once: planning is idempotent and sending is leased.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from sync.clinics.profile import load_profile
from sync.config import Settings
from sync.errors import ClinicSyncError
from sync.notify.channel import Channel
from sync.notify.delivery import Backoff, Delivered, deliver_due
from sync.notify.episodes import record_episodes
from sync.notify.mail import EmailChannel, can_send_mail
from sync.notify.metrics import NotificationMetrics
from sync.notify.planning import plan_clinic
from sync.notify.webhooks import WebhookChannel
from sync.secrets import SecretBox
from sync.store.clinics import clinic_by_id
from sync.store.database import session_scope
from sync.store.errors import StoreError
from sync.store.notifications import clinics_behind

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

    from sync.metrics import CycleMetrics

__all__ = ["NotifyRun", "open_channels", "run_notifications", "schedule_notifications"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class NotifyRun:
    """What one run did."""

    episodes: int
    read: int
    planned: int
    delivered: Delivered


def run_notifications(
    engine: Engine,
    settings: Settings,
    now: datetime,
    *,
    channels: Mapping[str, Channel],
    owner: str,
    metrics: NotificationMetrics | None = None,
    events_per_clinic: int = 500,
    deliveries: int = 100,
    clinic_id: int | None = None,
) -> NotifyRun:
    """Record new trouble, plan every clinic's new records, send what is due at ``now``.

    ``clinic_id`` limits all three to one clinic: a worker started for one clinic
    notifies for that clinic only, as it polls only its calendars.
    """
    failing = timedelta(minutes=settings.notify_calendar_failing_minutes)
    with session_scope(engine) as session:
        episodes = record_episodes(session, now=now, failing_after=failing, clinic_id=clinic_id)
    with session_scope(engine) as session:
        behind = clinics_behind(session, clinic_id)
    read = planned = 0
    for behind_id in behind:
        with session_scope(engine) as session:
            profile = load_profile(session, clinic_by_id(session, behind_id))
            step = plan_clinic(
                session,
                profile,
                public_url=settings.public_url,
                email="email" in channels,
                now=now,
                limit=events_per_clinic,
            )
        read, planned = read + step.read, planned + step.planned
    backoff = Backoff(
        base=timedelta(seconds=settings.notify_retry_base_seconds),
        max_attempts=settings.notify_max_attempts,
    )
    delivered = deliver_due(
        engine,
        channels,
        owner=owner,
        now=now,
        backoff=backoff,
        limit=deliveries,
        metrics=metrics,
        clinic_id=clinic_id,
    )
    return NotifyRun(episodes, read, planned, delivered)


@contextmanager
def open_channels(engine: Engine, settings: Settings) -> Iterator[dict[str, Channel]]:
    """The channels the settings allow: e-mail when SMTP or an outbox is, webhooks when a key is."""
    channels: dict[str, Channel] = {}
    if can_send_mail(settings):
        channels["email"] = EmailChannel(settings)
    webhooks = None
    if settings.secret_key is not None:
        box = SecretBox.from_setting(settings.secret_key.get_secret_value())
        webhooks = WebhookChannel(engine, settings, box)
        channels["webhook"] = webhooks
    try:
        yield channels
    finally:
        if webhooks is not None:
            webhooks.close()


def schedule_notifications(
    scheduler: BaseScheduler,
    engine: Engine,
    settings: Settings,
    owner: str,
    cycle_metrics: CycleMetrics | None = None,
    *,
    clinic_id: int | None = None,
) -> None:
    """Add the notification run to a worker's scheduler, every ``notify_every_seconds``.

    One run covers every clinic with new audit records (the clinics the worker serves:
    all of them, or the one ``clinic_id``).
    """
    metrics = NotificationMetrics(cycle_metrics.registry if cycle_metrics else None)

    def run() -> None:
        try:
            with open_channels(engine, settings) as channels:
                run_notifications(
                    engine,
                    settings,
                    datetime.now(UTC),
                    channels=channels,
                    owner=owner,
                    metrics=metrics,
                    clinic_id=clinic_id,
                )
        except (ClinicSyncError, StoreError) as err:
            _log.warning("notifications not sent this time, trying again later: %s", err)

    scheduler.add_job(
        run,
        "interval",
        seconds=settings.notify_every_seconds,
        id="notify",
        next_run_time=datetime.now(UTC),
        max_instances=1,
        coalesce=True,
    )
