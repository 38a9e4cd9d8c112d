"""Google grants: stored encrypted, refreshed on load, and a refused grant asks to reconnect.

The token endpoint is a real loopback server (see ``conftest``); the grants point their
``token_uri`` at it, so google-auth's real refresh code runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account
from sqlalchemy import Engine, text

from sync.secrets import SecretBox
from sync.sources.google.errors import CredentialsError
from sync.sources.google.grants import (
    NotConnected,
    ReconnectRequired,
    load_google_credentials,
    load_or_mark,
    save_oauth_grant,
    save_service_account,
)
from sync.sources.google.oauth import read_service_account_key
from sync.store.clinics import get_or_create_clinic
from sync.store.credentials import get_credential
from sync.store.database import session_scope
from sync.store.sources import Provider
from tests.connect.conftest import TokenEndpoint


def _clinic(engine: Engine) -> int:
    with session_scope(engine) as session:
        return get_or_create_clinic(session, "default").id


def _save_oauth(engine: Engine, authorized_user: str, box: SecretBox) -> int:
    clinic_id = _clinic(engine)
    with session_scope(engine) as session:
        save_oauth_grant(session, clinic_id, authorized_user, box)
    return clinic_id


def test_oauth_grant_is_stored_encrypted(
    engine: Engine, authorized_user: str, box: SecretBox
) -> None:
    _save_oauth(engine, authorized_user, box)
    with session_scope(engine) as session:
        (secret,) = session.exec(text("SELECT secret FROM credentials")).one()  # type: ignore[call-overload]
    assert "stored-refresh-token" not in secret
    assert json.loads(box.decrypt(secret))["refresh_token"] == "1//stored-refresh-token"


def test_loading_refreshes_the_access_token(
    engine: Engine, authorized_user: str, box: SecretBox, token_endpoint: TokenEndpoint
) -> None:
    clinic_id = _save_oauth(engine, authorized_user, box)
    with session_scope(engine) as session:
        credentials = load_google_credentials(session, clinic_id, box, token_uri=token_endpoint.url)
    assert isinstance(credentials, user_credentials.Credentials)
    assert credentials.token == "ya29.access"
    assert token_endpoint.requests[0]["grant_type"] == ["refresh_token"]
    assert token_endpoint.requests[0]["refresh_token"] == ["1//stored-refresh-token"]


def test_revoked_grant_raises_reconnect_required(
    engine: Engine, authorized_user: str, box: SecretBox, token_endpoint: TokenEndpoint
) -> None:
    clinic_id = _save_oauth(engine, authorized_user, box)
    token_endpoint.refuse("invalid_grant")
    with session_scope(engine) as session, pytest.raises(ReconnectRequired) as caught:
        load_google_credentials(session, clinic_id, box, token_uri=token_endpoint.url)
    assert "invalid_grant" in caught.value.grant_reason
    assert "connect google" in str(caught.value)


def test_refusal_is_recorded_and_later_loads_do_not_call_google(
    engine: Engine, authorized_user: str, box: SecretBox, token_endpoint: TokenEndpoint
) -> None:
    """The worker records the refusal instead of crashing; health reads it from the store."""
    clinic_id = _save_oauth(engine, authorized_user, box)
    token_endpoint.refuse("invalid_grant")
    with pytest.raises(ReconnectRequired):
        load_or_mark(engine, clinic_id, box, token_uri=token_endpoint.url)
    with session_scope(engine) as session:
        stored = get_credential(session, clinic_id, Provider.GOOGLE)
    assert stored is not None
    assert stored.needs_reconnect
    assert "invalid_grant" in (stored.state_reason or "")
    calls = len(token_endpoint.requests)
    token_endpoint.grant()
    with pytest.raises(ReconnectRequired):
        load_or_mark(engine, clinic_id, box, token_uri=token_endpoint.url)
    assert len(token_endpoint.requests) == calls


def test_connecting_again_clears_the_mark(
    engine: Engine, authorized_user: str, box: SecretBox, token_endpoint: TokenEndpoint
) -> None:
    clinic_id = _save_oauth(engine, authorized_user, box)
    token_endpoint.refuse()
    with pytest.raises(ReconnectRequired):
        load_or_mark(engine, clinic_id, box, token_uri=token_endpoint.url)
    token_endpoint.grant()
    _save_oauth(engine, authorized_user, box)
    assert load_or_mark(engine, clinic_id, box, token_uri=token_endpoint.url).token == "ya29.access"


def test_missing_grant_says_to_connect(engine: Engine, box: SecretBox) -> None:
    clinic_id = _clinic(engine)
    with session_scope(engine) as session, pytest.raises(NotConnected, match="connect google"):
        load_google_credentials(session, clinic_id, box)


def test_service_account_key_file_is_validated(service_account_file: Path, tmp_path: Path) -> None:
    assert read_service_account_key(service_account_file)["type"] == "service_account"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"type": "service_account", "private_key": "nope"}))
    with pytest.raises(CredentialsError, match=r"broken\.json"):
        read_service_account_key(broken)
    with pytest.raises(CredentialsError, match="not a service-account key"):
        read_service_account_key(_write(tmp_path / "user.json", {"type": "authorized_user"}))


def test_service_account_acts_as_the_subject(
    engine: Engine,
    service_account_file: Path,
    box: SecretBox,
    token_endpoint: TokenEndpoint,
) -> None:
    """Domain-wide delegation: the signed JWT names the admin it acts as."""
    clinic_id = _clinic(engine)
    key = read_service_account_key(service_account_file)
    with session_scope(engine) as session:
        save_service_account(session, clinic_id, key, "admin@clinic.example", box)
    with session_scope(engine) as session:
        credentials = load_google_credentials(session, clinic_id, box, token_uri=token_endpoint.url)
    assert isinstance(credentials, service_account.Credentials)
    assert credentials.token == "ya29.access"
    request = token_endpoint.requests[0]
    assert request["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    assert _jwt_claims(request["assertion"][0])["sub"] == "admin@clinic.example"


def test_service_account_without_delegation_reconnects(
    engine: Engine,
    service_account_key: dict[str, Any],
    box: SecretBox,
    token_endpoint: TokenEndpoint,
) -> None:
    clinic_id = _clinic(engine)
    with session_scope(engine) as session:
        save_service_account(session, clinic_id, service_account_key, "admin@clinic.example", box)
    token_endpoint.refuse("unauthorized_client")
    with pytest.raises(ReconnectRequired, match="unauthorized_client"):
        load_or_mark(engine, clinic_id, box, token_uri=token_endpoint.url)


def _write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document))
    return path


def _jwt_claims(assertion: str) -> dict[str, Any]:
    import base64

    payload = assertion.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
