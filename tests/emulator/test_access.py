"""Access roles, incremental calendarList and colors.get.

https://developers.google.com/calendar/api/v3/reference/calendarList (accessRole, sync tokens,
deleted entries), https://developers.google.com/calendar/api/guides/errors (403
requiredAccessLevel), https://developers.google.com/calendar/api/v3/reference/colors.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from googleapiclient.errors import HttpError

from sync.emulator import EmulatorServer
from tests.emulator.conftest import timed

Seeded = Callable[[Any], tuple[EmulatorServer, Any]]
BOOKING = timed("2030-01-02T10:00:00Z", "2030-01-02T11:00:00Z", summary="Botox - Jane Doe")


def _shared(role: str, *events: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"{role.lower()}@clinic.example", "accessRole": role, "events": list(events)}


def _refusal(request: Any) -> tuple[int, str, str]:
    with pytest.raises(HttpError) as caught:
        request.execute()
    [item] = json.loads(caught.value.content)["error"]["errors"]
    return caught.value.status_code, item["reason"], item["message"]


@pytest.fixture
def shared(seeded: Seeded) -> Any:
    """An account that owns its primary calendar and sees three shared ones."""
    private = {**BOOKING, "id": "privatebooking1", "visibility": "private"}
    calendars = [
        _shared("reader", {**BOOKING, "id": "readerbooking1"}, private),
        _shared("writer", {**BOOKING, "id": "writerbooking1"}),
        _shared("freeBusyReader", {**BOOKING, "id": "busybooking01"}),
    ]
    return seeded(calendars)[1]


def test_the_calendar_list_reports_each_seeded_access_role(shared: Any) -> None:
    items = shared.calendarList().list().execute()["items"]
    roles = {e["id"]: e["accessRole"] for e in items}
    assert roles == {
        "owner@clinic.example": "owner",
        "reader@clinic.example": "reader",
        "writer@clinic.example": "writer",
        "freebusyreader@clinic.example": "freeBusyReader",
    }
    writable = shared.calendarList().list(minAccessRole="writer").execute()["items"]
    assert sorted(e["id"] for e in writable) == ["owner@clinic.example", "writer@clinic.example"]
    entry = shared.calendarList().get(calendarId="reader@clinic.example").execute()
    assert entry["accessRole"] == "reader"


def test_a_reader_reads_but_every_write_is_refused(shared: Any) -> None:
    events, cal = shared.events(), "reader@clinic.example"
    listing = events.list(calendarId=cal).execute()
    assert listing["accessRole"] == "reader"
    assert {e["id"] for e in listing["items"]} == {"readerbooking1", "privatebooking1"}
    refused = (403, "requiredAccessLevel", "You need to have writer access to this calendar.")
    assert _refusal(events.insert(calendarId=cal, body=BOOKING)) == refused
    patch = events.patch(calendarId=cal, eventId="readerbooking1", body={"colorId": "11"})
    assert _refusal(patch) == refused
    update = events.update(calendarId=cal, eventId="readerbooking1", body=BOOKING)
    assert _refusal(update) == refused
    assert _refusal(events.delete(calendarId=cal, eventId="readerbooking1")) == refused
    after = events.get(calendarId=cal, eventId="readerbooking1").execute()
    assert "colorId" not in after


def test_a_reader_sees_private_events_without_their_details(shared: Any) -> None:
    got = shared.events().get(calendarId="reader@clinic.example", eventId="privatebooking1")
    event = got.execute()
    assert "summary" not in event
    assert event["start"]["dateTime"] == "2030-01-02T10:00:00Z"


def test_a_free_busy_reader_sees_busy_blocks_only(shared: Any) -> None:
    listing = shared.events().list(calendarId="freebusyreader@clinic.example").execute()
    [block] = listing["items"]
    assert listing["accessRole"] == "freeBusyReader"
    assert "summary" not in block
    assert "attendees" not in block
    assert block["end"]["dateTime"] == "2030-01-02T11:00:00Z"


def test_a_writer_writes_events_but_may_not_delete_the_calendar(shared: Any) -> None:
    cal = "writer@clinic.example"
    patch = shared.events().patch(calendarId=cal, eventId="writerbooking1", body={"colorId": "11"})
    assert patch.execute()["colorId"] == "11"
    refused = _refusal(shared.calendars().delete(calendarId=cal))
    assert refused[:2] == (403, "requiredAccessLevel")


def test_calendar_list_sync_returns_what_changed_removals_included(service: Any) -> None:
    first = service.calendarList().list().execute()
    token = first["nextSyncToken"]
    assert [e["id"] for e in first["items"]] == ["owner@clinic.example"]
    added = service.calendars().insert(body={"summary": "Room 3"}).execute()["id"]
    doomed = service.calendars().insert(body={"summary": "Temp"}).execute()["id"]
    changed = service.calendarList().list(syncToken=token).execute()
    assert [e["id"] for e in changed["items"]] == [added, doomed]
    service.calendars().delete(calendarId=doomed).execute()
    later = service.calendarList().list(syncToken=changed["nextSyncToken"]).execute()
    assert later["items"] == [
        {"kind": "calendar#calendarListEntry", "id": doomed, "etag": later["items"][0]["etag"],
         "deleted": True}
    ]  # fmt: skip
    quiet = service.calendarList().list(syncToken=later["nextSyncToken"]).execute()
    assert quiet["items"] == []
    full = service.calendarList().list().execute()["items"]
    assert doomed not in {e["id"] for e in full}
    shown = service.calendarList().list(showDeleted=True).execute()["items"]
    assert {e["id"]: e.get("deleted", False) for e in shown}[doomed] is True


def test_calendar_list_sync_token_errors(emulator: EmulatorServer, service: Any) -> None:
    token = service.calendarList().list().execute()["nextSyncToken"]
    with pytest.raises(HttpError) as caught:
        service.calendarList().list(syncToken=token, minAccessRole="reader").execute()
    assert caught.value.status_code == 400
    emulator.expire_sync_tokens()
    with pytest.raises(HttpError) as gone:
        service.calendarList().list(syncToken=token).execute()
    assert gone.value.status_code == 410


def test_colors_get_serves_the_palette_behind_color_ids(service: Any) -> None:
    colors = service.colors().get().execute()
    assert colors["kind"] == "calendar#colors"
    assert len(colors["calendar"]) == 24
    assert sorted(colors["event"], key=int) == [str(n) for n in range(1, 12)]
    assert colors["event"]["11"] == {"background": "#dc2127", "foreground": "#1d1d1d"}


def test_changing_the_share_changes_the_entry_and_ends_the_calendars_sync_tokens(
    seeded: Seeded,
) -> None:
    server, client = seeded([_shared("reader", {**BOOKING, "id": "readerbooking1"})])
    cal = "reader@clinic.example"
    list_token = client.calendarList().list().execute()["nextSyncToken"]
    events_token = client.events().list(calendarId=cal).execute()["nextSyncToken"]
    url = f"{server.url}_emulator/calendars/{cal}/access-role"
    assert httpx.put(url, json={"accessRole": "writer"}).status_code == 204
    assert httpx.put(url, json={"accessRole": "boss"}).status_code == 400
    [entry] = client.calendarList().list(syncToken=list_token).execute()["items"]
    assert (entry["id"], entry["accessRole"]) == (cal, "writer")
    with pytest.raises(HttpError) as gone:
        client.events().list(calendarId=cal, syncToken=events_token).execute()
    assert gone.value.status_code == 410
    patch = client.events().patch(calendarId=cal, eventId="readerbooking1", body={"colorId": "2"})
    assert patch.execute()["colorId"] == "2"


def test_free_busy_merges_busy_time_and_leaves_transparent_events_out(seeded: Seeded) -> None:
    later = timed("2030-01-02T10:30:00Z", "2030-01-02T12:00:00Z", id="overlapping01")
    free = timed("2030-01-02T14:00:00Z", "2030-01-02T15:00:00Z", transparency="transparent")
    _, client = seeded([_shared("freeBusyReader", {**BOOKING, "id": "busybooking01"}, later, free)])
    body = {
        "timeMin": "2030-01-02T00:00:00Z",
        "timeMax": "2030-01-02T11:00:00Z",
        "items": [{"id": "freebusyreader@clinic.example"}, {"id": "nobody@clinic.example"}],
    }
    answer = client.freebusy().query(body=body).execute()
    assert answer["kind"] == "calendar#freeBusy"
    assert answer["calendars"]["freebusyreader@clinic.example"] == {
        "busy": [{"start": "2030-01-02T10:00:00.000Z", "end": "2030-01-02T11:00:00.000Z"}]
    }
    missing = answer["calendars"]["nobody@clinic.example"]
    assert missing == {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
    whole_day = client.freebusy().query(body={**body, "timeMax": "2030-01-03T00:00:00Z"})
    busy = whole_day.execute()["calendars"]["freebusyreader@clinic.example"]["busy"]
    assert busy == [{"start": "2030-01-02T10:00:00.000Z", "end": "2030-01-02T12:00:00.000Z"}]
    reversed_window = client.freebusy().query(body={**body, "timeMax": body["timeMin"]})
    assert _refusal(reversed_window)[:2] == (400, "timeRangeEmpty")
