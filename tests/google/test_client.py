"""Building the client: credentials kinds, scopes and clear errors for a bad credentials file."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from sync.sources.google import discovery
from sync.sources.google.client import SCOPES, CalendarClient, ClientConfig, GoogleAuth
from sync.sources.google.discovery import (
    _ENDPOINTS,
    BoundCollection,
    UnboundRequest,
    bound_service,
)
from sync.sources.google.errors import CredentialsError


def test_only_least_privilege_scopes_are_asked_for() -> None:
    assert SCOPES == (
        "https://www.googleapis.com/auth/calendar.events",
        "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
        "https://www.googleapis.com/auth/calendar.events.freebusy",
    )


def test_an_authorized_user_file_gives_an_authorised_connection(tmp_path: Path) -> None:
    path = tmp_path / "token.json"
    user = {
        "client_id": "id",
        "client_secret": "s",
        "refresh_token": "r",
        "type": "authorized_user",
    }
    path.write_text(json.dumps(user), encoding="utf-8")
    client = CalendarClient(ClientConfig(auth=GoogleAuth.OAUTH, credentials_file=path))
    try:
        http = client.service().http
        assert type(http).__name__ == "AuthorizedHttp"
        assert tuple(http.credentials.scopes) == SCOPES
    finally:
        client.close()


@pytest.mark.parametrize("auth", [GoogleAuth.OAUTH, GoogleAuth.SERVICE_ACCOUNT])
def test_a_missing_or_wrong_credentials_file_is_a_setup_error(
    tmp_path: Path, auth: GoogleAuth
) -> None:
    with pytest.raises(CredentialsError, match="cannot be read"):
        CalendarClient(ClientConfig(auth=auth, credentials_file=tmp_path / "nope.json"))
    wrong = tmp_path / "wrong.json"
    wrong.write_text("{}", encoding="utf-8")
    with pytest.raises(CredentialsError, match="not usable"):
        CalendarClient(ClientConfig(auth=auth, credentials_file=wrong))


def test_no_auth_needs_no_file() -> None:
    client = CalendarClient(ClientConfig(auth=GoogleAuth.NONE))
    assert client.batch_uri == "https://www.googleapis.com/batch/calendar/v3"


def test_collections_are_built_once_for_every_client_and_thread() -> None:
    """Building ``service.events()`` renders eleven methods' docs and the service holds a
    parsed discovery document (about 1 MB): once per endpoint, not per client or thread."""
    config = ClientConfig(endpoint="http://127.0.0.1:9/", auth=GoogleAuth.NONE)
    client, other_client = CalendarClient(config), CalendarClient(config)
    events = client.resource("events")
    other: list[BoundCollection] = []
    thread = threading.Thread(target=lambda: other.append(client.resource("events")))
    thread.start()
    thread.join()
    shared = events._collection
    assert other_client.resource("events")._collection is shared
    assert other[0]._collection is shared
    assert client.resource("calendarList")._collection is not shared
    client.close()
    other_client.close()


def test_each_request_goes_through_the_calling_threads_transport_of_its_client() -> None:
    """httplib2 is not thread-safe: a request carries its thread's ``Http`` of its client."""
    config = ClientConfig(endpoint="http://127.0.0.1:9/", auth=GoogleAuth.NONE)
    client, other_client = CalendarClient(config), CalendarClient(config)
    request = client.resource("events").list(calendarId="primary")
    assert request.http is client.service().http
    assert other_client.resource("events").list(calendarId="primary").http is not request.http
    elsewhere: list[Any] = []
    thread = threading.Thread(
        target=lambda: elsewhere.append(client.resource("events").get(calendarId="a", eventId="b"))
    )
    thread.start()
    thread.join()
    assert elsewhere[0].http not in (request.http, None)
    assert request.uri.startswith("http://127.0.0.1:9/calendars/primary/events")
    client.close()
    other_client.close()


def test_a_request_of_the_shared_service_not_bound_to_a_client_is_refused() -> None:
    """The shared service never connects by itself: a request must carry a client's Http."""
    root = bound_service("http://127.0.0.1:9/", None)._shared.root
    with pytest.raises(UnboundRequest, match="without a client's transport"):
        root.events().list(calendarId="primary").execute()


def test_services_are_kept_for_a_few_endpoints_only() -> None:
    """A process talks to one endpoint; one starting many emulators keeps the last few."""
    endpoints = [f"http://127.0.0.1:{port}/" for port in range(20001, 20001 + 2 * _ENDPOINTS)]
    first = bound_service(endpoints[0], None)
    for endpoint in endpoints:
        bound_service(endpoint, None)
    assert len(discovery._services) == _ENDPOINTS
    assert first.events().list(calendarId="primary").uri.startswith(endpoints[0])
