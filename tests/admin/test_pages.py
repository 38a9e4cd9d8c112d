"""The admin UI over HTTP: sign-in, CSRF, roles, rate limit, CSV, hostile text (SPEC §8)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx

from sync.bootstrap import Services
from sync.emulator import EmulatorServer
from sync.usecases.cycle import run_clinic_pass
from sync.web.server import WebServer
from tests.admin.conftest import (
    ADMIN,
    AUDITOR,
    HOSTILE,
    NOW,
    Accounts,
    Json,
    Seeded,
    api,
    csrf_of,
    seed_conflict,
    sign_in,
)
from tests.google.conftest import UNSTORABLE_REASON, seed_unstorable


def test_pages_send_a_visitor_to_sign_in_and_back(web: httpx.Client, accounts: Accounts) -> None:
    answer = web.get("/admin/audit")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/login?next=/admin/audit"
    form = web.get("/admin/login", params={"next": "/admin/audit"})
    data = {"email": ADMIN, "password": "a long enough password", "csrf_token": csrf_of(form.text)}
    signed = web.post("/admin/login", data={**data, "next": "/admin/audit"})
    assert signed.status_code == 303
    assert signed.headers["location"] == "/admin/audit"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # the public URL of these tests is http
    assert "login.succeeded" in web.get("/admin/audit").text


def test_an_open_redirect_after_sign_in_goes_home_instead(
    web: httpx.Client, accounts: Accounts
) -> None:
    form = web.get("/admin/login")
    data = {"email": ADMIN, "password": "a long enough password", "csrf_token": csrf_of(form.text)}
    answer = web.post("/admin/login", data={**data, "next": "//evil.example/admin/"})
    assert answer.headers["location"] == "/admin/"


def test_signing_in_without_a_next_page_lands_on_the_triage_home(
    web: httpx.Client, accounts: Accounts
) -> None:
    form = web.get("/admin/login")
    data = {"email": ADMIN, "password": "a long enough password", "csrf_token": csrf_of(form.text)}
    answer = web.post("/admin/login", data=data)
    assert answer.headers["location"] == "/admin/"


def test_a_form_post_without_its_csrf_token_is_refused(
    web: httpx.Client, accounts: Accounts, seeded: Seeded
) -> None:
    assert sign_in(web, ADMIN).status_code == 303
    url = f"/admin/conflicts/{seeded.public_id}/override"
    missing = web.post(url, data={"reason": "approved"})
    wrong = web.post(url, data={"reason": "approved", "csrf_token": "guess"})
    login = httpx.post(f"{web.base_url}/admin/login", data={"email": ADMIN, "password": "x"})
    assert missing.status_code == 403
    assert wrong.status_code == 403
    assert login.status_code == 403
    assert "flagged" in web.get(f"/admin/conflicts/{seeded.public_id}").text


def test_an_auditor_reads_but_cannot_act(
    web: httpx.Client, accounts: Accounts, seeded: Seeded
) -> None:
    sign_in(web, AUDITOR)
    page = web.get(f"/admin/conflicts/{seeded.public_id}")
    assert page.status_code == 200
    assert "Override and remove the flag" not in page.text
    data = {"reason": "approved", "csrf_token": csrf_of(page.text)}
    answer = web.post(f"/admin/conflicts/{seeded.public_id}/override", data=data)
    assert answer.status_code == 403
    assert "read-only" in answer.text


def test_failed_sign_ins_are_rate_limited_per_account(
    server: WebServer, accounts: Accounts
) -> None:
    codes = []
    for _ in range(6):
        with httpx.Client(base_url=server.url) as web:
            codes.append(sign_in(web, ADMIN, "wrong password!").status_code)
    assert codes == [401] * 5 + [429]
    with httpx.Client(base_url=server.url) as web:
        refused = sign_in(web, ADMIN)  # even the right password waits out the window
    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= 900
    with httpx.Client(base_url=server.url) as web:
        sign_in(web, AUDITOR)
        trail = web.get("/admin/audit", params={"action": "login.failed"}).text
    assert "wrong password" not in trail


def test_hostile_titles_are_escaped_and_csv_cells_cannot_be_formulas(
    web: httpx.Client,
    accounts: Accounts,
    services: Services,
    insert: Callable[..., Any],
    calendars: tuple[str, str],
) -> None:
    seed_conflict(services, insert, calendars, title="=cmd|' /C calc'!A0 " + HOSTILE)
    sign_in(web, ADMIN)
    page = web.get("/admin/conflicts")
    assert "<script>" not in page.text
    assert "&lt;script&gt;" in page.text
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none'
    export = web.get("/admin/conflicts.csv", params={"state": "flagged"})
    [row] = list(csv.DictReader(io.StringIO(export.text)))
    assert row["later_summary"].startswith("'=cmd")
    assert export.headers["content-type"].startswith("text/csv")


def test_list_filters_sort_and_page_in_the_query_string(
    web: httpx.Client, accounts: Accounts, seeded: Seeded
) -> None:
    sign_in(web, AUDITOR)
    hit = web.get("/admin/conflicts", params={"patient": "jane", "state": "flagged,open"})
    miss = web.get("/admin/conflicts", params={"date_from": "2030-02-01", "sort": "gap"})
    assert seeded.public_id in hit.text
    assert "1 conflict<" in hit.text
    assert "No conflict matches" in miss.text


def test_feed_tokens_page_shows_a_new_url_once(
    web: httpx.Client, accounts: Accounts, seeded: Seeded
) -> None:
    sign_in(web, ADMIN)
    page = web.get("/admin/feed-tokens")
    data = {"csrf_token": csrf_of(page.text), "scope": "clinic", "label": "desk"}
    issued = web.post("/admin/feed-tokens", data=data)
    assert "http://clinic.example/feeds/" in issued.text
    again = web.get("/admin/feed-tokens")
    assert "/feeds/" not in again.text
    confirmed = {"csrf_token": data["csrf_token"], "confirm": "yes"}
    revoked = web.post("/admin/feed-tokens/1/revoke", data=confirmed)
    assert "Feed token 1 is revoked" in revoked.text


def test_health_and_logout(web: httpx.Client, accounts: Accounts, seeded: Seeded) -> None:
    sign_in(web, ADMIN)
    health = web.get("/admin/health")
    assert health.status_code == 200
    assert "Failures in a row" in health.text
    out = web.post("/admin/logout", data={"csrf_token": csrf_of(health.text)})
    assert out.status_code == 303
    assert web.get("/admin/health").status_code == 303


def test_health_lists_quarantined_events_and_the_last_reconciliation(
    web: httpx.Client,
    accounts: Accounts,
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    emulator: EmulatorServer,
    server: WebServer,
) -> None:
    smith, _ = calendars
    insert(smith, "Botox Jane Doe", "2030-01-10T10:00:00+00:00")
    held = seed_unstorable(emulator, smith, NOW + timedelta(days=10))
    run_clinic_pass(services, now=NOW)
    run_clinic_pass(services, now=NOW + timedelta(days=1))
    sign_in(web, ADMIN)
    page = web.get("/admin/health").text
    assert "Quarantined events" in page
    assert held["id"] in page
    assert UNSTORABLE_REASON in page
    assert "0 corrected" in page
    with api(server, accounts.auditor_token) as http:
        health = http.get("/api/v1/health").json()
    (holding,) = [c for c in health if c["quarantined"]]  # Dr Smith's, not Room 2
    (listed,) = holding["quarantined"]
    assert listed["event_id"] == held["id"]
    assert UNSTORABLE_REASON in listed["reason"]
    assert holding["reconcile_corrections"] == 0
