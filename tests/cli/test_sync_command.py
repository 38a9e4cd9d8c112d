"""``clinic-sync sync --once``: one pass over the chosen clinic; ``--dry-run`` writes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from sync.store.clinics import get_clinic
from sync.store.database import session_scope
from tests.cli.conftest import Run, book_too_soon, ok


def _colours(service: Any, calendar: str) -> dict[str, str | None]:
    events = service.events().list(calendarId=calendar).execute()["items"]
    return {event["summary"]: event.get("colorId") for event in events}


def test_a_dry_run_pass_finds_the_conflict_and_writes_nothing(
    cli: Run,
    store: Engine,
    service: Any,
    new_calendar: Callable[..., str],
    insert: Callable[..., Any],
) -> None:
    room = new_calendar("Alpha room")
    book_too_soon(insert, room, "Ann Lee")
    ok(cli("clinics", "add", "alpha", "--name", "Alpha Clinic"))
    ok(cli("calendars", "add", room, "--clinic", "alpha"))
    shown = ok(cli("sync", "--once", "--dry-run", "--clinic", "alpha"))
    assert "Sync of Alpha Clinic" in shown  # the name, not the slug
    conflicts = json.loads(ok(cli("conflicts", "list", "--format", "json", "--clinic", "alpha")))
    assert len(conflicts) == 1
    assert set(_colours(service, room).values()) == {None}
    with session_scope(store) as session:
        assert get_clinic(session, "alpha").settings.dry_run is False  # for that pass only
    ok(cli("sync", "--once", "--clinic", "alpha"))
    assert _colours(service, room)["Botox - Ann Lee"] == "11"


def test_a_pass_of_a_clinic_without_calendars_says_what_to_do(cli: Run) -> None:
    ok(cli("clinics", "add", "alpha", "--name", "Alpha Clinic"))
    result = cli("sync", "--once", "--clinic", "alpha")
    assert result.exit_code == 2
    assert "clinic 'alpha' has no calendars" in result.stderr
