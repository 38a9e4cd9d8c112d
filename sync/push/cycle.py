"""A worker's poll of a calendar with push: channel first, then the pull, then the next due.

Follows https://developers.google.com/calendar/api/guides/push. Before the pull the
calendar's channel is opened or renewed (:meth:`~sync.push.channels.PushChannels.ensure`),
so any change after the pull's listing is notified. After it, a calendar with a live
channel is next polled at the longer fallback interval. A notification that lands while
the calendar is polled cannot make it due (the poll then writes its next due time over
it), so once the lease is back, a calendar notified since its pull began is made due again
at once: the pull may have listed it before the change.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sync.bootstrap import Services
from sync.push.channels import PushChannels
from sync.usecases.cycle import CalendarCycle
from sync.usecases.stamps import Clock

__all__ = ["PushAwareCycle"]


class _Cycle(Protocol):
    def __call__(
        self, services: Services, source_id: int, *, now: datetime, clock: Clock | None = None
    ) -> CalendarCycle: ...


class PushAwareCycle:
    """Wraps a calendar cycle (:func:`~sync.usecases.cycle.run_calendar_cycle`) with its channel.

    Call :meth:`released` once the worker has given the calendar's lease back, from the
    thread that ran the cycle.
    """

    def __init__(
        self, cycle: _Cycle, channels: PushChannels | Callable[[Services], PushChannels | None]
    ) -> None:
        """``channels`` are one clinic's, or what gives each clinic's services theirs
        (a worker serving every clinic; ``None`` for a clinic without Google)."""
        self.cycle = cycle
        self._channels_of = (
            (lambda _services: channels) if isinstance(channels, PushChannels) else channels
        )
        self._before: dict[tuple[int, int], tuple[PushChannels, int]] = {}
        """Notifications counted as each poll began, by calendar and polling thread: a
        calendar released by one thread may already be polled again on another."""
        self._lock = threading.Lock()

    def __call__(
        self, services: Services, source_id: int, *, now: datetime, clock: Clock | None = None
    ) -> CalendarCycle:
        """Open or renew the calendar's channel, then run the cycle (stamped by ``clock``)."""
        channels = self._channels_of(services)
        if channels is None:
            return self.cycle(services, source_id, now=now, clock=clock)
        watched = channels.ensure(source_id, now)
        before = channels.notifications(source_id)
        with self._lock:
            self._before[source_id, threading.get_ident()] = (channels, before)
        result = self.cycle(services, source_id, now=now, clock=clock)
        if watched and result.pull.ok:
            channels.poll_later(source_id, now)
        return result

    def released(self, source_id: int, now: datetime) -> bool:
        """Make the calendar due again if notified since its pull began; whether it was.

        Checked after the lease is released, not before: the release writes the next due
        time, and a notification landing meanwhile could otherwise be overwritten by it.
        """
        with self._lock:
            began = self._before.pop((source_id, threading.get_ident()), None)
        if began is None:
            return False
        channels, before = began
        return channels.due_again_if_notified(source_id, before, now)
