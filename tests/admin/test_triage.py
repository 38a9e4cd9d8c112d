"""The admin home is what needs attention; a conflict reads in words and keeps its reason
(SPEC §8, issue 15 item 2), over HTTP against the emulator and the real cycle."""

from __future__ import annotations

import base64
import csv
import html
import io
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from sqlalchemy import Engine

from sync.bootstrap import Services
from sync.store.audit import record_audit_event
from sync.store.conflicts import list_conflicts
from sync.store.database import session_scope
from sync.usecases.cycle import run_clinic_pass
from sync.web.server import WebServer
from tests.admin.conftest import ADMIN, NOW, Accounts, Json, Seeded, api, csrf_of, sign_in
from tests.clinics import clinic_profile
from tests.cycle.conftest import PATIENT

_ROW = re.compile(r"<tr>\s*<td data-label=\"Booking\">.*?</tr>", re.S)


def _rows(page: str) -> list[str]:
    """The triage table's rows, as text without tags."""
    return [html.unescape(re.sub(r"<[^>]+>", " ", row)) for row in _ROW.findall(page)]


def _words(text: str) -> str:
    return " ".join(text.split())


def _seed_three(
    services: Services, insert: Callable[..., Json], calendars: tuple[str, str]
) -> None:
    """Tom Begum's Botox on 12 Jan, Jane Doe's on 17 Jan, Ann Lee's already past (27 Dec)."""
    smith, room = calendars
    insert(smith, "Microneedling Jane Doe", "2030-01-10T10:00:00+00:00", attendees=PATIENT)
    insert(room, "Botox Jane Doe", "2030-01-17T10:00:00+00:00", attendees=PATIENT)
    insert(smith, "Microneedling - Tom Begum", "2030-01-05T09:00:00+00:00")
    insert(smith, "Botox 20u - Tom Begum", "2030-01-12T15:30:00+00:00")
    insert(room, "Microneedling Ann Lee", "2029-12-20T09:00:00+00:00")
    insert(room, "Botox Ann Lee", "2029-12-27T09:00:00+00:00")
    run_clinic_pass(services, now=NOW, clock=lambda: NOW)


def test_home_lists_upcoming_conflicts_soonest_appointment_first_without_past_bookings(
    web: httpx.Client,
    accounts: Accounts,
    services: Services,
    insert: Callable[..., Json],
    calendars: tuple[str, str],
) -> None:
    _seed_three(services, insert, calendars)
    sign_in(web, ADMIN)
    home = web.get("/admin/")
    assert home.status_code == 200
    rows = _rows(home.text)
    assert len(rows) == 2
    assert "Tom Begum" in rows[0]
    assert "Jane Doe" in rows[1]
    assert "Ann Lee" not in home.text  # her Botox was on 27 Dec, before now
    assert "2 conflicts need attention" in _words(home.text)
    everything = _rows(web.get("/admin/", params={"when": "all"}).text)
    assert ["Ann Lee" in row for row in everything] == [True, False, False]


def test_home_names_the_patient_as_written_not_by_their_key(
    web: httpx.Client,
    accounts: Accounts,
    services: Services,
    insert: Callable[..., Json],
    calendars: tuple[str, str],
) -> None:
    _seed_three(services, insert, calendars)
    sign_in(web, ADMIN)
    home = web.get("/admin/").text
    assert "Tom Begum" in home
    assert "Jane Doe" in home
    assert "begum tom" not in home
    assert "jane.doe@example.com" not in home
    found = web.get("/admin/", params={"patient": "Tom Begum"}).text  # as staff type it
    assert [row for row in _rows(found) if "Tom Begum" in row] == _rows(found) != []


def test_a_row_says_when_where_who_the_gap_the_eligible_day_and_links_to_google_calendar(
    web: httpx.Client,
    accounts: Accounts,
    services: Services,
    insert: Callable[..., Json],
    calendars: tuple[str, str],
    engine: Engine,
) -> None:
    smith, room = calendars
    insert(smith, "Microneedling Jane Doe", "2030-01-10T10:00:00+00:00", attendees=PATIENT)
    botox = insert(room, "Botox Jane Doe", "2030-01-17T10:00:00+00:00", attendees=PATIENT)
    run_clinic_pass(services, now=NOW, clock=lambda: NOW)
    clinic_profile(engine, time_zone="America/New_York")  # the clinic reads its own time
    sign_in(web, ADMIN)
    page = web.get("/admin/").text
    [row] = _rows(page)
    assert _words(row).startswith("Thu 17 Jan 2030 05:00 Jane Doe Room 2 7 days Thu 24 Jan 2030")
    assert "Open in Google Calendar" in row
    assert f'href="{html.escape(botox["htmlLink"])}"' in page
    assert 'target="_blank" rel="noopener noreferrer"' in page


