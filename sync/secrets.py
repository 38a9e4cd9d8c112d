"""Secrets at rest: what clinic-sync stores encrypted, and how keys rotate (SPEC §9).

SPEC §9 asks for refresh tokens encrypted at rest. Every stored secret (an OAuth grant,
a service-account key, a CalDAV password) goes through one :class:`SecretBox`, built from
``CLINIC_SYNC_SECRET_KEY``: one or more Fernet keys (cryptography's AES-128-CBC +
HMAC-SHA256 tokens), comma-separated. The first key encrypts; every key decrypts
(``MultiFernet``), so a new key is put in front, ``clinic-sync secrets rotate``
re-encrypts what is stored, and the old key is dropped afterwards.

Errors (both :class:`~sync.errors.SetupError`: an operator must fix the key)::

    SetupError
    ├── SecretKeyError     the key setting is missing or is not a Fernet key
    └── SecretUnreadable   a stored secret was encrypted under none of the keys
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from sync.errors import SetupError

__all__ = ["KEY_SETTING", "SecretBox", "SecretKeyError", "SecretUnreadable", "new_key"]

KEY_SETTING = "CLINIC_SYNC_SECRET_KEY"


class SecretKeyError(SetupError):
    """The secret key setting is missing or malformed."""


class SecretUnreadable(SetupError):
    """A stored secret cannot be decrypted with any configured key."""


def new_key() -> str:
    """A fresh Fernet key (url-safe base64 of 32 random bytes), for the key setting."""
    return Fernet.generate_key().decode("ascii")


class SecretBox:
    """Encrypts with the first key, decrypts with any of them."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise SecretKeyError(f"{KEY_SETTING} is not set; generate one with `{_HINT}`")
        self._fernet = MultiFernet([_fernet(key, position) for position, key in enumerate(keys)])
        self.key_count = len(keys)

    @classmethod
    def from_setting(cls, value: str | None) -> SecretBox:
        """The box for a comma-separated key setting (``None`` or blank: not configured)."""
        keys = [part.strip() for part in (value or "").split(",") if part.strip()]
        return cls(keys)

    def encrypt(self, plain: str) -> str:
        """``plain`` encrypted under the first key, as ASCII text."""
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The plain text of ``token``; :class:`SecretUnreadable` if no key opens it."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as err:
            raise SecretUnreadable(
                f"a stored secret cannot be decrypted with {KEY_SETTING}: was a key removed "
                "before `clinic-sync secrets rotate` ran?"
            ) from err

    def rotate(self, token: str) -> str:
        """``token`` re-encrypted under the first key (unchanged plain text)."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError) as err:
            raise SecretUnreadable(
                f"a stored secret is under none of the {KEY_SETTING} keys"
            ) from err


_HINT = 'python -c "from sync.secrets import new_key; print(new_key())"'


def _fernet(key: str, position: int) -> Fernet:
    try:
        return Fernet(key.encode("ascii"))
    except (ValueError, UnicodeError) as err:
        raise SecretKeyError(
            f"{KEY_SETTING}: key #{position + 1} is not a Fernet key (32 url-safe base64 "
            f"bytes); generate one with `{_HINT}`"
        ) from err
