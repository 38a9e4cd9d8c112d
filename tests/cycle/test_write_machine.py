"""A state machine of staff edits, kills, lost answers and three workers (SPEC §6, §8, §9).

Three workers (each its own Google client) poll one clinic's two calendars, one after the
other or all at once; staff move bookings, recolour them and write notes; a poll may lose
the answer to its next flag write (the emulator applies it, the connection drops) or die
right after a write reached the calendar. A witness inside the emulator records every flag
write that was applied, with the conflicts the event named before and after. Checked:

- the audit trail holds exactly the applied writes — each once, none that did not arrive —
  with the changes each made (written / changed / removed per conflict), and on each event
  in the order they reached it;
- after a quiet pass the calendar converges: a booking carries the flag of exactly the
  conflicts that want one, and staff text and colour are theirs.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from rules.flag import CONFLICT_PROPERTY, FLAG_BEGIN, FlagPatch
from sync.bootstrap import Services
from sync.emulator import EmulatorServer
from sync.sources.google import CalendarClient, GoogleCalendarSource, RetryPolicy
from sync.sources.port import RemoteEvent
from sync.store.audit import list_audit_events
from sync.store.clinics import get_or_create_clinic
from sync.store.conflicts import copies_by_row, list_conflicts
from sync.store.database import session_scope
from sync.store.sources import Provider, add_source
from sync.usecases.cycle import run_calendar_cycle
from sync.usecases.flag_settlement import WRITE_PROPERTY
from tests.cycle.conftest import NOW
from tests.cycle.test_exact_audit import DroppingClient

Json = dict[str, Any]
PATIENTS = 3
WORKERS = 3
FLAG_ACTIONS = {"flag.written", "flag.changed", "flag.removed"}


@dataclass(frozen=True)
class Applied:
    """One flag write the emulator applied."""

    nonce: str
    event: str
    before: frozenset[str]
    after: frozenset[str]


class Witness:
    """Wraps the emulator's API to record each applied flag write, in order."""

    def __init__(self, emulator: EmulatorServer) -> None:
        self.applied: list[Applied] = []
        self._lock = threading.Lock()
        self._api = emulator.account.api
        self._store = emulator.store
        self._handle = self._api.handle
        self._api.handle = self._handle_witnessed  # type: ignore[method-assign]

    def close(self) -> None:
        self._api.handle = self._handle  # type: ignore[method-assign]

    def _handle_witnessed(self, request: Any) -> Any:
        nonce = _nonce(request) if request.method == "PATCH" else None
        if nonce is None:
            return self._handle(request)
        calendar, event = _ids(request.path)
        with self._lock:
            before = _named(self._store.get_event(calendar, event))
            answer = self._handle(request)
            if answer.status == 200:
                after = _named(self._store.get_event(calendar, event))
                self.applied.append(Applied(nonce, event, before, after))
        return answer


def _nonce(request: Any) -> str | None:
    try:
        private = json.loads(request.body)["extendedProperties"]["private"]
    except (ValueError, KeyError, TypeError):
        return None
    return private.get(WRITE_PROPERTY)


def _ids(path: str) -> tuple[str, str]:
    parts = [urllib.parse.unquote(p) for p in path.split("/")]
    at = parts.index("calendars")
    return parts[at + 1], parts[at + 3]


def _named(event: Json) -> frozenset[str]:
    private = (event.get("extendedProperties") or {}).get("private") or {}
    return frozenset(i for i in str(private.get(CONFLICT_PROPERTY) or "").split(",") if i)


class Killed(KeyboardInterrupt):
    """The process died right after a write reached the calendar."""


class _Mortal(GoogleCalendarSource):
    """A worker's Google source that can die after its next write (``doomed``)."""

    doomed = False

    def write_flag(
        self, calendar_id: str, event_id: str, patch: FlagPatch, *, etag: str
    ) -> RemoteEvent:
        written = super().write_flag(calendar_id, event_id, patch, etag=etag)
        if self.doomed:
            self.doomed = False
            raise Killed("killed after the write")
        return written


