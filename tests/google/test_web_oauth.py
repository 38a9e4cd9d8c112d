"""Connect Google from the browser: the web-server flow against the emulator's OAuth endpoints.

Each test follows the consent page over real HTTP as a browser would, then hands the
callback's query to :meth:`WebSignIn.finish`; the grant it returns drives the real
google-api-python-client, is stored encrypted and refreshed as the worker does, and is
revoked as a disconnect does.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.oauth2.credentials import Credentials
from sqlalchemy import Engine

from sync.bootstrap import google_client, google_web_sign_in
from sync.config import Settings
from sync.emulator import EmulatorServer, OAuthClient
from sync.errors import ConfigError
from sync.secrets import SecretBox, new_key
from sync.sources.google import CalendarClient, ClientConfig
from sync.sources.google.client import SCOPES
from sync.sources.google.errors import CredentialsError, ProviderUnavailable
from sync.sources.google.grants import ReconnectRequired, load_or_mark, save_oauth_grant
from sync.sources.google.oauth import SignInFailed
from sync.sources.google.web_oauth import (
    CALLBACK_PATH,
    OAuthEndpoints,
    PendingSignIn,
    SignInStart,
    WebSignIn,
)
from sync.store.clinics import get_or_create_clinic
from sync.store.database import session_scope
from tests.emulator.browser import Redirect, answer_consent

PUBLIC_URL = "http://127.0.0.1:8000"
CALLBACK = f"{PUBLIC_URL}{CALLBACK_PATH}"
CLIENT = OAuthClient("web-1.apps.googleusercontent.com", "s3cret", (CALLBACK,), "Clinic Sync")
WEB_SECRETS = {
    "web": {
        "client_id": CLIENT.client_id,
        "client_secret": CLIENT.client_secret,
        "redirect_uris": [CALLBACK],
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
}
KEY = new_key()


@pytest.fixture
def google(emulator: EmulatorServer) -> EmulatorServer:
    """The emulator with the clinic's web client registered, taking only live tokens."""
    emulator.add_oauth_client(CLIENT)
    emulator.require_auth()
    return emulator


@pytest.fixture
def sign_in(google: EmulatorServer) -> WebSignIn:
    return WebSignIn(WEB_SECRETS, CALLBACK, endpoints=OAuthEndpoints.at(google.url))


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    with httpx.Client(follow_redirects=False) as client:
        yield client


def settings_for(google: EmulatorServer, secrets_file: Path) -> Settings:
    return Settings(
        database_url="sqlite://",
        google_api_endpoint=google.url,
        google_auth="oauth",
        google_client_secrets=secrets_file,
        google_oauth_base_url=google.url,
        public_url=PUBLIC_URL,
        secret_key=KEY,
    )


def connected(sign_in: WebSignIn, browser: httpx.Client, **consent: Any) -> tuple[str, Redirect]:
    """The whole dance: start, consent in the browser, finish with the callback's query."""
    start = sign_in.start()
    redirect = answer_consent(browser, start.url, **consent)
    return callback(sign_in, start, redirect), redirect


def callback(sign_in: WebSignIn, start: SignInStart, redirect: Redirect) -> str:
    query = redirect.params
    return sign_in.finish(
        start.pending, state=query.get("state"), code=query.get("code"), error=query.get("error")
    )


def calendar_ids(google: EmulatorServer, credentials: Any) -> list[str]:
    client = CalendarClient(ClientConfig(endpoint=google.url), credentials=credentials)
    try:
        items = client.service().calendarList().list().execute()["items"]
    finally:
        client.close()
    return [item["id"] for item in items]


def credentials_of(grant: str, google: EmulatorServer) -> Credentials:
    info = json.loads(grant)
    return Credentials.from_authorized_user_info({**info, "token_uri": google.token_uri})  # type: ignore[no-untyped-call]


# Starting ---------------------------------------------------------------------------------


def test_start_asks_for_what_googles_guide_documents(sign_in: WebSignIn) -> None:
    """Code flow, exactly the two scopes, offline, consent, incremental, state and S256 PKCE."""
    start = sign_in.start()
    url = urllib.parse.urlsplit(start.url)
    query = dict(urllib.parse.parse_qsl(url.query))
    digest = hashlib.sha256(start.pending.code_verifier.encode()).digest()
    assert query.pop("state") == start.pending.state
    assert query.pop("code_challenge") == base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert query == {
        "client_id": CLIENT.client_id,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": " ".join(SCOPES),
        "access_type": "offline",
        "prompt": "consent",
        "include_granted_scopes": "true",
        "code_challenge_method": "S256",
    }
    assert url.path == "/o/oauth2/v2/auth"


