"""Where the Google client's credentials come from when no key file is configured."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.bootstrap import open_services
from sync.config import Settings
from sync.secrets import new_key
from sync.sources.google.grants import NotConnected


def test_without_a_google_grant_the_clinic_runs_and_google_says_to_connect(
    tmp_path: Path,
) -> None:
    """A clinic on CalDAV or .ics only needs no Google grant; asking for Google says what to do."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{tmp_path / 'c.db'}",
        google_auth="oauth",
        secret_key=new_key(),  # type: ignore[arg-type]
    )
    with open_services(settings) as services:
        assert services.google_source is None
        with pytest.raises(NotConnected, match="connect google"):
            _ = services.google
