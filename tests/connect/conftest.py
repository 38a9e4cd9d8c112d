"""Fixtures for connecting clinics: keys, a database, and a fake Google token endpoint.

The token endpoint is a real HTTP server on loopback that answers the OAuth token
requests google-auth and oauthlib send (RFC 6749 §5): a token, or the error the test
asks for, such as ``invalid_grant`` for a revoked grant.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sync.secrets import SecretBox, new_key
from sync.sources.google.client import SCOPES
from tests.loopback import serving
from tests.store.conftest import blank_engine, engine, postgres_unreachable

__all__ = ["blank_engine", "engine", "postgres_unreachable"]


@dataclass
class TokenEndpoint:
    """What the fake endpoint answers next, and the form bodies it received."""

    url: str
    status: int = 200
    body: dict[str, Any] = field(default_factory=dict)
    requests: list[dict[str, list[str]]] = field(default_factory=list)

    def refuse(self, error: str = "invalid_grant") -> None:
        self.status = 400
        self.body = {"error": error, "error_description": "Token has been expired or revoked."}

    def grant(self) -> None:
        self.status = 200
        self.body = {
            "access_token": "ya29.access",
            "refresh_token": "1//refresh",
            "expires_in": 3599,
            "token_type": "Bearer",
            "scope": " ".join(SCOPES),
        }


def _handler(endpoint: TokenEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            endpoint.requests.append(parse_qs(self.rfile.read(length).decode()))
            payload = json.dumps(endpoint.body).encode()
            self.send_response(endpoint.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def token_endpoint() -> Iterator[TokenEndpoint]:
    """A loopback token endpoint that grants tokens until told to refuse."""
    endpoints: list[TokenEndpoint] = []

    def handler(base: str) -> type[BaseHTTPRequestHandler]:
        endpoints.append(TokenEndpoint(url=f"{base}/token"))
        endpoints[0].grant()
        return _handler(endpoints[0])

    with serving(handler):
        yield endpoints[0]


@pytest.fixture
def box() -> SecretBox:
    return SecretBox([new_key()])


@pytest.fixture
def authorized_user(token_endpoint: TokenEndpoint) -> str:
    """An authorised-user grant whose token URI is the fake endpoint."""
    return json.dumps(
        {
            "type": "authorized_user",
            "client_id": "client-1.apps.googleusercontent.com",
            "client_secret": "client-secret",
            "refresh_token": "1//stored-refresh-token",
            "token_uri": token_endpoint.url,
            "scopes": list(SCOPES),
        }
    )


@pytest.fixture(scope="session")
def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem.decode()


@pytest.fixture
def service_account_key(private_key_pem: str, token_endpoint: TokenEndpoint) -> dict[str, Any]:
    """A well-formed service-account key (a fresh RSA key) whose token URI is the fake endpoint."""
    return {
        "type": "service_account",
        "project_id": "clinic-sync-test",
        "private_key_id": "0123456789abcdef",
        "private_key": private_key_pem,
        "client_email": "sync@clinic-sync-test.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": token_endpoint.url,
    }


@pytest.fixture
def service_account_file(tmp_path: Path, service_account_key: dict[str, Any]) -> Path:
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps(service_account_key))
    return path
