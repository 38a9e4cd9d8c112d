"""``.env.example`` is generated from the settings class and never drifts from it."""

from __future__ import annotations

from pathlib import Path

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


def test_config_show_hides_secrets() -> None:
    result = CliRunner().invoke(app, ["config", "show"], env={"CLINIC_SYNC_SECRET_KEY": "s3cret"})
    assert result.exit_code == 0, result.stderr
    assert "s3cret" not in result.stdout