def test_the_emulator_gives_each_event_the_htmlLink_google_does_and_the_store_keeps_it(
    accounts: Accounts,
    server: WebServer,
    services: Services,
    insert: Callable[..., Json],
    calendars: tuple[str, str],
    service: Any,
) -> None:
    smith, room = calendars
    insert(smith, "Microneedling Jane Doe", "2030-01-10T10:00:00+00:00", attendees=PATIENT)
    botox = insert(room, "Botox Jane Doe", "2030-01-17T10:00:00+00:00", attendees=PATIENT)
    link = service.events().get(calendarId=room, eventId=botox["id"]).execute()["htmlLink"]
    listed = service.events().list(calendarId=room).execute()["items"]
    assert [item["htmlLink"] for item in listed] == [link] == [botox["htmlLink"]]
    parsed = urlparse(link)
    assert (parsed.scheme, parsed.netloc, parsed.path) == (
        "https",
        "www.google.com",
        "/calendar/event",
    )
    [eid] = parse_qs(parsed.query)["eid"]
    assert base64.urlsafe_b64decode(eid + "=" * (-len(eid) % 4)).decode() == f"{botox['id']} {room}"
    run_clinic_pass(services, now=NOW, clock=lambda: NOW)
    with api(server, accounts.auditor_token) as http:
        [item] = http.get("/api/v1/conflicts").json()["items"]
    assert item["later"]["html_link"] == link
    assert item["earlier"]["html_link"].startswith("https://www.google.com/calendar/event?eid=")


def test_the_conflict_page_has_a_title_in_words_and_its_history_in_sentences(
    web: httpx.Client, accounts: Accounts, seeded: Seeded
) -> None:
    sign_in(web, ADMIN)
    url = f"/admin/conflicts/{seeded.public_id}"
    page = web.get(url)
    data = {"reason": "Consultant approved the gap", "csrf_token": csrf_of(page.text)}
    after = web.post(f"{url}/override", data=data).text
    title = "Jane Doe: Botox on Thu 17 Jan 2030 10:00 — 7 days after Microneedling"
    assert f"<title>{title} · clinic-sync</title>" in after
    assert f"<h1>{title}</h1>" in after
    history = html.unescape(after.split("<h2>History</h2>", 1)[1])
    said = [
        _words(re.sub(r"<[^>]+>", " ", item)) for item in re.findall(r"<li>.*?</li>", history, re.S)
    ]
    detected = "Detected by the worker: the bookings are 7 days apart (patient matched by email)"
    assert said[0] == f"1 Jan 2030 12:00 {detected}"
    assert "1 Jan 2030 12:00 Flagged on the calendar Room 2 by the worker" in said
    assert f"1 Jan 2030 12:00 Overridden by {ADMIN}: Consultant approved the gap" in said
    assert "{" not in history
    assert "detail" not in history


def test_an_action_the_page_does_not_know_still_reads_as_words(
    web: httpx.Client, accounts: Accounts, seeded: Seeded, engine: Engine
) -> None:
    with session_scope(engine) as session:
        [conflict] = list_conflicts(session, 1)
        record_audit_event(
            session, 1, "service", "safe_date.found", conflict_id=conflict.id,
            detail={"slots": [{"start": "x"}]}, at=NOW,
        )  # fmt: skip
    sign_in(web, ADMIN)
    page = html.unescape(web.get(f"/admin/conflicts/{seeded.public_id}").text)
    history = page.split("<h2>History</h2>", 1)[1]
    assert "Safe date found by the worker" in history
    assert "slots" not in history  # the record's detail stays out of the sentence


def test_the_override_reason_is_kept_on_the_conflict_and_shown_in_page_api_and_csv(
    web: httpx.Client, accounts: Accounts, seeded: Seeded, server: WebServer
) -> None:
    reason = "Consultant approved: =SUM(A1)"  # a reviewer's text is data too
    with api(server, accounts.admin_token) as http:
        url = f"/api/v1/conflicts/{seeded.public_id}"
        http.post(f"{url}/override", json={"reason": reason}).raise_for_status()
        got = http.get(url).json()
        [listed] = http.get("/api/v1/conflicts").json()["items"]
    assert got["resolution_reason"] == listed["resolution_reason"] == reason
    assert (got["review_reason"], got["reviewed_by"]) == (reason, ADMIN)
    assert got["reviewed_at"].startswith("2030-01-01T12:00")
    sign_in(web, ADMIN)
    page = web.get(f"/admin/conflicts/{seeded.public_id}").text
    assert f"overridden</span> — {html.escape(reason)}" in page
    [row] = list(csv.DictReader(io.StringIO(web.get("/admin/conflicts.csv").text)))
    assert (row["reason"], row["reviewed_by"]) == (reason, ADMIN)


def test_an_acknowledgement_note_is_kept_and_a_reopen_clears_the_shown_reason(
    web: httpx.Client, accounts: Accounts, seeded: Seeded, server: WebServer
) -> None:
    with api(server, accounts.admin_token) as http:
        url = f"/api/v1/conflicts/{seeded.public_id}"
        acknowledged = http.post(f"{url}/acknowledge", json={"reason": "called the patient"})
        assert acknowledged.json()["conflict"]["resolution_reason"] == "called the patient"
        reopened = http.post(f"{url}/reopen", json={"reason": "wrong patient"}).json()["conflict"]
    assert reopened["resolution_reason"] is None  # open again: nothing excuses it
    assert (reopened["review_reason"], reopened["reviewed_by"]) == ("wrong patient", ADMIN)
    sign_in(web, ADMIN)
    [row] = list(csv.DictReader(io.StringIO(web.get("/admin/conflicts.csv").text)))
    assert (row["state"], row["reason"], row["reviewed_by"]) == ("open", "", ADMIN)
