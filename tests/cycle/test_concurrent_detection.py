"""Two workers detecting over one clinic at once store and audit each change once (SPEC §8, §9).

Each worker runs in a thread with a session of its own; a barrier holds both between
reading and writing, so both decide from the same state and then race to store it.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine

from sync.store.audit import list_audit_events
from sync.store.conflicts import list_conflicts
from sync.store.database import session_scope
from sync.usecases.detect import Changes, Reconciled, load_detection, reconcile
from tests.cycle.test_incremental import booking
from tests.cycle.twins import NOW, Twins

WORKERS = 2


def _race(twins: Twins, changes: Changes | None) -> list[Reconciled]:
    clinic = twins.incremental
    barrier = threading.Barrier(WORKERS, timeout=10)

    def worker() -> Reconciled:
        with session_scope(twins.engine) as session:
            detection, stored = load_detection(
                session, clinic.id, twins.policy, twins.reader, twins.scope, changes=changes
            )
            barrier.wait()
            return reconcile(
                session,
                clinic.id,
                detection,
                stored,
                policy=twins.policy,
                reader=twins.reader,
                now=NOW,
            )

    with ThreadPoolExecutor(WORKERS) as pool:
        futures = [pool.submit(worker) for _ in range(WORKERS)]
        return [future.result(timeout=30) for future in futures]


def _actions(twins: Twins) -> list[str]:
    with session_scope(twins.engine) as session:
        return [event.action for event in list_audit_events(session, twins.incremental.id)]


def test_a_conflict_found_by_two_workers_at_once_is_stored_and_audited_once(
    engine: Engine,
) -> None:
    twins = Twins(engine)
    twins.put(booking("mn", "Microneedling Jane Doe", 10, emails=("jane@example.com",)))
    twins.put(booking("tox", "Botox Jane Doe", 17, calendar="room", emails=("jane@example.com",)))
    reports = _race(twins, Changes(("mn", "tox")))
    assert sorted(report.opened for report in reports) == [0, 1]
    with session_scope(engine) as session:
        [stored] = list_conflicts(session, twins.incremental.id)
    assert all(row.id == stored.id for report in reports for row, _ in report.active)
    assert _actions(twins) == ["conflict.detected"]


def test_a_conflict_resolved_by_two_workers_at_once_is_resolved_and_audited_once(
    engine: Engine,
) -> None:
    twins = Twins(engine)
    twins.put(booking("mn", "Microneedling Jane Doe", 10, emails=("jane@example.com",)))
    twins.put(booking("tox", "Botox Jane Doe", 17, calendar="room", emails=("jane@example.com",)))
    _race(twins, None)
    twins.delete("room", "tox")
    reports = _race(twins, Changes(("tox",)))
    assert sorted(report.resolved for report in reports) == [0, 1]
    assert _actions(twins) == ["conflict.detected", "conflict.resolved"]
