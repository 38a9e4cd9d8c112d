"""Google's OAuth 2.0 endpoints in the emulator, over real HTTP, followed as a browser would.

The authorization request, the consent page, the code exchange with PKCE, refresh and
revocation behave as https://developers.google.com/identity/protocols/oauth2/web-server
documents them, and the Calendar API then takes only live tokens within their scopes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import urllib.parse
from collections.abc import Iterator
from typing import Any

import httplib2
import httpx
import pytest
from google.auth.exceptions import RefreshError
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from sync.emulator import EmulatorServer, OAuthClient, SeedError
from sync.emulator.seed import parse_seed
from tests.emulator.browser import answer_consent, as_form, read_form, redirect_of
from tests.emulator.conftest import calendar_client

EVENTS = "https://www.googleapis.com/auth/calendar.events"
CALENDARS = "https://www.googleapis.com/auth/calendar.calendarlist.readonly"
CALLBACK = "http://127.0.0.1:8000/oauth/google/callback"
CLIENT = OAuthClient("web-1.apps.googleusercontent.com", "s3cret", (CALLBACK,), "Clinic Sync")


@pytest.fixture
def google(emulator: EmulatorServer) -> EmulatorServer:
    """The emulator with the clinic's OAuth client registered."""
    emulator.add_oauth_client(CLIENT)
    return emulator


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    with httpx.Client(follow_redirects=False) as client:
        yield client


def pkce() -> tuple[str, str]:
    """A code verifier and its S256 challenge (RFC 7636 §4.1-4.2)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def auth_url(server: EmulatorServer, challenge: str | None = None, **params: str) -> str:
    query = {
        "client_id": CLIENT.client_id,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": f"{EVENTS} {CALENDARS}",
        "state": "st-123",
        "access_type": "offline",
        **({"code_challenge": challenge, "code_challenge_method": "S256"} if challenge else {}),
        **params,
    }
    return f"{server.auth_uri}?{urllib.parse.urlencode(query)}"


def exchange(
    browser: httpx.Client, server: EmulatorServer, grant: str, verifier: str | None, **fields: str
) -> httpx.Response:
    """POST the code ``grant`` to the token endpoint; ``fields`` replace the usual ones."""
    form = {
        "grant_type": "authorization_code",
        "code": grant,
        "redirect_uri": CALLBACK,
        "client_id": CLIENT.client_id,
        "client_secret": CLIENT.client_secret,
        **({"code_verifier": verifier} if verifier else {}),
        **fields,
    }
    return browser.post(server.token_uri, data=form)


def signed_in(browser: httpx.Client, server: EmulatorServer, **params: str) -> dict[str, Any]:
    """The token response of a whole dance: consent allowed, code exchanged."""
    verifier, challenge = pkce()
    code = answer_consent(browser, auth_url(server, challenge, **params)).params["code"]
    answer = exchange(browser, server, code, verifier)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def refresh(browser: httpx.Client, server: EmulatorServer, token: str) -> httpx.Response:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": token,
        "client_id": CLIENT.client_id,
        "client_secret": CLIENT.client_secret,
    }
    return browser.post(server.token_uri, data=form)


def calendar_api(server: EmulatorServer, tokens: dict[str, Any]) -> Any:
    """The real client, authorised with the tokens (refreshing at the emulator)."""
    credentials = Credentials(
        token=tokens["access_token"],
        refresh_token=tokens.get("refresh_token"),
        token_uri=server.token_uri,
        client_id=CLIENT.client_id,
        client_secret=CLIENT.client_secret,
    )
    http = AuthorizedHttp(credentials, http=httplib2.Http())
    return build(
        "calendar",
        "v3",
        http=http,
        static_discovery=True,
        client_options={"api_endpoint": server.url},
    )


def api_get(
    browser: httpx.Client, server: EmulatorServer, token: str | None, path: str
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return browser.get(f"{server.url}calendar/v3/{path}", headers=headers)


def page_error(response: httpx.Response) -> str:
    """The "Error 400: …" line of Google's error page."""
    assert response.headers["content-type"].startswith("text/html")
    return response.text.split("<strong>")[1].split("</strong>")[0]


