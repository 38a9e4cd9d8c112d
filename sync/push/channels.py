"""Keeping one push channel open per Google calendar: open, renew, stop (SPEC §9).

Follows https://developers.google.com/calendar/api/guides/push. A channel is opened (and
renewed) by :meth:`PushChannels.ensure`, which the worker calls while it holds the
calendar's lease, just before pulling it: leases keep two workers from opening two
channels for one calendar, and a change made between the pull and the watch cannot be
missed. Channels cannot be extended, so renewal opens a new channel ``renew_before`` its
expiry and then stops the old one. :meth:`PushChannels.sweep` stops the channels of
calendars that were removed, disabled or moved off Google, and forgets expired ones; a
worker serving every clinic sweeps each clinic that has such channels
(:func:`sync.store.channels.clinics_to_sweep`) with that clinic's own grant.

Channels are left open when a worker stops: they expire by themselves, and stopping them
on every restart would lose the notifications sent while none was open.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import Engine

from sync.errors import ClinicSyncError
from sync.push.options import PushOptions
from sync.sources.google.watch import CalendarWatch
from sync.store.channels import (
    PushChannel,
    add_channel,
    channels_of_source,
    channels_to_stop,
    forget_channel,
    forget_expired,
    notification_count,
    set_next_poll,
)
from sync.store.database import session_scope
from sync.store.errors import RecordNotFound
from sync.store.sources import CalendarSource, Provider, get_source

__all__ = ["PushChannels"]

_log = logging.getLogger(__name__)
_RETRY_OPEN = timedelta(hours=1)
"""After Google refuses a watch (say, an unverified domain), how long before asking again."""


class PushChannels:
    """The push channels of one Google account's calendars, kept in the store."""

    def __init__(self, engine: Engine, watch: CalendarWatch, options: PushOptions) -> None:
        if options.address is None:
            raise ValueError("push channels need a webhook address")
        self.engine = engine
        self.watch = watch
        self.options = options
        self._address = options.address
        self._refused: dict[int, datetime] = {}

    def ensure(self, source_id: int, now: datetime) -> bool:
        """Open or renew the channel of a Google calendar; whether one is live afterwards."""
        source, channels = self._read(source_id)
        if source is None or source.provider is not Provider.GOOGLE or not source.enabled:
            return False
        live = [channel for channel in channels if channel.expires_at > now]
        if not live or live[-1].expires_at <= now + self.options.renew_before:
            opened = self._open(source, now)
            live = [*live, opened] if opened is not None else live
        for old in live[:-1]:
            self._stop(old)
        return bool(live)

    def sweep(self, clinic_id: int, now: datetime) -> int:
        """Stop the clinic's channels no calendar needs, forget expired ones; how many were
        stopped. The channels must be the clinic's: they are stopped as its Google grant."""
        with session_scope(self.engine) as session:
            forget_expired(session, clinic_id, now)
            unwanted = channels_to_stop(session, clinic_id, now)
        return sum(self._stop(channel) for channel in unwanted)

    def notifications(self, source_id: int) -> int:
        """Notifications accepted so far for ``source_id``: compare before and after a poll."""
        with session_scope(self.engine) as session:
            return notification_count(session, source_id)

    def poll_later(self, source_id: int, now: datetime) -> None:
        """Next poll of a watched calendar at the fallback interval (before its release)."""
        with session_scope(self.engine) as session:
            set_next_poll(session, source_id, now + self.options.poll_interval)

    def due_again_if_notified(self, source_id: int, before: int, now: datetime) -> bool:
        """Due ``now`` if notifications went past ``before`` (a poll's start); whether so."""
        with session_scope(self.engine) as session:
            if notification_count(session, source_id) == before:
                return False
            return set_next_poll(session, source_id, now)

    def _read(self, source_id: int) -> tuple[CalendarSource | None, list[PushChannel]]:
        with session_scope(self.engine) as session:
            try:
                return get_source(session, source_id), channels_of_source(session, source_id)
            except RecordNotFound:
                return None, []

    def _open(self, source: CalendarSource, now: datetime) -> PushChannel | None:
        if self._refused.get(source.id, now) > now:
            return None
        token = secrets.token_urlsafe(32)  # 256 bits; Google echoes it in each notification
        try:
            opened = self.watch.watch(
                source.external_id,
                channel_id=str(uuid.uuid4()),
                token=token,
                address=self._address,
                expires_at=now + self.options.ttl,
            )
        except ClinicSyncError as err:
            _log.warning("calendar %d: cannot open a push channel, polling: %s", source.id, err)
            self._refused[source.id] = now + _RETRY_OPEN
            return None
        self._refused.pop(source.id, None)
        channel = PushChannel(
            channel_id=opened.channel_id,
            resource_id=opened.resource_id,
            clinic_id=source.clinic_id,
            source_id=source.id,
            opened_at=now,
            expires_at=opened.expires_at,
            notifications=0,
        )
        with session_scope(self.engine) as session:
            add_channel(session, channel, token)
        _log.info("calendar %d: push channel open until %s", source.id, channel.expires_at)
        return channel

    def _stop(self, channel: PushChannel) -> bool:
        try:
            self.watch.stop(channel.channel_id, channel.resource_id)
        except ClinicSyncError as err:
            _log.warning("push channel of calendar %s not stopped yet: %s", channel.source_id, err)
            return False
        with session_scope(self.engine) as session:
            forget_channel(session, channel.channel_id)
        return True
