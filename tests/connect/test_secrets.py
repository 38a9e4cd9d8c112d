"""Secrets at rest: Fernet encryption, key rotation, and clear errors for bad keys (SPEC §9)."""

from __future__ import annotations

import pytest

from sync.errors import SetupError
from sync.secrets import SecretBox, SecretKeyError, SecretUnreadable, new_key


def test_round_trip_hides_the_plain_text() -> None:
    box = SecretBox([new_key()])
    token = box.encrypt("1//refresh-token")
    assert "refresh" not in token
    assert box.decrypt(token) == "1//refresh-token"


def test_missing_key_is_a_setup_error_that_says_how_to_make_one() -> None:
    with pytest.raises(SecretKeyError, match=r"CLINIC_SYNC_SECRET_KEY is not set.*new_key"):
        SecretBox.from_setting(None)
    with pytest.raises(SetupError):
        SecretBox.from_setting(" , ")


def test_malformed_key_names_its_position() -> None:
    with pytest.raises(SecretKeyError, match="key #2 is not a Fernet key"):
        SecretBox.from_setting(f"{new_key()},not-a-key")


def test_first_key_encrypts_and_every_key_decrypts() -> None:
    old, new = new_key(), new_key()
    stored = SecretBox([old]).encrypt("grant")
    both = SecretBox.from_setting(f"{new}, {old}")
    assert both.decrypt(stored) == "grant"
    assert SecretBox([new]).decrypt(both.encrypt("fresh")) == "fresh"


def test_rotation_moves_a_secret_to_the_first_key() -> None:
    old, new = new_key(), new_key()
    stored = SecretBox([old]).encrypt("grant")
    rotated = SecretBox([new, old]).rotate(stored)
    assert SecretBox([new]).decrypt(rotated) == "grant"


def test_secret_under_a_dropped_key_is_unreadable() -> None:
    stored = SecretBox([new_key()]).encrypt("grant")
    with pytest.raises(SecretUnreadable, match="rotate"):
        SecretBox([new_key()]).decrypt(stored)