def test_each_start_has_its_own_state_and_verifier(sign_in: WebSignIn) -> None:
    first, second = sign_in.start().pending, sign_in.start().pending
    assert first.state != second.state
    assert first.code_verifier != second.code_verifier
    assert len(first.state) >= 32
    assert 43 <= len(first.code_verifier) <= 128


def test_pending_sign_in_survives_a_session_round_trip(sign_in: WebSignIn) -> None:
    pending = sign_in.start().pending
    assert PendingSignIn.from_json(json.loads(json.dumps(pending.as_json()))) == pending


# Finishing --------------------------------------------------------------------------------


def test_whole_dance_gives_a_grant_the_real_client_lists_calendars_with(
    google: EmulatorServer, sign_in: WebSignIn, browser: httpx.Client
) -> None:
    grant, redirect = connected(sign_in, browser)
    info = json.loads(grant)
    assert redirect.location.startswith(CALLBACK)
    assert info["client_id"] == CLIENT.client_id
    assert info["refresh_token"].startswith("1//")
    assert sorted(info["scopes"]) == sorted(SCOPES)
    assert calendar_ids(google, credentials_of(grant, google)) == ["owner@clinic.example"]


def test_stored_grant_is_encrypted_and_refreshed_after_expiry(
    google: EmulatorServer,
    sign_in: WebSignIn,
    browser: httpx.Client,
    engine: Engine,
    tmp_path: Path,
) -> None:
    """What the callback stores, the worker loads through bootstrap and refreshes."""
    grant, _ = connected(sign_in, browser)
    with session_scope(engine) as session:
        clinic_id = get_or_create_clinic(session, "default").id
        stored = save_oauth_grant(session, clinic_id, grant, SecretBox([KEY]))
        assert json.loads(grant)["refresh_token"] not in stored.secret
    secrets_file = tmp_path / "client.json"
    secrets_file.write_text(json.dumps(WEB_SECRETS), encoding="utf-8")
    settings = settings_for(google, secrets_file)
    google.advance_oauth_clock(3600)  # the access token from the sign-in has expired
    client = google_client(settings, engine, clinic_id)
    try:
        assert client.service().calendarList().list().execute()["items"]
    finally:
        client.close()


def test_deny_is_a_clear_refusal(sign_in: WebSignIn, browser: httpx.Client) -> None:
    with pytest.raises(SignInFailed, match="not allowed, so nothing was connected") as refused:
        connected(sign_in, browser, press="Deny")
    assert refused.value.reason == "access_denied"


def test_callback_from_another_session_is_refused(
    sign_in: WebSignIn, browser: httpx.Client
) -> None:
    """A code that comes back with someone else's state (login CSRF) is never exchanged."""
    theirs = sign_in.start()
    redirect = answer_consent(browser, theirs.url)
    mine = sign_in.start()
    with pytest.raises(SignInFailed, match="state does not match") as refused:
        callback(sign_in, mine, redirect)
    assert refused.value.reason == "state_mismatch"
    with pytest.raises(SignInFailed, match="no Google sign-in was started"):
        PendingSignIn.from_json(None)


def test_wrong_verifier_is_refused(sign_in: WebSignIn, browser: httpx.Client) -> None:
    start = sign_in.start()
    redirect = answer_consent(browser, start.url)
    forged = dataclasses.replace(
        start, pending=dataclasses.replace(start.pending, code_verifier="x" * 64)
    )
    with pytest.raises(SignInFailed, match="Invalid code verifier") as refused:
        callback(sign_in, forged, redirect)
    assert refused.value.reason == "invalid_grant"


def test_replayed_callback_is_refused(sign_in: WebSignIn, browser: httpx.Client) -> None:
    start = sign_in.start()
    redirect = answer_consent(browser, start.url)
    callback(sign_in, start, redirect)
    with pytest.raises(SignInFailed, match="expired or was already used") as refused:
        callback(sign_in, start, redirect)
    assert refused.value.reason == "invalid_grant"


def test_changed_redirect_uri_is_a_setup_error(sign_in: WebSignIn, browser: httpx.Client) -> None:
    """The callback URL must be the one the sign-in started with (and registered)."""
    start = sign_in.start()
    redirect = answer_consent(browser, start.url)
    moved = dataclasses.replace(start.pending, redirect_uri="http://127.0.0.1:9000/cb")
    with pytest.raises(CredentialsError, match="authorised redirect URI") as refused:
        callback(sign_in, dataclasses.replace(start, pending=moved), redirect)
    assert refused.value.reason == "redirect_uri_mismatch"


def test_wrong_client_secret_is_a_setup_error(
    google: EmulatorServer, browser: httpx.Client
) -> None:
    wrong = {"web": {**WEB_SECRETS["web"], "client_secret": "guess"}}
    sign_in = WebSignIn(wrong, CALLBACK, endpoints=OAuthEndpoints.at(google.url))
    with pytest.raises(CredentialsError, match="CLINIC_SYNC_GOOGLE_CLIENT_SECRETS") as refused:
        connected(sign_in, browser)
    assert refused.value.reason == "invalid_client"


