"""Random secrets of the admin UI and API: session cookies, CSRF tokens, API tokens.

Each is 256 random bits, URL-safe. Only the SHA-256 of a cookie or an API token is
stored, so a copy of the database signs nobody in; comparisons are constant-time.
API tokens carry a ``csa_`` prefix so a leaked one is easy to recognise in a log.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["API_TOKEN_PREFIX", "hash_secret", "new_api_token", "new_secret", "same_secret"]

API_TOKEN_PREFIX = "csa_"  # noqa: S105 (a marker, not a secret)
_BYTES = 32


def new_secret() -> str:
    """A fresh URL-safe secret of 256 random bits."""
    return secrets.token_urlsafe(_BYTES)


def new_api_token() -> str:
    """A fresh personal API token."""
    return API_TOKEN_PREFIX + new_secret()


def hash_secret(secret: str) -> str:
    """The hex SHA-256 of a secret: what the store keeps and looks up."""
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


def same_secret(given: str | None, expected: str) -> bool:
    """Constant-time equality; a missing value never matches."""
    if not given:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode())