class WriteMachine(RuleBasedStateMachine):
    """One clinic per example, in the shared emulator and store."""

    def __init__(self, env: Env) -> None:
        super().__init__()
        self.env = env
        self.now = NOW
        env.examples += 1
        slug = f"m{env.examples}"
        service = env.service
        self.calendars = [
            str(service.calendars().insert(body={"summary": n}).execute(num_retries=3)["id"])
            for n in ("Smith", "Room")
        ]
        with session_scope(env.services.engine) as session:
            self.clinic = get_or_create_clinic(session, slug).id
            self.sources = [
                add_source(
                    session, self.clinic, Provider.GOOGLE, c, display_name=c, time_zone="UTC"
                ).id
                for c in self.calendars
            ]
        self.botox: list[str] = []
        self.staff_text: dict[str, str] = {}
        for n in range(PATIENTS):
            who = [{"email": f"{slug}.p{n}@example.com"}]
            self._insert(0, f"Microneedling P{n}", "2030-01-10", who)
            self.botox.append(self._insert(1, f"Botox P{n}", "2030-01-17", who))
        self.workers = [env.worker(i) for i in range(WORKERS)]

    def _insert(self, calendar: int, title: str, day: str, who: list[Json]) -> str:
        body = {
            "summary": title,
            "start": {"dateTime": f"{day}T10:00:00+00:00"},
            "end": {"dateTime": f"{day}T11:00:00+00:00"},
            "attendees": who,
        }
        return str(
            self.env.service.events()
            .insert(calendarId=self.calendars[calendar], body=body)
            .execute(num_retries=3)["id"]
        )

    # staff ----------------------------------------------------------------------------

    @rule(n=st.integers(0, PATIENTS - 1), day=st.sampled_from(["2030-01-15", "2030-01-30"]))
    def staff_moves_botox(self, n: int, day: str) -> None:
        body = {
            "start": {"dateTime": f"{day}T10:00:00+00:00"},
            "end": {"dateTime": f"{day}T11:00:00+00:00"},
        }
        self._patch(n, body)

    @rule(n=st.integers(0, PATIENTS - 1), color=st.sampled_from(["3", "7"]))
    def staff_recolours(self, n: int, color: str) -> None:
        self._patch(n, {"colorId": color})

    @rule(n=st.integers(0, PATIENTS - 1))
    def staff_writes_a_note_above_the_flag(self, n: int) -> None:
        event = self._event(n)
        text = str(event.get("description") or "")
        note = f"Note {len(self.staff_text)}"
        self.staff_text[self.botox[n]] = note
        rest = text[text.index(FLAG_BEGIN) :] if FLAG_BEGIN in text else ""
        self._patch(n, {"description": f"{note}\n\n{rest}" if rest else note})

    def _patch(self, n: int, body: Json) -> None:
        events = self.env.service.events()
        events.patch(calendarId=self.calendars[1], eventId=self.botox[n], body=body).execute(
            num_retries=3
        )

    def _event(self, n: int) -> Json:
        events = self.env.service.events()
        return dict(
            events.get(calendarId=self.calendars[1], eventId=self.botox[n]).execute(num_retries=3)
        )

    # workers --------------------------------------------------------------------------

    @rule(
        worker=st.integers(0, WORKERS - 1),
        calendar=st.integers(0, 1),
        fault=st.sampled_from(["none", "lost answer", "killed"]),
    )
    def a_worker_polls(self, worker: int, calendar: int, fault: str) -> None:
        self.now += timedelta(minutes=1)
        services, client, source = self.workers[worker]
        client.drops[0] = 1 if fault == "lost answer" else 0
        source.doomed = fault == "killed"
        try:
            run_calendar_cycle(services, self.sources[calendar], now=self.now)
        except Killed:
            pass
        finally:
            client.drops[0], source.doomed = 0, False

    @rule(pair=st.permutations(range(WORKERS)))
    def two_workers_poll_both_calendars_at_once(self, pair: list[int]) -> None:
        # one poll per calendar at a time (the leases' promise); both reconcile the clinic
        self.now += timedelta(minutes=1)
        barrier = threading.Barrier(2, timeout=30)

        def poll(worker: int, calendar: int) -> None:
            barrier.wait()
            services, _, _ = self.workers[worker]
            run_calendar_cycle(services, self.sources[calendar], now=self.now)

        with ThreadPoolExecutor(2) as pool:
            for future in [pool.submit(poll, w, c) for c, w in enumerate(pair[:2])]:
                future.result(timeout=120)

    # checks ---------------------------------------------------------------------------

    @invariant()
    def the_trail_so_far_is_applied_writes_once_each_in_order(self) -> None:
        self._check_trail(settled=False)

    def _check_trail(self, *, settled: bool) -> None:
        """The trail against the witness; until ``settled``, a write that arrived may still
        wait to be audited (its answer lost, its writer killed) — but wholly or not at all."""
        applied = [a for a in self.env.witness.applied if a.event in self.botox]
        trail = self._flag_trail()
        by_write: dict[str, list[tuple[str, str]]] = {}
        for event in trail:
            by_write.setdefault(event.detail["write"], []).append(
                (event.action, event.detail["conflict"])
            )
        assert set(by_write) <= {a.nonce for a in applied}, "a write audited that never arrived"
        for write in applied:
            got = sorted(by_write.get(write.nonce, []))
            if got or settled:
                assert got == sorted(_expected(write)), (write, got)
        for event_id in self.botox:
            real = [a.nonce for a in applied if a.event == event_id and _expected(a)]
            seen = list(
                dict.fromkeys(e.detail["write"] for e in trail if e.detail["event"] == event_id)
            )
            assert seen == [n for n in real if n in seen]
        counts = Counter((e.detail["write"], e.action, e.detail["conflict"]) for e in trail)
        assert max(counts.values(), default=1) == 1, "an audit record appears twice"

    def _flag_trail(self) -> list[Any]:
        with session_scope(self.env.services.engine) as session:
            return [e for e in list_audit_events(session, self.clinic) if e.action in FLAG_ACTIONS]

    def teardown(self) -> None:
        for minutes in range(2, 6):  # a quiet pass: every worker, no faults
            for source_id in self.sources:
                services, _, _ = self.workers[0]
                run_calendar_cycle(services, source_id, now=self.now + timedelta(minutes=minutes))
        self._check_trail(settled=True)
        self._converged()

    def _converged(self) -> None:
        with session_scope(self.env.services.engine) as session:
            conflicts = [c for c in list_conflicts(session, self.clinic) if c.state.wants_flag]
            copies = copies_by_row(session, {c.facts.later_row_id for c in conflicts})
        wanted: dict[str, set[str]] = {}
        for c in conflicts:
            event_id = copies[c.facts.later_row_id].event.booking.id
            wanted.setdefault(event_id, set()).add(c.facts.public_id)
        for n, event_id in enumerate(self.botox):
            event = self._event(n)
            assert _named(event) == wanted.get(event_id, set()), event_id
            text = str(event.get("description") or "")
            assert (FLAG_BEGIN in text) == bool(wanted.get(event_id))
            if event_id in self.staff_text:
                assert text.startswith(self.staff_text[event_id])


