"""Schemathesis over ``/api/v1``: generated requests, a bearer token, the live server (SPEC §8).

Every operation of the app's OpenAPI schema is called with a few generated requests
(bounded so the run stays short); none may get a 5xx answer, and every answer must be
one the schema documents: its status code, content type, headers and body (a 422 too).
Hypothesis drives each operation's strategy directly, so no pytest plugin glue is needed.
"""

from __future__ import annotations

from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sync.web.server import WebServer
from tests.admin.conftest import Accounts, Seeded

MAX_EXAMPLES = 10
# Checks of the answer alone (those that send further requests need schemathesis' own
# transport, see _httpx_arguments).
_CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _no_server_error(
    operation: Any, http: httpx.Client, token: str, statuses: list[int], mode: GenerationMode
) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        sent = case.as_transport_kwargs(headers={"Authorization": f"Bearer {token}"})
        response = http.request(**_httpx_arguments(sent))
        statuses.append(response.status_code)
        where = f"{case.method} {case.formatted_path}"
        assert response.status_code < 500, f"{where}: {response.status_code} {response.text}"
        case.validate_response(response, checks=_CONFORMANCE)

    check()


def _httpx_arguments(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Schemathesis' requests-style arguments as httpx takes them.

    Its own transport uses requests, which the urllib3 replacement that caldav's niquests
    installs breaks; httpx is unaffected.
    """
    kwargs = dict(kwargs)
    kwargs.pop("timeout", None)
    kwargs.pop("verify", None)
    kwargs.pop("allow_redirects", None)
    if kwargs.get("cookies"):
        cookie = "; ".join(f"{name}={value}" for name, value in kwargs["cookies"].items())
        kwargs["headers"] = {**kwargs.get("headers", {}), "Cookie": cookie}
    kwargs.pop("cookies", None)
    if "data" in kwargs:
        kwargs["content"] = kwargs.pop("data")
    return kwargs


# sync/web/feeds.py serves GET and HEAD from one route, so FastAPI warns of a duplicate
# operation id while building the schema; that path is outside /api/v1.
def test_no_generated_request_gets_a_server_error(
    server: WebServer, accounts: Accounts, seeded: Seeded
) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [
        result.ok() for result in schema.include(path_regex="^/api/v1/").get_all_operations()
    ]
    assert len(operations) == 12
    statuses: list[int] = []
    with httpx.Client(timeout=30) as http:
        for operation in operations:
            for mode in GenerationMode:  # valid requests, and invalid ones (422s)
                _no_server_error(operation, http, accounts.admin_token, statuses, mode)
    assert len(statuses) >= len(operations)
    assert {200, 201} <= set(statuses)
