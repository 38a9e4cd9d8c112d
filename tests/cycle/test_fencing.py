"""A worker paused past its lease writes and records nothing after losing it (SPEC §9).

The poll runs under a lease whose clock the test moves: the source "pauses" the worker
(the clock jumps past the lease) at a chosen step, and a second worker claims the
calendar meanwhile, with the next fencing token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from sync.bootstrap import Services
from sync.emulator import EmulatorServer
from sync.sources.google import GoogleCalendarSource
from sync.sources.port import ChangeSet, RemoteEvent
from sync.store.database import session_scope
from sync.store.flag_writes import open_writes
from sync.store.sources import get_source
from sync.usecases.cycle import run_calendar_cycle
from sync.worker.leases import WRITE_STAGE, LeaseLost, claim_due, holding
from tests.cycle.conftest import NOW, PATIENT

Json = dict[str, Any]
TTL = timedelta(seconds=4)


class _Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


class _PausingSource(GoogleCalendarSource):
    """Google, with the worker pausing 8 s (twice its lease) at ``step``, and worker B
    claiming the calendar in the meantime."""

    def __init__(self, base: GoogleCalendarSource, step: str, pause: Callable[[], None]) -> None:
        super().__init__(base.client, retry=base.retry, now=base._now)
        self.step = step
        self.pause = pause

    def pull(self, calendar_id: str, cursor: str | None) -> ChangeSet:
        changes = super().pull(calendar_id, cursor)
        if self.step == "pull":
            self.pause()
        return changes

    def get_event(self, calendar_id: str, event_id: str) -> RemoteEvent | None:
        remote = super().get_event(calendar_id, event_id)
        if self.step == "write":
            self.pause()
        return remote


@pytest.mark.parametrize(("step", "stage"), [("pull", "committing a pull"), ("write", WRITE_STAGE)])
def test_a_worker_paused_past_its_lease_is_fenced(
    step: str,
    stage: str,
    services: Services,
    source: GoogleCalendarSource,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    emulator: EmulatorServer,
) -> None:
    smith, room = calendars
    insert(smith, "Microneedling Jane Doe", "2030-01-10T10:00:00+00:00", attendees=PATIENT)
    insert(room, "Botox Jane Doe", "2030-01-17T10:00:00+00:00", attendees=PATIENT)
    clock = _Clock()
    engine = services.engine
    run_calendar_cycle(services, 1, now=NOW)  # Dr Smith's calendar, pulled before
    [lease] = claim_due(engine, "worker-a", now=NOW, ttl=TTL, limit=1, clock=clock)
    assert lease.source_id == 2  # Room 2, where the Botox booking is
    taken: list[int] = []

    def pause() -> None:
        clock.now = NOW + 2 * TTL
        # B's clock: past the lease, and past the due time A's pull may have recorded
        later = NOW + timedelta(minutes=2)
        claims = claim_due(engine, "worker-b", now=later, ttl=TTL, limit=2)
        taken.extend(b.token for b in claims if b.source_id == lease.source_id)

    paused = replace(services, google_source=_PausingSource(source, step, pause))
    with holding(lease), pytest.raises(LeaseLost) as lost:
        run_calendar_cycle(paused, lease.source_id, now=NOW)
    assert lost.value.stage == stage
    assert taken == [lease.token + 1]
    assert emulator.stats().get("events.patch", 0) == 0  # nothing written by the stale worker
    with session_scope(engine) as session:
        orphans = open_writes(session, 1, lease.source_id, now=clock.now, unfenced_after=clock.now)
        assert orphans == []
        if step == "pull":
            assert get_source(session, lease.source_id).last_sync_at is None  # not committed
