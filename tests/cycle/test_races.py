"""A staff edit between read and write is kept; a killed cycle converges (SPEC §6, §9)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from rules.flag import FLAG_BEGIN, FlagPatch
from sync.bootstrap import Services
from sync.emulator import EmulatorServer
from sync.sources.google import GoogleCalendarSource
from sync.sources.port import RemoteEvent
from sync.store.conflicts import ConflictState, list_conflicts
from sync.store.database import session_scope
from sync.usecases.cycle import run_clinic_pass
from tests.cycle.conftest import NOW, PATIENT

Json = dict[str, Any]


class _StaffEditsAfterRead(GoogleCalendarSource):
    """Google, with a staff member editing the event right after the service reads it."""

    def __init__(self, base: GoogleCalendarSource, service: Any, calendar: str) -> None:
        super().__init__(base.client, retry=base.retry, now=base._now)
        self.edits = 0
        self._service_ = service
        self._calendar = calendar

    def get_event(self, calendar_id: str, event_id: str) -> RemoteEvent | None:
        remote = super().get_event(calendar_id, event_id)
        if self.edits == 0:
            self.edits += 1
            body = {"description": "Staff: patient prefers mornings", "location": "Room 2"}
            self._service_.events().patch(
                calendarId=self._calendar, eventId=event_id, body=body
            ).execute()
        return remote


class _KilledAfterWrites(GoogleCalendarSource):
    """Google, with the process dying after ``allowed`` flag writes (0: before any, after the
    pull committed, so the next pull sees no change and only the re-check finds the work)."""

    def __init__(self, base: GoogleCalendarSource, allowed: int) -> None:
        super().__init__(base.client, retry=base.retry, now=base._now)
        self.allowed = allowed

    def write_flag(
        self, calendar_id: str, event_id: str, patch: FlagPatch, *, etag: str
    ) -> RemoteEvent:
        if self.allowed == 0:
            raise KeyboardInterrupt("killed mid-cycle")
        self.allowed -= 1
        return super().write_flag(calendar_id, event_id, patch, etag=etag)


def test_a_staff_edit_between_read_and_write_is_kept(
    services: Services,
    source: GoogleCalendarSource,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    service: Any,
    emulator: EmulatorServer,
) -> None:
    smith, room = calendars
    insert(smith, "Microneedling Jane Doe", "2030-01-10T10:00:00+00:00", attendees=PATIENT)
    botox = insert(room, "Botox Jane Doe", "2030-01-17T10:00:00+00:00", attendees=PATIENT)
    racing = _StaffEditsAfterRead(source, service, room)
    report = run_clinic_pass(replace(services, google_source=racing), now=NOW)
    assert racing.edits == 1
    assert sum(c.flagged for c in report.cycles) == 1
    event = service.events().get(calendarId=room, eventId=botox["id"]).execute()
    assert event["description"].startswith("Staff: patient prefers mornings\n\n" + FLAG_BEGIN)
    assert event["location"] == "Room 2"
    assert event["colorId"] == "11"
    assert emulator.stats()["events.patch"] == 3  # staff's, ours refused with 412, ours again


@pytest.mark.parametrize("writes_before_kill", [0, 1])
def test_a_cycle_killed_between_writes_converges_on_the_next_run(
    writes_before_kill: int,
    services: Services,
    source: GoogleCalendarSource,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    service: Any,
) -> None:
    smith, room = calendars
    patients = ("Jane Doe", "Mary Major", "Ann Lee")
    later = []
    for n, name in enumerate(patients):
        who = [{"email": f"p{n}@example.com"}]
        insert(smith, f"Microneedling {name}", "2030-01-10T10:00:00+00:00", attendees=who)
        later.append(insert(room, f"Botox {name}", "2030-01-15T10:00:00+00:00", attendees=who))
    with pytest.raises(KeyboardInterrupt):
        run_clinic_pass(
            replace(services, google_source=_KilledAfterWrites(source, writes_before_kill)), now=NOW
        )
    for minutes in (1, 2):
        run_clinic_pass(services, now=NOW + timedelta(minutes=minutes))
    with session_scope(services.engine) as session:
        conflicts = list_conflicts(session, 1)
    assert [c.state for c in conflicts] == [ConflictState.FLAGGED] * 3
    for event in later:
        text = service.events().get(calendarId=room, eventId=event["id"]).execute()["description"]
        assert text.count(FLAG_BEGIN) == 1
