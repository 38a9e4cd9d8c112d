"""Password hashing with argon2id (argon2-cffi's defaults, RFC 9106's second choice).

Only hashes are stored. :func:`verify_password` never raises on a wrong password or a
malformed hash: a sign-in either matches or it does not. :func:`dummy_verify` makes a
sign-in for an unknown account cost the same time as one for a known account.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from sync.errors import InputError

__all__ = [
    "MIN_LENGTH",
    "check_new_password",
    "dummy_verify",
    "hash_password",
    "verify_password",
]

MIN_LENGTH = 10
_HASHER = PasswordHasher()


def check_new_password(password: str) -> str:
    """``password`` if it is long enough; :class:`InputError` otherwise."""
    if len(password) < MIN_LENGTH:
        raise InputError(f"a password needs at least {MIN_LENGTH} characters")
    return password


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` with a fresh salt."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def dummy_verify(password: str) -> None:
    """Spend the time of one verification (for accounts that do not exist)."""
    verify_password(_dummy_hash(), password)


@cache
def _dummy_hash() -> str:
    return _HASHER.hash("not a password anyone has")
