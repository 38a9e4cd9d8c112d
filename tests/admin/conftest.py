"""Fixtures of the admin UI and API: a real store, the emulator, users, a served app (SPEC §8)."""

from __future__ import annotations

from datetime import UTC, datetime

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
