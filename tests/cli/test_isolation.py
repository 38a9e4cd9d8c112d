"""Two clinics in one store: no command for one shows, changes or admits the other's objects.

Clinics ``alpha`` and ``beta`` each have a calendar (on the emulated Google account), a
conflict found by a real pass, an audit trail and a feed. Every clinic command is run as
``--clinic alpha`` naming beta's objects; it answers exactly as it does for an object that
does not exist (the same line, with the id in it replaced), and beta's data stays out
of every listing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine

from sync.secrets import new_key
from sync.store.clinics import get_clinic
from sync.store.conflicts import list_conflicts
from sync.store.database import session_scope
from sync.store.feeds import list_feed_tokens
from sync.store.sources import list_sources
from tests.cli.conftest import Run, book_too_soon, ok, refused

MISSING = "999999"
NO_CLINIC = "error: no clinic 'nope'; `clinic-sync clinics list` shows them"


@dataclass(frozen=True)
class Beta:
    """What beta holds that alpha must never see."""

    calendar: str
    """The Google calendar id."""
    source: int
    """Its row id, as ``feeds issue calendar`` takes it."""
    conflict: str
    token: int
    patient: str = "Bea Beta"


@pytest.fixture
def beta(
    cli: Run, store: Engine, new_calendar: Callable[..., str], insert: Callable[..., Any]
) -> Beta:
    for slug, patient in (("alpha", "Ann Alpha"), ("beta", "Bea Beta")):
        room = new_calendar(f"{slug.title()} room")
        book_too_soon(insert, room, patient)
        ok(cli("clinics", "add", slug, "--name", f"{slug.title()} Clinic"))
        ok(cli("calendars", "add", room, "--clinic", slug))
        ok(cli("sync", "--once", "--clinic", slug))
        ok(cli("feeds", "issue", "clinic", "--clinic", slug))
    with session_scope(store) as session:
        clinic_id = get_clinic(session, "beta").id
        (source,) = list_sources(session, clinic_id)
        (conflict,) = list_conflicts(session, clinic_id)
        (token,) = list_feed_tokens(session, clinic_id)
    return Beta(source.external_id, source.id, conflict.facts.public_id, token.id)


def _like_missing(run: Run, command: list[str], theirs: str) -> None:
    """Naming ``theirs`` answers as naming nothing does, the id aside."""
    asked = refused(run(*command, "--clinic", "alpha"))
    missing = refused(
        run(*[MISSING if part == theirs else part for part in command], "--clinic", "alpha")
    )
    assert asked.replace(theirs, "ID") == missing.replace(MISSING, "ID")


def test_beta_s_calendar_is_not_connected_to_alpha(cli: Run, beta: Beta) -> None:
    _like_missing(cli, ["calendars", "remove", beta.calendar], beta.calendar)
    listed = ok(cli("calendars", "list", "--clinic", "alpha"))
    assert "Alpha room" in listed
    assert "Beta room" not in listed
    assert beta.calendar not in listed


def test_beta_s_conflict_has_no_history_in_alpha(cli: Run, beta: Beta) -> None:
    _like_missing(cli, ["audit-log", "--conflict", beta.conflict], beta.conflict)


@pytest.mark.parametrize("action", ["revoke", "rotate"])
def test_beta_s_feed_cannot_be_revoked_or_rotated_from_alpha(
    cli: Run, store: Engine, beta: Beta, action: str
) -> None:
    _like_missing(cli, ["feeds", action, str(beta.token)], str(beta.token))
    with session_scope(store) as session:
        (token,) = list_feed_tokens(session, get_clinic(session, "beta").id)
    assert token.id == beta.token
    assert not token.revoked


def test_no_feed_of_alpha_can_name_beta_s_calendar(cli: Run, beta: Beta) -> None:
    _like_missing(cli, ["feeds", "issue", "calendar", str(beta.source)], str(beta.source))


@pytest.mark.parametrize(
    "command",
    [
        ["conflicts", "list", "--format", "json"],
        ["conflicts", "list", "--format", "csv"],
        ["conflicts", "list"],
        ["audit-log", "--format", "json"],
        ["audit-log"],
        ["feeds", "list"],
        ["calendars", "list"],
        ["sync", "--once"],
        ["sync", "--once", "--dry-run"],
        ["doctor"],
    ],
)
def test_alpha_s_listings_hold_nothing_of_beta(cli: Run, beta: Beta, command: list[str]) -> None:
    shown = ok(cli(*command, "--clinic", "alpha"))
    for secret in (beta.patient, beta.conflict, beta.calendar, "Beta room", "Beta Clinic"):
        assert secret not in shown


def test_alpha_s_lists_hold_alpha_s_own(cli: Run, beta: Beta) -> None:
    conflicts = json.loads(ok(cli("conflicts", "list", "--format", "json", "--clinic", "alpha")))
    assert [row["patient"] for row in conflicts] == ["name:alpha ann"]  # names are sorted
    trail = json.loads(ok(cli("audit-log", "--format", "json", "--clinic", "alpha")))
    assert trail
    assert {row["conflict"] for row in trail if row["conflict"]} == {conflicts[0]["id"]}
    feeds = ok(cli("feeds", "list", "--clinic", "alpha"))
    assert f"│ {beta.token} " not in feeds
    assert "Conflicts of Alpha Clinic" in ok(cli("conflicts", "list", "--clinic", "alpha"))


@pytest.mark.parametrize(
    "command",
    [
        ["calendars", "list"],
        ["calendars", "discover"],
        ["calendars", "add", "someone@example.com"],
        ["calendars", "remove", "someone@example.com"],
        ["conflicts", "list"],
        ["audit-log"],
        ["feeds", "list"],
        ["feeds", "issue", "clinic"],
        ["feeds", "revoke", "1"],
        ["feeds", "rotate", "1"],
        ["connect", "ics", "http://127.0.0.1:9/calendar.ics"],
        ["connect", "google", "--client-secrets", "secrets.json", "--no-browser"],
        ["sync", "--once"],
        ["doctor"],
    ],
)
def test_an_unknown_clinic_is_one_line_for_every_clinic_command(
    cli: Run, store: Engine, command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLINIC_SYNC_SECRET_KEY", new_key())
    ok(cli("clinics", "add", "alpha", "--name", "Alpha"))
    assert refused(cli(*command, "--clinic", "nope")) == NO_CLINIC