def test_a_permission_left_unticked_is_refused_and_given_back(
    google: EmulatorServer, sign_in: WebSignIn, browser: httpx.Client
) -> None:
    """Granular consent: a grant without both scopes is not stored, and Google takes it back."""
    with pytest.raises(SignInFailed, match="view and edit events") as refused:
        connected(sign_in, browser, untick=[SCOPES[0]])
    assert refused.value.reason == "scopes_missing"
    assert google.account.oauth.granted(CLIENT.client_id) == frozenset()


def test_incremental_consent_keeps_what_was_granted_before(
    google: EmulatorServer, sign_in: WebSignIn, browser: httpx.Client
) -> None:
    """A scope the account gave the client earlier comes back with the new grant."""
    earlier = "https://www.googleapis.com/auth/calendar.settings.readonly"
    query = {
        "client_id": CLIENT.client_id,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": earlier,
    }
    answer_consent(browser, f"{google.auth_uri}?{urllib.parse.urlencode(query)}")
    grant, _ = connected(sign_in, browser)
    assert sorted(json.loads(grant)["scopes"]) == sorted([*SCOPES, earlier])


def test_unreachable_token_endpoint_is_try_again_later(
    sign_in: WebSignIn, browser: httpx.Client
) -> None:
    start = sign_in.start()
    redirect = answer_consent(browser, start.url)
    down = WebSignIn(WEB_SECRETS, CALLBACK, endpoints=OAuthEndpoints.at("http://127.0.0.1:9"))
    with pytest.raises(ProviderUnavailable, match="cannot reach"):
        callback(down, start, redirect)


# Revoking ---------------------------------------------------------------------------------


def test_revoke_ends_the_grant_at_google(
    google: EmulatorServer, sign_in: WebSignIn, browser: httpx.Client, engine: Engine
) -> None:
    """After a disconnect the API answers 401 and the stored grant asks to reconnect."""
    grant, _ = connected(sign_in, browser)
    access = json.loads(grant)["token"]
    with session_scope(engine) as session:
        clinic_id = get_or_create_clinic(session, "default").id
        save_oauth_grant(session, clinic_id, grant, SecretBox([KEY]))
    assert sign_in.revoke(grant) is True
    answer = browser.get(
        f"{google.url}calendar/v3/users/me/calendarList",
        headers={"Authorization": f"Bearer {access}"},
    )
    assert answer.status_code == 401
    with pytest.raises(ReconnectRequired, match="invalid_grant"):
        load_or_mark(engine, clinic_id, SecretBox([KEY]), token_uri=google.token_uri)
    assert sign_in.revoke(grant) is False  # already gone: disconnecting again is fine


def test_revoke_needs_a_grant_with_a_token(sign_in: WebSignIn) -> None:
    with pytest.raises(CredentialsError, match="no token"):
        sign_in.revoke(json.dumps({"client_id": CLIENT.client_id}))


# Settings and client secrets --------------------------------------------------------------


@pytest.mark.parametrize("kind", ["web", "installed"])
def test_bootstrap_builds_the_flow_from_either_client_kind(
    google: EmulatorServer, tmp_path: Path, kind: str
) -> None:
    secrets_file = tmp_path / "client.json"
    secrets_file.write_text(json.dumps({kind: WEB_SECRETS["web"]}), encoding="utf-8")
    sign_in = google_web_sign_in(settings_for(google, secrets_file))
    start = sign_in.start()
    assert start.url.startswith(google.auth_uri + "?")
    assert start.pending.redirect_uri == CALLBACK


def test_bootstrap_needs_client_secrets(google: EmulatorServer) -> None:
    settings = settings_for(google, Path("unused")).model_copy(
        update={"google_client_secrets": None}
    )
    with pytest.raises(ConfigError, match="CLINIC_SYNC_GOOGLE_CLIENT_SECRETS"):
        google_web_sign_in(settings)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"type": "service_account"}, "no 'web' or 'installed' section"),
        ({"web": {"client_id": "x"}}, "lacks client_secret"),
    ],
)
def test_unusable_client_secrets_say_why(
    tmp_path: Path, document: dict[str, Any], message: str
) -> None:
    path = tmp_path / "client.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(CredentialsError, match=message):
        WebSignIn.from_client_secrets(path, CALLBACK)


def test_default_endpoints_are_googles(tmp_path: Path) -> None:
    path = tmp_path / "client.json"
    path.write_text(json.dumps(WEB_SECRETS), encoding="utf-8")
    start = WebSignIn.from_client_secrets(path, CALLBACK).start()
    assert start.url.startswith("https://accounts.google.com/o/oauth2/v2/auth?")