# The consent page -------------------------------------------------------------------------


def test_consent_page_names_account_app_and_each_scope(
    google: EmulatorServer, browser: httpx.Client
) -> None:
    """The page shows who signs in, which app asks, and Google's words for each scope."""
    page = browser.get(auth_url(google))
    form = read_form(page.text)
    assert page.status_code == 200
    assert "owner@clinic.example" in page.text
    assert "Clinic Sync" in page.text
    assert [v for _, v, ticked in form.boxes if ticked] == [EVENTS, CALENDARS]
    assert form.labels == [
        "View and edit events on all your calendars",
        "See the list of Google calendars you’re subscribed to",
    ]
    assert set(form.buttons) == {"Allow", "Deny"}


def test_app_name_on_the_consent_page_is_inert(
    emulator: EmulatorServer, browser: httpx.Client
) -> None:
    hostile = OAuthClient(CLIENT.client_id, "x", (CALLBACK,), '<script>alert("x")</script>')
    emulator.add_oauth_client(hostile)
    page = browser.get(auth_url(emulator)).text
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_allow_redirects_with_code_scope_and_state(
    google: EmulatorServer, browser: httpx.Client
) -> None:
    redirect = answer_consent(browser, auth_url(google, pkce()[1]))
    assert redirect.location.startswith(CALLBACK + "?")
    assert redirect.params["state"] == "st-123"
    assert redirect.params["code"].startswith("4/")
    assert redirect.params["scope"].split() == sorted([EVENTS, CALENDARS])


def test_deny_redirects_with_access_denied(google: EmulatorServer, browser: httpx.Client) -> None:
    redirect = answer_consent(browser, auth_url(google), press="Deny")
    assert redirect.params == {"error": "access_denied", "state": "st-123"}


def test_an_answered_consent_cannot_be_answered_again(
    google: EmulatorServer, browser: httpx.Client
) -> None:
    form = read_form(browser.get(auth_url(google)).text)
    data = as_form([*form.fields, form.buttons["Allow"]])
    first = browser.post(urllib.parse.urljoin(google.url, form.action), data=data)
    second = browser.post(urllib.parse.urljoin(google.url, form.action), data=data)
    assert first.status_code == 302
    assert second.status_code == 400
    assert page_error(second) == "Error 400: invalid_request"


@pytest.mark.parametrize(
    ("params", "status", "error"),
    [
        ({"client_id": "nobody"}, 401, "invalid_client"),
        ({"client_id": ""}, 400, "invalid_request"),
        ({"redirect_uri": "https://evil.example/cb"}, 400, "redirect_uri_mismatch"),
        ({"response_type": "token"}, 400, "unsupported_response_type"),
        ({"scope": f"{EVENTS} https://www.googleapis.com/auth/drive"}, 400, "invalid_scope"),
        ({"code_challenge_method": "S512", "code_challenge": "a" * 43}, 400, "invalid_request"),
        ({"access_type": "forever"}, 400, "invalid_request"),
        ({"prompt": "none consent"}, 400, "invalid_request"),
    ],
)
def test_bad_authorization_requests_get_googles_error_page(
    google: EmulatorServer, browser: httpx.Client, params: dict[str, str], status: int, error: str
) -> None:
    """A bad client or redirect URI is never redirected to; the user sees the error page."""
    page = browser.get(auth_url(google, **params))
    assert page.status_code == status
    assert page_error(page) == f"Error {status}: {error}"
    assert "location" not in page.headers


# The code exchange ------------------------------------------------------------------------


def test_code_exchange_gives_tokens_as_google_does(
    google: EmulatorServer, browser: httpx.Client
) -> None:
    verifier, challenge = pkce()
    code = answer_consent(browser, auth_url(google, challenge)).params["code"]
    answer = exchange(browser, google, code, verifier)
    body = answer.json()
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599
    assert body["access_token"].startswith("ya29.")
    assert body["refresh_token"].startswith("1//")
    assert body["scope"].split() == sorted([EVENTS, CALENDARS])


