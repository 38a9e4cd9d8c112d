"""Load the policy the service runs with: the clinic's own file or the shipped default (SPEC §3).

Reading the file is this module's job; parsing and validating it is the pure
:func:`rules.policy.parse_policy`. A broken file stops start-up with a message naming
the file, the line and the problem — the service never runs on a half-read policy.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from rules.model import Policy
from rules.policy import PolicyError, parse_policy
from sync.errors import PolicyFileError

__all__ = [
    "DEFAULT_POLICY_NAME",
    "checked_policy_text",
    "default_policy_text",
    "load_policy",
    "parse_policy_text",
]

DEFAULT_POLICY_NAME = "default_policy.toml"


def load_policy(path: Path | None = None) -> Policy:
    """The policy at ``path``, or the default one shipped with the rules package."""
    if path is None:
        return parse_policy_text(default_policy_text(), f"rules/{DEFAULT_POLICY_NAME}")
    return parse_policy_text(_read(path), str(path))


def checked_policy_text(path: Path) -> str:
    """The text of the policy file at ``path``, once it parses (what a clinic stores)."""
    text = _read(path)
    parse_policy_text(text, str(path))
    return text


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except UnicodeDecodeError as err:
        raise PolicyFileError(f"{path}: not UTF-8 text ({err.reason})") from err
    except OSError as err:
        raise PolicyFileError(f"{path}: cannot be read ({err.strerror or err})") from err


def default_policy_text() -> str:
    """The TOML text of the policy shipped with the rules package."""
    return resources.files("rules").joinpath(DEFAULT_POLICY_NAME).read_text("utf-8")


def parse_policy_text(text: str, source: str) -> Policy:
    """``text`` as a policy; :class:`PolicyFileError` naming ``source``, line and problem."""
    try:
        return parse_policy(text, source)
    except PolicyError as err:
        raise PolicyFileError(str(err)) from err
