"""Fixtures shared by the whole suite."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from rules.model import Policy
from rules.vocabulary import Matcher
from sync.policy_file import load_policy

# Speed belongs to bench/, not to tests: a busy two-core CI machine must not fail a property.
settings.register_profile("clinic-sync", deadline=None)
settings.load_profile("clinic-sync")


@pytest.fixture(scope="session")
def default_policy() -> Policy:
    """The policy shipped with the package (SPEC §3)."""
    return load_policy()


@pytest.fixture(scope="session")
def matcher(default_policy: Policy) -> Matcher:
    return Matcher(default_policy)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, one per test module (:mod:`tests.browser`)."""
    from tests.browser import launched_chromium

    with launched_chromium() as launched:
        yield launched


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to the head revision once per session (per xdist worker).

    Running every migration takes a fifth of a second or more; a test that wants a freshly
    migrated database gets a copy of this file (:func:`copy_migrated`) instead. Nothing
    writes to it after the migrations: the engine is disposed, so its WAL is checkpointed
    into the file and the copy is complete.
    """
    from sync.store.database import make_engine
    from sync.store.migrate import upgrade

    path = tmp_path_factory.mktemp("migrated") / "head.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return path


def copy_migrated(template: Path, target: Path) -> str:
    """Copy the migrated ``template`` to ``target`` and return its SQLite URL."""
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashes() -> Iterator[None]:
    """argon2id at its lowest cost inside the test process.

    The shipped cost (argon2-cffi's defaults: 64 MiB, three passes) is what makes a guessed
    password expensive, and it costs a tenth of a second to a third on this machine per
    hash or sign-in; the admin tests hash and verify many hundreds of times. The parameters
    travel inside each hash, so a hash made here still verifies with the shipped hasher and
    the other way round (the CLI tests' subprocesses keep the shipped cost).
    """
    from argon2 import PasswordHasher

    from sync.accounts import passwords

    patch = pytest.MonkeyPatch()
    patch.setattr(passwords, "_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    passwords._dummy_hash.cache_clear()
    yield
    patch.undo()
    passwords._dummy_hash.cache_clear()
