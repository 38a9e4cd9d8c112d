"""Where the Google client's credentials come from when no key file is configured."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.bootstrap import open_services
from sync.config import Settings
from sync.google.grants import NotConnected
from sync.secrets import new_key


def test_oauth_without_a_file_or_a_stored_grant_says_to_connect(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{tmp_path / 'c.db'}",
        google_auth="oauth",
        secret_key=new_key(),  # type: ignore[arg-type]
    )
    with pytest.raises(NotConnected, match="connect google"):
        open_services(settings)