def _expected(write: Applied) -> list[tuple[str, str]]:
    added, removed = write.after - write.before, write.before - write.after
    changes = [("flag.written", i) for i in added] + [("flag.removed", i) for i in removed]
    if not added and not removed:
        changes += [("flag.changed", i) for i in write.after]
    return changes


class Env:
    """What the machine shares across examples: emulator, store, workers' clients."""

    def __init__(
        self, services: Services, emulator: EmulatorServer, client: CalendarClient, service: Any
    ) -> None:
        self.services = services
        self.emulator = emulator
        self.client = client
        self.service = service
        self.witness = Witness(emulator)
        self.examples = 0
        self._workers: dict[int, tuple[Services, DroppingClient, _Mortal]] = {}

    def worker(self, n: int) -> tuple[Services, DroppingClient, _Mortal]:
        if n not in self._workers:
            client = DroppingClient(self.client)
            retry = RetryPolicy(max_attempts=4, sleep=lambda _s: None, random=lambda: 0.5)
            source = _Mortal(client, retry=retry, now=lambda: NOW)
            self._workers[n] = (replace(self.services, google_source=source), client, source)
        return self._workers[n]

    def close(self) -> None:
        self.witness.close()
        for _, client, _ in self._workers.values():
            client.close()


def test_flag_writes_stay_exact_under_staff_edits_kills_lost_answers_and_three_workers(
    services: Services, emulator: EmulatorServer, client: CalendarClient, service: Any
) -> None:
    env = Env(services, emulator, client, service)
    try:
        run_state_machine_as_test(
            lambda: WriteMachine(env),
            settings=settings(
                max_examples=5,
                stateful_step_count=8,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            ),
        )
    finally:
        env.close()
