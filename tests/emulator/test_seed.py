"""Seed files: calendars, events and faults the emulator starts with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from sync.emulator import EmulatorServer, SeedError, load_seed
from tests.emulator.conftest import calendar_client

SEED = [
    {
        "id": "dr-smith@clinic.example",
        "summary": "Dr Smith",
        "timeZone": "Europe/London",
        "events": [
            {
                "id": "mn0001",
                "summary": "Microneedling - Jane Doe",
                "start": {"dateTime": "2030-01-01T10:00:00Z"},
                "end": {"dateTime": "2030-01-01T11:00:00Z"},
                "extendedProperties": {"private": {"patient_id": "p1"}},
                "updated": "2029-12-01T09:00:00.000Z",
            },
            {
                "summary": "Botox - Jane Doe",
                "start": {"date": "2030-01-05"},
                "end": {"date": "2030-01-06"},
            },
        ],
    },
    {"id": "room-1@clinic.example", "summary": "Room 1"},
]


def _write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_seeded_calendars_and_events_are_served(tmp_path: Path) -> None:
    with EmulatorServer(seed=_write(tmp_path, SEED)) as server:
        client = calendar_client(server)
        ids = {c["id"] for c in client.calendarList().list().execute()["items"]}
        events = client.events().list(calendarId="dr-smith@clinic.example").execute()["items"]
        client.close()
    assert {"dr-smith@clinic.example", "room-1@clinic.example"} <= ids
    assert [e["summary"] for e in events] == ["Microneedling - Jane Doe", "Botox - Jane Doe"]
    assert events[0]["id"] == "mn0001"
    assert events[0]["updated"] == "2029-12-01T09:00:00.000Z"


def test_reset_returns_to_the_seeded_state(tmp_path: Path) -> None:
    with EmulatorServer(seed=_write(tmp_path, SEED)) as server:
        server.store.delete_event("dr-smith@clinic.example", "mn0001", None)
        server.reset()
        assert server.store.get_event("dr-smith@clinic.example", "mn0001")["status"] == "confirmed"


def test_seed_can_arm_faults(tmp_path: Path) -> None:
    seed = {"calendars": SEED, "faults": [{"status": 429, "method": "calendarList.list"}]}
    with EmulatorServer(seed=_write(tmp_path, seed)) as server:
        client = calendar_client(server)
        with pytest.raises(HttpError) as caught:
            client.calendarList().list().execute()
        client.close()
    assert caught.value.status_code == 429


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"calendars": "x"}, "calendars: expected a JSON list"),
        ([{"summary": "no id"}], "calendars[0]: 'id'"),
        ([{"id": "a@b", "colour": "red"}], "calendars[0]: unknown key(s) colour"),
        ([{"id": "a@b", "timeZone": "Mars/Olympus"}], "calendars[0] (a@b): Invalid time zone"),
        (
            [{"id": "a@b", "events": [{"summary": "Botox", "start": {"date": "2030-01-01"}}]}],
            "calendars[0] (a@b): events[0] (Botox): Missing end time.",
        ),
        (
            [
                {
                    "id": "a@b",
                    "events": [
                        {"id": "x", "start": {"date": "2030-01-01"}, "end": {"date": "2030-01-02"}}
                    ],
                }
            ],
            "events[0] (x): Invalid resource id value.",
        ),
        ({"faults": [{"status": 200}]}, "faults[0]: status must be an HTTP error status"),
    ],
)
def test_bad_seed_says_file_place_and_problem(tmp_path: Path, data: Any, message: str) -> None:
    path = _write(tmp_path, data)
    with pytest.raises(SeedError) as caught:
        load_seed(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_seed_that_is_not_json_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "seed.json"
    path.write_text("[{", encoding="utf-8")
    with pytest.raises(SeedError, match="not valid JSON"):
        load_seed(path)


def test_missing_seed_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="cannot read seed file"):
        load_seed(tmp_path / "absent.json")
