"""Building the client: credentials kinds, scopes and clear errors for a bad credentials file."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from sync.sources.google.client import SCOPES, CalendarClient, ClientConfig, GoogleAuth
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
        http = client.service()._http
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


def test_a_thread_builds_a_resource_collection_once_and_threads_do_not_share_it() -> None:
    """Building ``service.events()`` renders eleven methods' docs: once per thread, not per call."""
    client = CalendarClient(ClientConfig(endpoint="http://127.0.0.1:9/", auth=GoogleAuth.NONE))
    events = client.resource("events")
    assert client.resource("events") is events
    assert client.resource("calendarList") is not events
    other: list[object] = []
    thread = threading.Thread(target=lambda: other.append(client.resource("events")))
    thread.start()
    thread.join()
    assert other[0] is not events
    client.close()
