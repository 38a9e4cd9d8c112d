"""API documentation off by default and never from a CDN; JSON answers not cached (SPEC §8)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from swagger_ui_bundle import swagger_ui_path

from sync.config import Settings
from sync.policy_file import load_policy
from sync.web.app import create_app
from sync.web.server import WebServer
from tests.admin.conftest import ADMIN, Accounts, Clock, api, sign_in

_EXTERNAL = re.compile(r"""(?:src|href)=["'](?:https?:)?//""")


def test_docs_and_redoc_are_off_by_default(web: httpx.Client) -> None:
    for path in ("/docs", "/redoc", "/admin/api-docs", "/docs/oauth2-redirect"):
        assert web.get(path).status_code == 404, path
    schema = web.get("/openapi.json")
    assert schema.status_code == 200
    assert schema.headers["x-content-type-options"] == "nosniff"


def test_api_answers_carry_nosniff_and_no_store(server: WebServer, accounts: Accounts) -> None:
    with api(server, accounts.admin_token) as http:
        for path in ("/api/v1/conflicts", "/api/v1/me", "/api/v1/conflicts/nope"):
            answer = http.get(path)
            assert answer.headers["content-type"].startswith("application/json"), path
            assert answer.headers["x-content-type-options"] == "nosniff", path
            assert answer.headers["cache-control"] == "no-store", path
        unauthorised = httpx.get(f"{server.url}/api/v1/conflicts")
        assert unauthorised.status_code == 401
        assert unauthorised.headers["cache-control"] == "no-store"


@pytest.fixture
def docs_server(settings: Settings, engine: Engine) -> WebServer:
    app = create_app(settings.model_copy(update={"api_docs": True}), engine, clock=Clock())
    with WebServer(app) as running:
        yield running


def test_docs_when_on_need_a_sign_in_and_load_nothing_from_elsewhere(
    docs_server: WebServer, accounts: Accounts
) -> None:
    with httpx.Client(base_url=docs_server.url) as web:
        assert web.get("/docs").headers["location"] == "/admin/api-docs"
        anonymous = web.get("/admin/api-docs")
        assert anonymous.status_code == 303
        assert anonymous.headers["location"].startswith("/admin/login")
        assert web.get("/admin/api-docs/assets/swagger-ui-bundle.js").status_code == 303
        assert sign_in(web, ADMIN).status_code == 303
        page = web.get("/admin/api-docs")
        assert page.status_code == 200
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "script-src 'self'" in policy
        assert "unsafe" not in policy
        assert not _EXTERNAL.search(page.text)
        assert "<script>" not in page.text  # every script is a file (no inline script)
        for src in re.findall(r'(?:src|href)="([^"]+)"', page.text):
            asset = web.get(src)
            assert asset.status_code == 200, src
            assert asset.headers["x-content-type-options"] == "nosniff"
        bundle = web.get("/admin/api-docs/assets/swagger-ui-bundle.js")
        assert bundle.content == (Path(swagger_ui_path) / "swagger-ui-bundle.js").read_bytes()
        assert web.get("/admin/api-docs/assets/..%2Fsecret").status_code == 404
        assert web.get("/admin/api-docs/assets/index.html").status_code == 404


def test_docs_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLINIC_SYNC_API_DOCS", "true")
    assert Settings(_env_file=None).api_docs
    assert load_policy() is not None


def test_access_lines_carry_a_request_id_and_the_user(
    server: WebServer, accounts: Accounts, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.INFO, logger="sync.web.access"),
        api(server, accounts.admin_token) as http,
    ):
        mine = http.get("/api/v1/me", headers={"X-Request-ID": "from-the-proxy-1"})
        fresh = http.get("/api/v1/me")
        hostile = http.get("/api/v1/me", headers={"X-Request-ID": "bad id; user=root"})
    assert mine.headers["x-request-id"] == "from-the-proxy-1"
    assert re.fullmatch(r"[0-9a-f]{32}", fresh.headers["x-request-id"])
    assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["x-request-id"])
    lines = [r for r in caplog.records if r.name == "sync.web.access"]
    ids = [getattr(r, "request_id", None) for r in lines]
    assert "from-the-proxy-1" in ids
    assert fresh.headers["x-request-id"] in ids
    assert {getattr(r, "user", None) for r in lines} == {ADMIN}
