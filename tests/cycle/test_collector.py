"""A full re-check and a large pull raise the collector's young threshold while they run,
and only then: a pull of a few changes keeps the interpreter's default."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from rules.vocabulary import Matcher
from sync.emulator import EmulatorServer
from sync.policy_file import load_policy
from sync.sources.google import GoogleCalendarSource
from sync.usecases import pull as pull_module
from sync.usecases.collector import (
    OLDER_THRESHOLD,
    RECHECK_THRESHOLD,
    collection_free_start,
    fewer_collections,
)
from sync.usecases.pull import BookingReader, pull_clinic
from tests.cycle.conftest import NOW, connect

Json = dict[str, Any]


def test_the_threshold_is_raised_during_a_recheck_and_put_back_after() -> None:
    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold() == (
            max(before[0], RECHECK_THRESHOLD),
            max(before[1], OLDER_THRESHOLD),
            before[2],
        )
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


class _Spy:
    """The young threshold while the provider is asked and while the answer is stored."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, source: GoogleCalendarSource) -> None:
        self.listing: list[int] = []
        self.storing: list[int] = []
        pull, store = source.pull, pull_module.store_events

        def spied_pull(*args: Any, **kwargs: Any) -> Any:
            self.listing.append(gc.get_threshold()[0])
            return pull(*args, **kwargs)

        def spied_store(*args: Any, **kwargs: Any) -> Any:
            self.storing.append(gc.get_threshold()[0])
            return store(*args, **kwargs)

        monkeypatch.setattr(source, "pull", spied_pull)
        monkeypatch.setattr(pull_module, "store_events", spied_store)


@pytest.fixture
def default_threshold() -> Iterator[int]:
    """The interpreter's default young threshold for the test, whatever the process had."""
    before = gc.get_threshold()
    gc.set_threshold(700, *before[1:])
    yield 700
    gc.set_threshold(*before)


@pytest.fixture
def calendar(engine: Engine, new_calendar: Callable[..., str]) -> str:
    """A new emulated calendar, connected to the store's clinic."""
    made = new_calendar()
    connect(engine, made)
    return made


def _pull(engine: Engine, source: GoogleCalendarSource) -> None:
    reader = BookingReader(Matcher(load_policy()))
    (pulled,) = pull_clinic(engine, source, reader, "default", now=NOW).calendars
    assert pulled.ok, pulled.error


def _many_events(
    calendar: str, insert: Callable[..., Json], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three bookings on ``calendar``, and three made "many" for the pull."""
    monkeypatch.setattr(pull_module, "MANY_EVENTS", 3)
    for day in (10, 11, 12):
        insert(calendar, "Botox Jane Doe", f"2030-01-{day}T10:00:00+00:00")


def test_a_first_sync_of_many_events_is_stored_with_fewer_collections(
    engine: Engine,
    source: GoogleCalendarSource,
    calendar: str,
    insert: Callable[..., Json],
    monkeypatch: pytest.MonkeyPatch,
    default_threshold: int,
) -> None:
    _many_events(calendar, insert, monkeypatch)
    spy = _Spy(monkeypatch, source)
    _pull(engine, source)
    assert (spy.listing, spy.storing) == ([default_threshold], [RECHECK_THRESHOLD])
    assert gc.get_threshold()[0] == default_threshold


def test_a_small_first_sync_keeps_the_default(
    engine: Engine,
    source: GoogleCalendarSource,
    calendar: str,
    insert: Callable[..., Json],
    monkeypatch: pytest.MonkeyPatch,
    default_threshold: int,
) -> None:
    """A fleet's many small calendars: a raise held for each would be held all the time."""
    insert(calendar, "Botox Jane Doe", "2030-01-10T10:00:00+00:00")
    spy = _Spy(monkeypatch, source)
    _pull(engine, source)
    assert spy.listing == spy.storing == [default_threshold]


def test_a_pull_of_a_few_changes_keeps_the_default(
    engine: Engine,
    source: GoogleCalendarSource,
    calendar: str,
    insert: Callable[..., Json],
    monkeypatch: pytest.MonkeyPatch,
    default_threshold: int,
) -> None:
    insert(calendar, "Botox Jane Doe", "2030-01-10T10:00:00+00:00")
    _pull(engine, source)
    insert(calendar, "Dysport Jane Doe", "2030-01-11T10:00:00+00:00")
    spy = _Spy(monkeypatch, source)
    _pull(engine, source)
    assert spy.listing == spy.storing == [default_threshold]


def test_a_large_relisting_after_410_is_stored_with_fewer_collections(
    engine: Engine,
    emulator: EmulatorServer,
    source: GoogleCalendarSource,
    calendar: str,
    insert: Callable[..., Json],
    monkeypatch: pytest.MonkeyPatch,
    default_threshold: int,
) -> None:
    _many_events(calendar, insert, monkeypatch)
    _pull(engine, source)
    emulator.expire_sync_tokens()
    spy = _Spy(monkeypatch, source)
    _pull(engine, source)
    # Listed at the default (through the 410); the re-list of the whole calendar is many.
    assert (spy.listing, spy.storing) == ([default_threshold], [RECHECK_THRESHOLD])
    assert gc.get_threshold()[0] == default_threshold


def test_an_incremental_pull_of_many_events_is_stored_with_fewer_collections(
    engine: Engine,
    source: GoogleCalendarSource,
    calendar: str,
    insert: Callable[..., Json],
    monkeypatch: pytest.MonkeyPatch,
    default_threshold: int,
) -> None:
    _pull(engine, source)
    _many_events(calendar, insert, monkeypatch)
    spy = _Spy(monkeypatch, source)
    _pull(engine, source)
    assert (spy.listing, spy.storing) == ([default_threshold], [RECHECK_THRESHOLD])


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """What a test freezes goes back to the collector's generations after it."""
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen")
def test_a_start_collects_nothing_while_it_runs_and_freezes_what_it_made() -> None:
    assert gc.isenabled()
    collected: list[int] = []
    gc.callbacks.append(recorder := lambda phase, info: collected.append(info["generation"]))
    try:
        with collection_free_start():
            assert not gc.isenabled()
            made = [[n] for n in range(5 * gc.get_threshold()[0])]  # would set one off
        assert collected == []
    finally:
        gc.callbacks.remove(recorder)
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(made)  # start-up's objects: no longer scanned


@pytest.mark.usefixtures("unfrozen")
def test_a_start_leaves_a_collector_turned_off_off() -> None:
    gc.disable()
    try:
        with collection_free_start():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_command_line_loads_a_command_with_the_collector_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sync.cli as cli

    seen: list[bool] = []
    monkeypatch.setattr(cli.Command, "load", lambda self: seen.append(gc.isenabled()) or None)
    cli._LazyGroup(name="clinic-sync").get_command(None, "doctor")  # type: ignore[arg-type]
    gc.unfreeze()
    assert seen == [False]
    assert gc.isenabled()