def test_client_may_authenticate_with_http_basic(
    google: EmulatorServer, browser: httpx.Client
) -> None:
    code = answer_consent(browser, auth_url(google)).params["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    answer = browser.post(
        google.token_uri, data=form, auth=(CLIENT.client_id, CLIENT.client_secret)
    )
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    ("verifier", "description"),
    [("wrong" * 10, "Invalid code verifier."), (None, "Missing code verifier.")],
)
def test_code_needs_its_verifier(
    google: EmulatorServer, browser: httpx.Client, verifier: str | None, description: str
) -> None:
    code = answer_consent(browser, auth_url(google, pkce()[1])).params["code"]
    answer = exchange(browser, google, code, verifier)
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_grant", "error_description": description}


def test_plain_challenge_is_the_verifier_itself(
    google: EmulatorServer, browser: httpx.Client
) -> None:
    verifier = secrets.token_urlsafe(48)
    url = auth_url(google, code_challenge=verifier, code_challenge_method="plain")
    code = answer_consent(browser, url).params["code"]
    assert exchange(browser, google, code, verifier).status_code == 200


def test_replayed_code_fails_and_revokes_what_it_gave(
    google: EmulatorServer, browser: httpx.Client
) -> None:
    """RFC 6749 §4.1.2: a code used twice is refused, and its tokens are revoked."""
    verifier, challenge = pkce()
    code = answer_consent(browser, auth_url(google, challenge)).params["code"]
    first = exchange(browser, google, code, verifier).json()
    again = exchange(browser, google, code, verifier)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    info = browser.get(f"{google.url}tokeninfo", params={"access_token": first["access_token"]})
    assert info.status_code == 400
    assert info.json()["error"] == "invalid_token"
    assert refresh(browser, google, first["refresh_token"]).json()["error"] == "invalid_grant"


def test_code_expires_after_ten_minutes(google: EmulatorServer, browser: httpx.Client) -> None:
    verifier, challenge = pkce()
    code = answer_consent(browser, auth_url(google, challenge)).params["code"]
    google.advance_oauth_clock(601)
    answer = exchange(browser, google, code, verifier)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("fields", "status", "body"),
    [
        (
            {"redirect_uri": "http://127.0.0.1:9/other"},
            400,
            ("redirect_uri_mismatch", "Bad Request"),
        ),
        ({"client_secret": "guess"}, 401, ("invalid_client", "Unauthorized")),
        ({"client_id": "nobody"}, 401, ("invalid_client", "The OAuth client was not found.")),
        (
            {"grant_type": "password"},
            400,
            ("unsupported_grant_type", "Invalid grant_type: password"),
        ),
        ({"code": ""}, 400, ("invalid_request", "Missing required parameter: code")),
        ({"code": "4/made-up"}, 400, ("invalid_grant", "Malformed auth code.")),
    ],
)
def test_token_endpoint_errors_are_googles(
    google: EmulatorServer,
    browser: httpx.Client,
    fields: dict[str, str],
    status: int,
    body: tuple[str, str],
) -> None:
    verifier, challenge = pkce()
    code = answer_consent(browser, auth_url(google, challenge)).params["code"]
    answer = exchange(browser, google, code, verifier, **fields)
    assert answer.status_code == status
    assert answer.json() == {"error": body[0], "error_description": body[1]}


def test_refresh_token_only_on_first_exchange_unless_consent_is_prompted(
    google: EmulatorServer, browser: httpx.Client
) -> None:
    """Google gives a refresh token once; ``prompt=consent`` asks for a new one."""
    assert "refresh_token" in signed_in(browser, google)
    assert "refresh_token" not in signed_in(browser, google)
    assert "refresh_token" in signed_in(browser, google, prompt="consent")
    assert "refresh_token" not in signed_in(browser, google, access_type="online", prompt="consent")


