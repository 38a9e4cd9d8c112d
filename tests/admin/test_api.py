"""``/api/v1`` with bearer tokens against a live server (SPEC §8)."""

from __future__ import annotations

from typing import Any

import httpx

from sync.web.server import WebServer
from tests.admin.conftest import ADMIN, Accounts, Seeded, api

Json = dict[str, Any]


def _event(service: Any, seeded: Seeded) -> Json:
    events = service.events()
    return dict(events.get(calendarId=seeded.calendar, eventId=seeded.event_id).execute())


def test_without_a_token_the_api_answers_401(server: WebServer) -> None:
    with api(server, "csa_not-a-token") as http:
        assert http.get("/api/v1/conflicts").status_code == 401
    with httpx.Client(base_url=server.url) as http:
        answer = http.get("/api/v1/me")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"


def test_list_filters_and_get_show_the_conflict_with_its_history(
    server: WebServer, accounts: Accounts, seeded: Seeded
) -> None:
    with api(server, accounts.auditor_token) as http:
        page = http.get("/api/v1/conflicts", params={"state": "flagged", "patient": "jane"}).json()
        none = http.get("/api/v1/conflicts", params={"calendar": "nobody"}).json()
        detail = http.get(f"/api/v1/conflicts/{seeded.public_id}").json()
    assert page["total"] == 1
    assert page["items"][0]["id"] == seeded.public_id
    assert none["total"] == 0
    assert detail["earliest_eligible"] == "2030-01-24"
    assert detail["ideal_window"] == ["2030-01-24", "2030-02-07"]
    assert detail["matched_by"] == "email"
    assert [e["action"] for e in detail["history"]] == ["conflict.detected", "flag.written"]


def test_conflicts_give_the_patient_s_name_as_the_booking_writes_it_beside_the_key(
    server: WebServer, accounts: Accounts, seeded: Seeded
) -> None:
    with api(server, accounts.auditor_token) as http:
        [item] = http.get("/api/v1/conflicts").json()["items"]
        detail = http.get(f"/api/v1/conflicts/{seeded.public_id}").json()
    for conflict in (item, detail):
        assert conflict["patient_name"] == "Jane Doe"
        assert (conflict["patient_kind"], conflict["matched_by"]) == ("email", "email")
        assert conflict["patient"] != "Jane Doe"


def test_an_auditor_cannot_act(server: WebServer, accounts: Accounts, seeded: Seeded) -> None:
    with api(server, accounts.auditor_token) as http:
        answer = http.post(f"/api/v1/conflicts/{seeded.public_id}/override", json={"reason": "x"})
        issue = http.post("/api/v1/feed-tokens", json={"scope": "clinic"})
    assert answer.status_code == 403
    assert issue.status_code == 403


def test_override_needs_a_reason_then_removes_the_flag_and_is_audited(
    server: WebServer, accounts: Accounts, seeded: Seeded, service: Any
) -> None:
    assert "extendedProperties" in _event(service, seeded)
    with api(server, accounts.admin_token) as http:
        refused = http.post(f"/api/v1/conflicts/{seeded.public_id}/override", json={"reason": " "})
        done = http.post(
            f"/api/v1/conflicts/{seeded.public_id}/override",
            json={"reason": "consultant approved"},
        )
        again = http.post(f"/api/v1/conflicts/{seeded.public_id}/acknowledge", json={})
        trail = http.get("/api/v1/audit", params={"action": "review."}).json()
    assert refused.status_code == 409
    assert done.status_code == 200
    body = done.json()
    assert body["conflict"]["state"] == "overridden"
    assert body["calendar"] == "the flag was taken off the calendar"
    assert "CLINIC-SYNC" not in _event(service, seeded).get("description", "").upper()
    assert again.status_code == 409
    [entry] = trail["items"]
    assert entry["actor"] == ADMIN
    assert entry["detail"]["reason"] == "consultant approved"


def test_reopen_puts_the_flag_back(
    server: WebServer, accounts: Accounts, seeded: Seeded, service: Any
) -> None:
    url = f"/api/v1/conflicts/{seeded.public_id}"
    with api(server, accounts.admin_token) as http:
        http.post(f"{url}/override", json={"reason": "approved"}).raise_for_status()
        reopened = http.post(f"{url}/reopen", json={"reason": "approved by mistake"}).json()
    assert reopened["calendar"] == "the flag was written on the calendar"
    assert reopened["conflict"]["state"] == "flagged"
    assert "colorId" in _event(service, seeded)


def test_feed_tokens_are_issued_once_listed_and_revoked(
    server: WebServer, accounts: Accounts, seeded: Seeded
) -> None:
    with api(server, accounts.admin_token) as http:
        issued = http.post("/api/v1/feed-tokens", json={"scope": "clinic", "label": "front desk"})
        bad = http.post("/api/v1/feed-tokens", json={"scope": "calendar", "value": "nope"})
        token_id = issued.json()["token"]["id"]
        listed = http.get("/api/v1/feed-tokens").json()
        revoked = http.post(f"/api/v1/feed-tokens/{token_id}/revoke").json()
        unknown = http.post("/api/v1/feed-tokens/999/revoke")
        feed = http.get(issued.json()["url"].replace("http://clinic.example", ""))
        trail = http.get("/api/v1/audit", params={"action": "feed_token."}).json()
    assert issued.status_code == 201
    assert "/feeds/" in issued.json()["url"]
    assert bad.status_code == 422
    assert [problem["loc"] for problem in bad.json()["detail"]] == [["body", "value"]]
    assert [t["label"] for t in listed] == ["front desk"]
    assert "url" not in listed[0]
    assert revoked["revoked_at"] is not None
    assert unknown.status_code == 404
    assert feed.status_code == 404
    assert [e["action"] for e in trail["items"]] == ["feed_token.revoked", "feed_token.issued"]


def test_health_lists_each_calendar(server: WebServer, accounts: Accounts, seeded: Seeded) -> None:
    with api(server, accounts.auditor_token) as http:
        health = http.get("/api/v1/health").json()
    assert len(health) == 2
    assert all(c["last_sync_at"] and c["consecutive_failures"] == 0 for c in health)


def test_an_id_beyond_the_store_s_range_is_a_client_error(
    server: WebServer, accounts: Accounts
) -> None:
    with api(server, accounts.admin_token) as http:
        answer = http.post(f"/api/v1/feed-tokens/{2**63}/revoke")
    assert answer.status_code == 422
