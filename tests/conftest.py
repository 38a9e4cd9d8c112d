"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Iterator
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