def test_refresh_gives_a_new_access_token(google: EmulatorServer, browser: httpx.Client) -> None:
    tokens = signed_in(browser, google)
    answer = refresh(browser, google, tokens["refresh_token"])
    body = answer.json()
    assert answer.status_code == 200
    assert "refresh_token" not in body
    assert body["access_token"] != tokens["access_token"]
    assert body["scope"] == tokens["scope"]
    assert body["expires_in"] == 3599


def test_refresh_token_of_another_client_is_refused(
    emulator: EmulatorServer, browser: httpx.Client
) -> None:
    emulator.add_oauth_client(CLIENT)
    tokens = signed_in(browser, emulator)
    other = OAuthClient("web-2", "two", (CALLBACK,))
    emulator.add_oauth_client(other)
    form = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": other.client_id,
        "client_secret": other.client_secret,
    }
    answer = browser.post(emulator.token_uri, data=form)
    assert answer.json() == {"error": "unauthorized_client", "error_description": "Unauthorized"}


# Incremental and granular consent ---------------------------------------------------------


def test_incremental_consent_keeps_previously_granted_scopes(
    google: EmulatorServer, browser: httpx.Client
) -> None:
    signed_in(browser, google, scope=CALENDARS)
    url = auth_url(google, scope=EVENTS, include_granted_scopes="true")
    page = browser.get(url).text
    assert "already has access" in page
    assert [v for _, v, _ in read_form(page).boxes] == [EVENTS]
    code = answer_consent(browser, url).params["code"]
    tokens = exchange(browser, google, code, None).json()
    assert tokens["scope"].split() == sorted([EVENTS, CALENDARS])


def test_without_include_granted_scopes_the_token_has_only_what_was_asked(
    google: EmulatorServer, browser: httpx.Client
) -> None:
    signed_in(browser, google, scope=CALENDARS)
    assert signed_in(browser, google, scope=EVENTS)["scope"] == EVENTS


def test_an_unticked_scope_is_not_granted(google: EmulatorServer, browser: httpx.Client) -> None:
    """Granular consent: the account may grant part of what the app asks for."""
    redirect = answer_consent(browser, auth_url(google), untick=[EVENTS])
    assert redirect.params["scope"] == CALENDARS
    tokens = exchange(browser, google, redirect.params["code"], None).json()
    assert tokens["scope"] == CALENDARS


def test_prompt_none_answers_at_once(google: EmulatorServer, browser: httpx.Client) -> None:
    """Without a page: consent_required before any grant, a code once everything is granted."""
    before = redirect_of(browser.get(auth_url(google, prompt="none")))
    assert before.params == {"error": "consent_required", "state": "st-123"}
    signed_in(browser, google)
    after = redirect_of(browser.get(auth_url(google, prompt="none")))
    assert after.params["code"].startswith("4/")


# The Calendar API with auth required ------------------------------------------------------


def test_real_client_lists_calendars_with_the_access_token(
    google: EmulatorServer, browser: httpx.Client
) -> None:
    google.require_auth()
    service = calendar_api(google, signed_in(browser, google))
    try:
        items = service.calendarList().list().execute()["items"]
    finally:
        service.close()
    assert [item["id"] for item in items] == ["owner@clinic.example"]


def test_calls_without_a_token_need_login(google: EmulatorServer, browser: httpx.Client) -> None:
    google.require_auth()
    answer = api_get(browser, google, None, "users/me/calendarList")
    error = answer.json()["error"]
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Bearer realm="https://accounts.google.com/"'
    assert error["errors"][0]["reason"] == "required"
    assert error["errors"][0]["location"] == "Authorization"


