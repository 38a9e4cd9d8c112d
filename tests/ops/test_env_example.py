"""``.env.example`` is generated from the settings class and never drifts from it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sync.cli import app
from sync.config import Settings
from sync.env_example import render_env_example

EXAMPLE = Path(__file__).parents[2] / ".env.example"


def test_committed_env_example_matches_the_settings_class() -> None:
    """Regenerate with: clinic-sync config example > .env.example"""
    assert EXAMPLE.read_text(encoding="utf-8") == render_env_example()


def test_every_setting_is_documented_with_a_description() -> None:
    missing = [name for name, info in Settings.model_fields.items() if not info.description]
    assert missing == []


def test_the_example_file_itself_is_a_valid_configuration(tmp_path: Path) -> None:
    env = {}
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name] = value
    settings = Settings(
        _env_file=None, **{k.removeprefix("CLINIC_SYNC_").lower(): v for k, v in env.items() if v}
    )  # type: ignore[arg-type]
    assert settings.database_url == "sqlite:///./clinic-sync.db"


def test_the_example_file_as_dot_env_gives_every_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`clinic-sync config example > .env` leaves unset settings empty: each is the default."""
    for name in Settings.model_fields:
        monkeypatch.delenv(f"CLINIC_SYNC_{name.upper()}", raising=False)
    dot_env = tmp_path / ".env"
    dot_env.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    assert Settings(_env_file=dot_env) == Settings(_env_file=None)


@pytest.mark.parametrize("blank", ["", "  "])
def test_an_empty_variable_means_the_default_for_every_setting(
    blank: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in Settings.model_fields:
        monkeypatch.setenv(f"CLINIC_SYNC_{name.upper()}", blank)
    monkeypatch.setenv("CLINIC_SYNC_POLL_SECONDS", blank)
    settings = Settings(_env_file=None)
    for name in Settings.model_fields:
        monkeypatch.delenv(f"CLINIC_SYNC_{name.upper()}")
    monkeypatch.delenv("CLINIC_SYNC_POLL_SECONDS")
    assert settings == Settings(_env_file=None)
    assert settings.policy is None


def test_a_blank_argument_is_the_default_too() -> None:
    assert Settings(_env_file=None, public_url="", log_level=" ") == Settings(_env_file=None)


def test_config_show_hides_secrets() -> None:
    result = CliRunner().invoke(app, ["config", "show"], env={"CLINIC_SYNC_SECRET_KEY": "s3cret"})
    assert result.exit_code == 0, result.stderr
    assert "s3cret" not in result.stdout
