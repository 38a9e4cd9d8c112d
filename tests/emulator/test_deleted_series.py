"""Deleted series and the ids real Google data carries (https://developers.google.com/calendar/api/guides/sync).

With ``singleEvents=true`` a deleted series comes back in an incremental sync as its cancelled
instances; without, as its cancelled master. Series ids may hold ``_`` ("this and following"
splits) or begin with it (imported and Gmail events); instance ids are ``{series}_{suffix}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sync.emulator import EmulatorServer

Seeded = Callable[[Any], tuple[EmulatorServer, Any]]
CAL = "dr-smith@clinic.example"
SPLIT = "9m8urn5juj26erq2fe6s4m0h1k_R20300107T100000"
IMPORTED = "_60q30c1g60o30e1i60o4ac1g60rj8gpl88rj2c1h84s34h9g60s30c1g60o30c1g6ko3ehhg6cp3eh9m8gq4"
WINDOW = {"timeMin": "2030-01-01T00:00:00Z", "timeMax": "2030-03-01T00:00:00Z"}


def _series(event_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "summary": "Botox - Jane Doe",
        "start": {"dateTime": "2030-01-07T10:00:00", "timeZone": "Europe/London"},
        "end": {"dateTime": "2030-01-07T11:00:00", "timeZone": "Europe/London"},
        "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=6"],
        **fields,
    }


def _calendar(*events: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"id": CAL, "summary": "Dr Smith", "timeZone": "Europe/London", "events": list(events)}]


def _all(client: Any, **params: Any) -> tuple[list[dict[str, Any]], str]:
    items: list[dict[str, Any]] = []
    page: dict[str, Any] = {}
    while True:
        token = page.get("nextPageToken")
        page = client.events().list(calendarId=CAL, pageToken=token, **params).execute()
        items += page["items"]
        if "nextSyncToken" in page:
            return items, page["nextSyncToken"]


def test_a_deleted_split_series_comes_back_as_its_cancelled_instances(seeded: Seeded) -> None:
    _, client = seeded(_calendar(_series(SPLIT)))
    live, token = _all(client, singleEvents=True, **WINDOW)
    assert [e["id"] for e in live][:2] == [f"{SPLIT}_20300107T100000Z", f"{SPLIT}_20300114T100000Z"]
    client.events().delete(calendarId=CAL, eventId=SPLIT).execute()
    changed, _ = _all(client, singleEvents=True, syncToken=token)
    assert sorted(e["id"] for e in changed) == sorted(e["id"] for e in live)
    assert {e["status"] for e in changed} == {"cancelled"}
    assert {e["recurringEventId"] for e in changed} == {SPLIT}
    assert changed[0]["originalStartTime"]["dateTime"] == "2030-01-07T10:00:00Z"


def test_without_single_events_a_deleted_series_is_its_cancelled_master(seeded: Seeded) -> None:
    _, client = seeded(_calendar(_series(IMPORTED)))
    _, token = _all(client)
    client.events().delete(calendarId=CAL, eventId=IMPORTED).execute()
    changed, _ = _all(client, syncToken=token)
    assert [(e["id"], e["status"]) for e in changed] == [(IMPORTED, "cancelled")]


def test_a_cancelled_series_is_hidden_from_a_full_list_unless_deleted_ones_are_asked_for(
    seeded: Seeded,
) -> None:
    _, client = seeded(_calendar(_series(SPLIT, status="cancelled")))
    assert _all(client, singleEvents=True, **WINDOW)[0] == []
    shown, _ = _all(client, singleEvents=True, showDeleted=True, **WINDOW)
    assert len(shown) == 6
    assert {e["status"] for e in shown} == {"cancelled"}


def test_an_id_beginning_with_underscore_reads_lists_and_patches(seeded: Seeded) -> None:
    _, client = seeded(_calendar(_series(IMPORTED)))
    instance = f"{IMPORTED}_20300121T100000Z"
    got = client.events().get(calendarId=CAL, eventId=instance).execute()
    assert (got["recurringEventId"], got["start"]["dateTime"]) == (IMPORTED, "2030-01-21T10:00:00Z")
    patched = client.events().patch(calendarId=CAL, eventId=instance, body={"colorId": "11"})
    assert patched.execute()["colorId"] == "11"
    listed, _ = _all(client, singleEvents=True, **WINDOW)
    assert [e.get("colorId") for e in listed if e["id"] == instance] == ["11"]


def test_seeds_take_id_only_cancelled_items_as_real_exports_hold_them(seeded: Seeded) -> None:
    gone_exception = {
        "id": f"{SPLIT}_20300114T100000Z",
        "status": "cancelled",
        "recurringEventId": SPLIT,
        "originalStartTime": {"dateTime": "2030-01-14T10:00:00Z"},
    }
    deleted = {"id": "0a1b2c3d4e5f6g7h", "status": "cancelled"}
    _, client = seeded(_calendar(_series(SPLIT), gone_exception, deleted))
    live, _ = _all(client, singleEvents=True, **WINDOW)
    assert len(live) == 5
    assert gone_exception["id"] not in {e["id"] for e in live}
    everything, _ = _all(client, singleEvents=True, showDeleted=True, **WINDOW)
    bare = {e["id"]: e for e in everything if e["status"] == "cancelled"}
    assert set(bare) == {gone_exception["id"], deleted["id"]}
    assert "start" not in bare[deleted["id"]]
    assert client.events().get(calendarId=CAL, eventId=deleted["id"]).execute()["status"] == (
        "cancelled"
    )