def test_expired_token_is_invalid_credentials_and_the_client_refreshes(
    google: EmulatorServer, browser: httpx.Client
) -> None:
    google.require_auth()
    tokens = signed_in(browser, google)
    google.advance_oauth_clock(3600)
    answer = api_get(browser, google, tokens["access_token"], "users/me/calendarList")
    assert answer.status_code == 401
    assert answer.json()["error"]["errors"][0] == {
        "domain": "global",
        "reason": "authError",
        "message": "Invalid Credentials",
        "locationType": "header",
        "location": "Authorization",
    }
    service = calendar_api(google, tokens)  # google-auth refreshes on the 401 and retries
    try:
        assert service.calendarList().list().execute()["items"]
    finally:
        service.close()


def test_call_outside_the_granted_scopes_is_forbidden(
    google: EmulatorServer, browser: httpx.Client
) -> None:
    google.require_auth()
    token = signed_in(browser, google, scope=CALENDARS)["access_token"]
    assert api_get(browser, google, token, "users/me/calendarList").status_code == 200
    answer = api_get(browser, google, token, "calendars/primary/events")
    error = answer.json()["error"]
    assert answer.status_code == 403
    assert error["errors"][0]["reason"] == "insufficientPermissions"
    assert error["status"] == "PERMISSION_DENIED"
    assert 'error="insufficient_scope"' in answer.headers["www-authenticate"]


def test_batch_parts_use_the_outer_authorization(
    google: EmulatorServer, browser: httpx.Client
) -> None:
    """Parts without their own Authorization take the outer request's (batch guide)."""
    google.require_auth()
    token = signed_in(browser, google)["access_token"]
    plain = calendar_client(google)  # its requests carry no Authorization of their own
    outer = AuthorizedHttp(Credentials(token=token), http=httplib2.Http())
    anonymous = httplib2.Http()
    answers: list[Any] = []
    refusals: list[Any] = []
    try:
        batch = BatchHttpRequest(lambda _id, r, e: answers.append(e or r), google.batch_url)
        batch.add(plain.calendarList().list())
        batch.add(plain.events().list(calendarId="primary"))
        batch.execute(http=outer)
        bare = BatchHttpRequest(lambda _id, r, e: refusals.append(e), google.batch_url)
        bare.add(plain.calendarList().list())
        bare.execute(http=anonymous)
    finally:
        plain.close()
        outer.close()
        anonymous.close()
    assert [a.get("kind") for a in answers] == ["calendar#calendarList", "calendar#events"]
    assert [e.status_code for e in refusals] == [401]


def test_without_required_auth_any_call_is_served(
    google: EmulatorServer, browser: httpx.Client
) -> None:
    """Today's mode, the default: no token needed, any Authorization header accepted."""
    assert api_get(browser, google, None, "users/me/calendarList").status_code == 200
    assert api_get(browser, google, "anything", "users/me/calendarList").status_code == 200


# Revocation -------------------------------------------------------------------------------


def test_revoking_the_refresh_token_ends_the_grant(
    google: EmulatorServer, browser: httpx.Client
) -> None:
    google.require_auth()
    tokens = signed_in(browser, google)
    answer = browser.post(google.revoke_uri, data={"token": tokens["refresh_token"]})
    assert answer.status_code == 200
    api = api_get(browser, google, tokens["access_token"], "users/me/calendarList")
    assert api.status_code == 401
    assert api.json()["error"]["errors"][0]["reason"] == "authError"
    assert refresh(browser, google, tokens["refresh_token"]).json() == {
        "error": "invalid_grant",
        "error_description": "Token has been expired or revoked.",
    }
    service = calendar_api(google, tokens)
    try:
        with pytest.raises(RefreshError, match="invalid_grant"):
            service.calendarList().list().execute()
    finally:
        service.close()


