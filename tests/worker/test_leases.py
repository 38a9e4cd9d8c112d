"""Row leases on calendars, on SQLite and PostgreSQL: who may poll what, and when next."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from sync.store.database import session_scope
from sync.store.sources import (
    Provider,
    get_source,
    record_poll_success,
    remove_source,
    set_source_enabled,
)
from sync.worker.leases import Lease, PollSchedule, claim_due, release, renew
from tests.worker.conftest import NOW, add_calendars

TTL = timedelta(seconds=30)
MINUTE = timedelta(seconds=60)
EXACT = PollSchedule(MINUTE, jitter=0.0)


def _claim(engine: Engine, owner: str, limit: int = 10, **options: object) -> list[int]:
    leases = claim_due(engine, owner, now=NOW, ttl=TTL, limit=limit, **options)  # type: ignore[arg-type]
    return [lease.source_id for lease in leases]


def test_new_calendars_are_due_and_claimed_once(engine: Engine) -> None:
    ids = add_calendars(engine, 3)
    assert _claim(engine, "a") == ids
    assert _claim(engine, "b") == []


def test_a_claim_takes_at_most_its_limit_most_overdue_first(engine: Engine) -> None:
    ids = add_calendars(engine, 4)
    with session_scope(engine) as session:
        for offset, source_id in zip((3, 1, 4, 2), ids, strict=True):
            due = NOW - timedelta(minutes=offset)
            record_poll_success(session, source_id, now=due, next_poll_at=due)
    assert _claim(engine, "a", limit=2) == sorted([ids[0], ids[2]])


def test_only_due_enabled_calendars_of_the_clinic_are_claimed_on_any_provider(
    engine: Engine,
) -> None:
    later, disabled, due = add_calendars(engine, 3)
    caldav = add_calendars(engine, 1, provider=Provider.CALDAV, prefix="caldav")
    elsewhere = add_calendars(engine, 1, clinic="other")
    with session_scope(engine) as session:
        record_poll_success(session, later, now=NOW, next_poll_at=NOW + timedelta(seconds=1))
        set_source_enabled(session, disabled, False)
    assert _claim(engine, "a", clinic="default") == sorted([due, *caldav])
    assert _claim(engine, "a") == elsewhere


def test_an_unexpired_lease_is_kept_and_an_expired_one_taken_over(engine: Engine) -> None:
    (source_id,) = add_calendars(engine, 1)
    assert _claim(engine, "dead") == [source_id]
    almost = NOW + TTL - timedelta(microseconds=1)
    assert claim_due(engine, "b", now=almost, ttl=TTL, limit=1) == []
    taken = claim_due(engine, "b", now=NOW + TTL, ttl=TTL, limit=1)
    assert taken == [Lease(source_id, "b", NOW + 2 * TTL, token=2)]  # the next token fences "dead"


def test_two_claimers_racing_never_get_the_same_calendar(engine: Engine) -> None:
    """Eight threads claim two at a time from 40 calendars: each is leased exactly once."""
    ids = add_calendars(engine, 40)
    start = threading.Barrier(8)
    won: list[list[int]] = [[] for _ in range(8)]

    def claimer(index: int) -> None:
        start.wait()
        while batch := _claim(engine, f"w{index}", limit=2):
            won[index] += batch

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [source_id for batch in won for source_id in batch]
    assert sorted(everything) == ids


def test_renew_extends_only_the_owners_leases(engine: Engine) -> None:
    first, second = add_calendars(engine, 2)
    claim_due(engine, "a", now=NOW, ttl=TTL, limit=1)
    claim_due(engine, "b", now=NOW, ttl=TTL, limit=1)
    later = NOW + timedelta(seconds=20)
    assert renew(engine, "a", [first, second], now=later, ttl=TTL) == {first}
    assert _claim(engine, "c") == []
    assert claim_due(engine, "c", now=NOW + TTL, ttl=TTL, limit=5)[0].source_id == second


def test_release_frees_the_calendar_until_its_recorded_due_time(engine: Engine) -> None:
    (source_id,) = add_calendars(engine, 1)
    (lease,) = claim_due(engine, "a", now=NOW, ttl=TTL, limit=1)
    with session_scope(engine) as session:
        record_poll_success(session, source_id, now=NOW, next_poll_at=NOW + MINUTE)
    assert release(engine, lease, EXACT, now=NOW) == NOW + MINUTE
    assert claim_due(engine, "b", now=NOW + MINUTE - timedelta(seconds=1), ttl=TTL, limit=1) == []
    assert _claim_at(engine, NOW + MINUTE) == [source_id]


def test_release_of_a_lost_lease_writes_nothing(engine: Engine) -> None:
    (source_id,) = add_calendars(engine, 1)
    (lost,) = claim_due(engine, "slow", now=NOW, ttl=TTL, limit=1)
    (taken,) = claim_due(engine, "b", now=NOW + TTL, ttl=TTL, limit=1)
    assert release(engine, lost, EXACT, now=NOW + TTL, error="boom") is None
    with session_scope(engine) as session:
        assert get_source(session, source_id).consecutive_failures == 0
    assert release(engine, taken, EXACT, now=NOW + TTL) is not None


def test_release_of_a_removed_calendar_is_a_no_op(engine: Engine) -> None:
    (source_id,) = add_calendars(engine, 1)
    (lease,) = claim_due(engine, "a", now=NOW, ttl=TTL, limit=1)
    with session_scope(engine) as session:
        remove_source(session, source_id)
    assert release(engine, lease, EXACT, now=NOW) is None


def test_a_crash_is_recorded_and_backs_off_as_failures_add_up(engine: Engine) -> None:
    """Each unexpected failure doubles the wait: 1, 2, 4 intervals."""
    (source_id,) = add_calendars(engine, 1)
    at, waits = NOW, []
    for _ in range(3):
        (lease,) = claim_due(engine, "a", now=at, ttl=TTL, limit=1)
        due = release(engine, lease, EXACT, now=at, error="KeyError: 'items'")
        assert due is not None
        waits.append(due - at)
        at = due
    assert waits == [MINUTE, 2 * MINUTE, 4 * MINUTE]
    with session_scope(engine) as session:
        source = get_source(session, source_id)
    assert (source.consecutive_failures, source.last_error) == (3, "KeyError: 'items'")


def _claim_at(engine: Engine, when: object) -> list[int]:
    leases = claim_due(engine, "b", now=when, ttl=TTL, limit=5)  # type: ignore[arg-type]
    return [lease.source_id for lease in leases]


# The schedule alone: pure --------------------------------------------------------------


def test_backoff_doubles_from_the_interval_up_to_its_cap() -> None:
    schedule = PollSchedule(MINUTE, max_backoff=timedelta(minutes=10))
    waits = [schedule.backoff(failures) for failures in range(7)]
    assert [wait.total_seconds() / 60 for wait in waits] == [1, 1, 2, 4, 8, 10, 10]
    assert schedule.backoff(10_000) == timedelta(minutes=10)


@pytest.mark.parametrize(("draw", "shift"), [(0.0, -3.0), (0.5, 0.0), (0.999999, 3.0)])
def test_jitter_spreads_due_times_around_the_interval(draw: float, shift: float) -> None:
    schedule = PollSchedule(MINUTE, jitter=0.1, random=lambda: draw)
    due = schedule.next_due(NOW + MINUTE, now=NOW, failures=0)
    assert (due - NOW - MINUTE).total_seconds() == pytest.approx(shift, abs=1e-3)


def test_a_recorded_retry_after_longer_than_the_backoff_is_kept() -> None:
    later = NOW + timedelta(hours=1)
    assert EXACT.next_due(later, now=NOW, failures=1) == later
    assert EXACT.next_due(None, now=NOW, failures=0) == NOW + MINUTE
