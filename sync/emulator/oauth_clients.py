"""OAuth clients registered with the emulated Google, and how a client proves who it is.

A client is what the Google Cloud Console's "Credentials" page creates for a web
application (https://developers.google.com/identity/protocols/oauth2/web-server#creatingcred):
an id, a secret, the authorised redirect URIs and the app name the consent screen shows.
Seeds and ``POST /_emulator/oauth/clients`` take it as JSON::

    {"client_id": "…apps.googleusercontent.com", "client_secret": "…",
     "redirect_uris": ["http://127.0.0.1:8000/oauth/google/callback"], "name": "clinic-sync"}

At the token endpoint a client authenticates with ``client_id``/``client_secret`` form
fields or with HTTP Basic (RFC 6749 §2.3.1, both of which Google accepts); an unknown
client or a wrong secret is 401 ``invalid_client``.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sync.emulator.errors import OAuthError

__all__ = ["OAuthClient", "authenticate"]

_KEYS = frozenset({"client_id", "client_secret", "redirect_uris", "name"})


@dataclass(frozen=True)
class OAuthClient:
    """One registered OAuth client (a web application's credentials)."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    name: str = "clinic-sync"

    @classmethod
    def from_json(cls, data: Any) -> OAuthClient:
        """A client from its JSON form; ValueError says what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("an OAuth client must be a JSON object")
        unknown = set(data) - _KEYS
        if unknown:
            raise ValueError(f"unknown OAuth client key(s) {', '.join(sorted(unknown))}")
        for key in ("client_id", "client_secret"):
            if not isinstance(data.get(key), str) or not data[key]:
                raise ValueError(f"'{key}' (a non-empty string) is required")
        uris = data.get("redirect_uris")
        if not isinstance(uris, list) or not uris or not all(_absolute(u) for u in uris):
            raise ValueError("'redirect_uris' must be a non-empty list of absolute URLs")
        name = data.get("name", "clinic-sync")
        if not isinstance(name, str) or not name:
            raise ValueError("'name' must be a non-empty string")
        return cls(data["client_id"], data["client_secret"], tuple(uris), name)

    def as_json(self) -> dict[str, Any]:
        """The client's JSON form."""
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "redirect_uris": list(self.redirect_uris),
            "name": self.name,
        }


def authenticate(
    clients: Mapping[str, OAuthClient],
    form: Mapping[str, list[str]],
    authorization: str | None,
) -> OAuthClient:
    """The client a token request comes from, or 400/401 as Google answers."""
    client_id, secret = _basic(authorization) or (
        _one(form, "client_id"),
        _one(form, "client_secret"),
    )
    if not client_id:
        raise OAuthError("invalid_request", "Could not determine client ID from request.")
    client = clients.get(client_id)
    if client is None:
        raise OAuthError("invalid_client", "The OAuth client was not found.", 401)
    if not secrets.compare_digest((secret or "").encode(), client.client_secret.encode()):
        raise OAuthError("invalid_client", "Unauthorized", 401)
    return client


def _basic(authorization: str | None) -> tuple[str, str] | None:
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as err:
        raise OAuthError("invalid_client", "Unauthorized", 401) from err
    client_id, _, secret = decoded.partition(":")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before they are joined.
    return urllib.parse.unquote_plus(client_id), urllib.parse.unquote_plus(secret)


def _absolute(uri: object) -> bool:
    parts = urllib.parse.urlsplit(uri) if isinstance(uri, str) else None
    return parts is not None and bool(parts.scheme and parts.netloc)


def _one(form: Mapping[str, list[str]], name: str) -> str | None:
    values = form.get(name)
    return values[-1] if values else None
