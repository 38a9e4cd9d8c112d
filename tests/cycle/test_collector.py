"""A full re-check raises the collector's young threshold while it runs, and only then."""

from __future__ import annotations

import gc
import threading

from sync.usecases.collector import RECHECK_THRESHOLD, fewer_collections


def test_the_threshold_is_raised_during_a_recheck_and_put_back_after() -> None:
    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold() == (max(before[0], RECHECK_THRESHOLD), *before[1:])
    assert gc.get_threshold() == before


def test_overlapping_rechecks_put_the_threshold_back_when_the_last_ends() -> None:
    before = gc.get_threshold()
    inside, leave = threading.Event(), threading.Event()

    def other() -> None:
        with fewer_collections():
            inside.set()
            leave.wait(5)

    thread = threading.Thread(target=other)
    with fewer_collections():
        thread.start()
        assert inside.wait(5)
    assert gc.get_threshold()[0] == max(before[0], RECHECK_THRESHOLD)  # the other still runs
    leave.set()
    thread.join(5)
    assert gc.get_threshold() == before


def test_collection_switched_off_stays_off() -> None:
    before = gc.get_threshold()
    gc.set_threshold(0)
    try:
        with fewer_collections():
            assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*before)
