"""A NUL byte (or another control character) in any filter or form never gives HTTP 500.

PostgreSQL cannot hold NUL in text (https://www.postgresql.org/docs/current/datatype-character.html);
the web boundary answers 422 instead. Run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import httpx
import pytest

from sync.web.server import WebServer
from tests.admin.conftest import ADMIN, Accounts, api, csrf_of, sign_in
from tests.store.conftest import blank_engine, engine, postgres_unreachable

__all__ = ["blank_engine", "engine", "postgres_unreachable"]

PAGES = [
    "/admin/conflicts?patient=ja%00ne",
    "/admin/conflicts?calendar=%00",
    "/admin/audit?actor=%00&action=x",
    "/admin/audit?conflict=%00",
]
API = [
    "/api/v1/conflicts?patient=%00",
    "/api/v1/conflicts?clinic=%00",
    "/api/v1/audit?actor=a%00b",
    "/api/v1/audit?action=%00",
]


@pytest.mark.parametrize("path", PAGES)
def test_a_nul_in_a_page_filter_is_refused_not_a_server_error(
    web: httpx.Client, accounts: Accounts, path: str
) -> None:
    sign_in(web, ADMIN)
    assert web.get(path).status_code == 422


@pytest.mark.parametrize("path", API)
def test_a_nul_in_an_api_filter_is_refused_not_a_server_error(
    server: WebServer, accounts: Accounts, path: str
) -> None:
    with api(server, accounts.admin_token) as http:
        answer = http.get(path)
    assert answer.status_code == 422
    assert "control character" in answer.text


def test_a_nul_in_a_form_is_refused_not_a_server_error(
    web: httpx.Client, accounts: Accounts
) -> None:
    form = web.get("/admin/login")
    data = {"email": "admin\x00@clinic.example", "password": "x", "csrf_token": csrf_of(form.text)}
    assert web.post("/admin/login", data=data).status_code == 422


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/conflicts/any/override", {"reason": "bad\u0000reason"}),
        ("/api/v1/feed-tokens", {"scope": "patient", "value": "x", "label": ["ok", "\u0007"]}),
    ],
)
def test_a_nul_in_an_api_json_body_is_refused_not_a_server_error(
    server: WebServer, accounts: Accounts, path: str, body: dict[str, object]
) -> None:
    with api(server, accounts.admin_token) as http:
        answer = http.post(path, json=body)
    assert answer.status_code == 422
    assert "control character" in answer.text


def test_json_without_control_characters_reaches_the_route(
    server: WebServer, accounts: Accounts
) -> None:
    with api(server, accounts.admin_token) as http:
        answer = http.post("/api/v1/conflicts/no-such/override", json={"reason": "tab\tok"})
    assert answer.status_code == 404