def test_revoking_an_access_token_revokes_its_refresh_token(
    google: EmulatorServer, browser: httpx.Client
) -> None:
    tokens = signed_in(browser, google)
    revoke_url = f"{google.revoke_uri}?token={urllib.parse.quote(tokens['access_token'])}"
    assert browser.post(revoke_url).status_code == 200
    assert refresh(browser, google, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_revoked_grant_takes_its_consent_with_it(
    google: EmulatorServer, browser: httpx.Client
) -> None:
    """After a revoke, incremental consent has nothing earlier to keep."""
    tokens = signed_in(browser, google, scope=CALENDARS)
    browser.post(google.revoke_uri, data={"token": tokens["refresh_token"]})
    fresh = signed_in(browser, google, scope=EVENTS, include_granted_scopes="true")
    assert fresh["scope"] == EVENTS
    assert "refresh_token" in fresh


def test_revoking_an_unknown_token_is_invalid_token(
    google: EmulatorServer, browser: httpx.Client
) -> None:
    answer = browser.post(google.revoke_uri, data={"token": "ya29.nothing"})
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "invalid_token",
        "error_description": "Token expired or revoked",
    }


def test_account_removing_app_access_revokes_everything(
    google: EmulatorServer, browser: httpx.Client
) -> None:
    tokens = signed_in(browser, google)
    assert browser.delete(f"{google.url}_emulator/oauth/grants").status_code == 204
    assert refresh(browser, google, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_tokeninfo_describes_a_live_token(google: EmulatorServer, browser: httpx.Client) -> None:
    tokens = signed_in(browser, google)
    info = browser.get(f"{google.url}tokeninfo", params={"access_token": tokens["access_token"]})
    body = info.json()
    assert body["aud"] == CLIENT.client_id
    assert body["access_type"] == "offline"
    assert body["scope"] == tokens["scope"]
    assert 3590 < int(body["expires_in"]) <= 3599


# Seeds and admin endpoints ----------------------------------------------------------------


def test_seeded_clients_and_required_auth_survive_a_reset(
    seeded: Any, browser: httpx.Client
) -> None:
    server, client = seeded(
        {"calendars": [], "oauth": {"required": True, "clients": [CLIENT.as_json()]}}
    )
    server.reset()
    with pytest.raises(HttpError) as refused:
        client.calendarList().list().execute()
    assert refused.value.status_code == 401
    assert signed_in(browser, server)["token_type"] == "Bearer"


def test_admin_endpoints_register_clients_and_require_auth(
    emulator: EmulatorServer, browser: httpx.Client
) -> None:
    added = browser.post(f"{emulator.url}_emulator/oauth/clients", json=CLIENT.as_json())
    assert added.json() == {"clients": [CLIENT.as_json()]}
    bad = browser.post(f"{emulator.url}_emulator/oauth/clients", json={"client_id": "x"})
    assert bad.status_code == 400
    assert "client_secret" in bad.json()["error"]
    required = browser.put(f"{emulator.url}_emulator/oauth/required", json={"required": True})
    assert required.status_code == 204
    assert api_get(browser, emulator, None, "users/me/calendarList").status_code == 401
    emulator.reset()
    assert api_get(browser, emulator, None, "users/me/calendarList").status_code == 200


@pytest.mark.parametrize(
    ("oauth", "message"),
    [
        ({"clients": [{"client_id": "x", "client_secret": "y"}]}, "clients[0]: 'redirect_uris'"),
        ({"required": "yes"}, "'required' must be true or false"),
        ({"users": []}, "expected {'clients'"),
    ],
)
def test_bad_oauth_seed_says_what_is_wrong(oauth: dict[str, Any], message: str) -> None:
    with pytest.raises(SeedError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_seed(json.loads(json.dumps({"calendars": [], "oauth": oauth})))


def test_refreshed_tokens_share_their_users_quota(
    google: EmulatorServer, browser: httpx.Client
) -> None:
    """Google counts quota per user: a new access token does not bring a new allowance."""
    google.require_auth()
    tokens = signed_in(browser, google)
    again = refresh(browser, google, tokens["refresh_token"]).json()["access_token"]
    browser.post(f"{google.url}_emulator/quota", json={"per_user": 1})
    assert api_get(browser, google, tokens["access_token"], "users/me/calendarList").is_success
    second = api_get(browser, google, again, "users/me/calendarList")
    assert second.status_code == 403
    assert second.json()["error"]["errors"][0]["reason"] == "userRateLimitExceeded"
