"""A clinic on CalDAV gets the same service as one on Google (SPEC §9), end to end:
``connect caldav`` stores the account, ``sync --once`` pulls, detects and writes the flag
back into the event on the real Radicale server."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from caldav.collection import Calendar
from typer.testing import CliRunner

from rules.flag import FLAG_BEGIN
from sync.cli import app
from sync.secrets import new_key
from tests.caldav.conftest import put_event


def _utc(days: int) -> str:
    day = datetime.now(UTC) + timedelta(days=days)
    return day.strftime("%Y%m%dT100000Z")


def test_sync_once_flags_a_conflict_on_a_caldav_calendar(
    radicale_url: str, new_calendar: Callable[..., Calendar], tmp_path: Path
) -> None:
    calendar = new_calendar("Dr Lee")
    put_event(calendar, "mn-e2e", "Microneedling - Rosa Vidal", _utc(10))
    put_event(calendar, "bo-e2e", "Botox - Rosa Vidal", _utc(17))
    env = {
        "CLINIC_SYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'caldav.db'}",
        "CLINIC_SYNC_SECRET_KEY": new_key(),
        "CLINIC_SYNC_CALDAV_PASSWORD": "secret",
        "CLINIC_SYNC_GOOGLE_AUTH": "oauth",  # no Google grant: a CalDAV-only clinic
    }
    runner = CliRunner()
    connected = runner.invoke(
        app, ["connect", "caldav", radicale_url, "--username", "clinic"], env=env
    )
    assert connected.exit_code == 0, connected.stderr
    synced = runner.invoke(app, ["sync", "--once"], env=env)
    assert synced.exit_code == 0, synced.stdout + synced.stderr
    event = calendar.event_by_uid("bo-e2e").icalendar_component
    assert FLAG_BEGIN in str(event.get("DESCRIPTION", ""))
    assert str(event.get("X-CLINIC-SYNC-CONFLICT", ""))
    untouched = calendar.event_by_uid("mn-e2e").icalendar_component
    assert FLAG_BEGIN not in str(untouched.get("DESCRIPTION", ""))
