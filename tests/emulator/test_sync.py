"""Full and incremental sync (https://developers.google.com/calendar/api/guides/sync)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from sync.emulator import EmulatorServer
from tests.emulator.conftest import timed

Insert = Callable[..., dict[str, Any]]


def _all_pages(
    service: Any, calendar_id: str, **params: Any
) -> tuple[list[dict[str, Any]], str, int]:
    """Every item of a list, its nextSyncToken and how many pages it took."""
    items, token, pages = [], None, 0
    while True:
        page = service.events().list(calendarId=calendar_id, pageToken=token, **params).execute()
        items += page["items"]
        pages += 1
        token = page.get("nextPageToken")
        if token is None:
            assert "nextSyncToken" in page
            return items, page["nextSyncToken"], pages
        assert "nextSyncToken" not in page


def test_incremental_sync_returns_only_changes_with_deletions_cancelled(
    insert: Insert, service: Any, calendar_id: str
) -> None:
    kept, patched, deleted = insert("kept"), insert("patched"), insert("deleted")
    items, token, _ = _all_pages(service, calendar_id)
    assert {e["id"] for e in items} == {kept["id"], patched["id"], deleted["id"]}

    added = insert("added")
    service.events().patch(
        calendarId=calendar_id, eventId=patched["id"], body={"colorId": "11"}
    ).execute()
    service.events().delete(calendarId=calendar_id, eventId=deleted["id"]).execute()
    changes, token2, _ = _all_pages(service, calendar_id, syncToken=token)

    by_id = {e["id"]: e for e in changes}
    assert set(by_id) == {added["id"], patched["id"], deleted["id"]}
    assert by_id[deleted["id"]]["status"] == "cancelled"
    assert by_id[patched["id"]]["colorId"] == "11"
    assert _all_pages(service, calendar_id, syncToken=token2)[0] == []


def test_full_sync_hides_deleted_events_unless_asked(
    insert: Insert, service: Any, calendar_id: str
) -> None:
    event = insert()
    service.events().delete(calendarId=calendar_id, eventId=event["id"]).execute()
    assert _all_pages(service, calendar_id)[0] == []
    shown = _all_pages(service, calendar_id, showDeleted=True)[0]
    assert [e["status"] for e in shown] == ["cancelled"]


def test_expired_sync_token_answers_410_full_sync_required(
    insert: Insert, service: Any, calendar_id: str, emulator: EmulatorServer
) -> None:
    insert()
    token = _all_pages(service, calendar_id)[1]
    emulator.expire_sync_tokens()
    with pytest.raises(HttpError) as caught:
        service.events().list(calendarId=calendar_id, syncToken=token).execute()
    assert caught.value.status_code == 410
    assert json.loads(caught.value.content) == {
        "error": {
            "errors": [
                {
                    "domain": "calendar",
                    "reason": "fullSyncRequired",
                    "message": "Sync token is no longer valid, a full sync is required.",
                    "locationType": "parameter",
                    "location": "syncToken",
                }
            ],
            "code": 410,
            "message": "Sync token is no longer valid, a full sync is required.",
        }
    }


def test_unknown_sync_token_answers_410(service: Any, calendar_id: str) -> None:
    with pytest.raises(HttpError) as caught:
        service.events().list(calendarId=calendar_id, syncToken="made-up").execute()
    assert caught.value.status_code == 410


@pytest.mark.parametrize(
    "param",
    [
        {"timeMin": "2030-01-01T00:00:00Z"},
        {"timeMax": "2030-01-01T00:00:00Z"},
        {"updatedMin": "2030-01-01T00:00:00Z"},
        {"q": "botox"},
        {"orderBy": "updated"},
        {"iCalUID": "x@google.com"},
        {"privateExtendedProperty": "patient_id=1"},
        {"sharedExtendedProperty": "a=b"},
    ],
)
def test_sync_token_with_a_filter_is_a_bad_request(
    service: Any, calendar_id: str, param: dict[str, str]
) -> None:
    token = _all_pages(service, calendar_id)[1]
    with pytest.raises(HttpError) as caught:
        service.events().list(calendarId=calendar_id, syncToken=token, **param).execute()
    assert caught.value.status_code == 400


@pytest.fixture
def many_events(emulator: EmulatorServer, calendar_id: str) -> int:
    """2,600 events, loaded straight into the store (over HTTP it would take seconds)."""
    for n in range(2600):
        minute = f"{n % 60:02d}"
        body = timed(f"2030-02-01T10:{minute}:00Z", f"2030-02-01T11:{minute}:00Z", summary=f"#{n}")
        emulator.store.insert_event(calendar_id, body)
    return 2600


@pytest.mark.parametrize(("max_results", "pages"), [(None, 11), (2500, 2), (5000, 2)])
def test_pagination_covers_every_event_once(
    service: Any, calendar_id: str, many_events: int, max_results: int | None, pages: int
) -> None:
    params = {} if max_results is None else {"maxResults": max_results}
    items, _, seen_pages = _all_pages(service, calendar_id, **params)
    assert seen_pages == pages
    assert len({e["id"] for e in items}) == len(items) == many_events


def test_incremental_sync_is_paged_too(
    emulator: EmulatorServer, service: Any, calendar_id: str, many_events: int
) -> None:
    token = _all_pages(service, calendar_id, maxResults=2500)[1]
    for event in emulator.store.snapshot(calendar_id).events[:300]:
        emulator.store.patch_event(calendar_id, event[0]["id"], {"colorId": "5"}, None)
    changes, _, pages = _all_pages(service, calendar_id, syncToken=token, maxResults=100)
    assert (len(changes), pages) == (300, 3)


def test_changes_made_while_paging_come_with_the_next_sync(
    insert: Insert, service: Any, calendar_id: str
) -> None:
    for n in range(3):
        insert(f"#{n}")
    first = service.events().list(calendarId=calendar_id, maxResults=2).execute()
    late = insert("late")
    rest = service.events().list(calendarId=calendar_id, pageToken=first["nextPageToken"]).execute()
    changes = _all_pages(service, calendar_id, syncToken=rest["nextSyncToken"])[0]
    assert late["id"] in [e["id"] for e in changes]
