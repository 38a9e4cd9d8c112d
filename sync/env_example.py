"""``.env.example`` written from the settings class, so the two can never disagree.

:class:`sync.config.Settings` is the single source: every field becomes a comment line
(its description) and a ``CLINIC_SYNC_NAME=default`` line. ``clinic-sync config
example`` prints it; a test fails when the committed file differs.
"""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr, TypeAdapter
from pydantic.fields import FieldInfo

from sync.config import Settings

__all__ = ["render_env_example"]

_HEADER = (
    "# clinic-sync settings. Copy to .env (or set them in the environment); every line shows\n"
    "# the default. Generated from sync/config.py by `clinic-sync config example`.\n"
    "# These are the operator's; each clinic's own settings (time zone, policy, staff\n"
    "# domains, flag colour, ...) live in the database: `clinic-sync clinics set --help`.\n"
)


def render_env_example() -> str:
    """The text of ``.env.example``: one commented line per setting, in declaration order."""
    prefix = str(Settings.model_config.get("env_prefix", ""))
    blocks = [_block(prefix + name.upper(), info) for name, info in Settings.model_fields.items()]
    return _HEADER + "\n" + "\n".join(blocks)


def _block(variable: str, info: FieldInfo) -> str:
    description = info.description or "(undocumented)"
    return f"# {description}\n{variable}={_value(info)}\n"


def _value(info: FieldInfo) -> str:
    default = info.get_default(call_default_factory=True)
    if default is None:
        return ""
    if isinstance(default, SecretStr):
        return ""
    annotation: Any = info.annotation
    dumped: Any = TypeAdapter(annotation).dump_python(default, mode="json")
    if isinstance(dumped, bool):
        return "true" if dumped else "false"
    if isinstance(dumped, list):
        return ",".join(sorted(str(item) for item in dumped))
    return str(dumped)
