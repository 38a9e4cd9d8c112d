"""Load the policy the service runs with: the clinic's own file or the shipped default (SPEC §3).

Reading the file is this module's job; parsing and validating it is the pure
:func:`rules.policy.parse_policy`. A broken file stops start-up with a message naming
the file, the line and the problem — the service never runs on a half-read policy.

:func:`render_policy` writes a policy back as the TOML the loader reads (the format of
``rules/default_policy.toml``, without its comments): what the policy editor stores and
exports, so a policy made in a form is checked by the same loader, with the same
messages, as a file. Strings are written as JSON strings, which TOML basic strings
accept as they are (https://toml.io/en/v1.0.0#string).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path

from rules.model import Category, Policy, Rule
from rules.policy import PolicyError, parse_policy
from sync.errors import PolicyFileError

__all__ = [
    "DEFAULT_POLICY_NAME",
    "checked_policy_text",
    "default_policy_text",
    "load_policy",
    "parse_policy_text",
    "render_policy",
    "toml_string",
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


def render_policy(policy: Policy) -> str:
    """``policy`` as TOML text that :func:`parse_policy_text` reads back to an equal policy.

    Dormant categories and switched-off rules are written too (after those in force), so
    nothing a clinic offered itself is lost.
    """
    lines = [f"name = {toml_string(policy.name)}", ""]
    lines += [*_array("exclusions", policy.exclusions), *_array("services", policy.services)]
    for category in (*policy.categories, *policy.dormant):
        lines += ["", *_category(category)]
    for rule in policy.rules:
        lines += ["", *_rule(rule, enabled=True)]
    for rule in policy.switched_off:
        lines += ["", *_rule(rule, enabled=False)]
    return "\n".join(lines) + "\n"


def _category(category: Category) -> Iterator[str]:
    yield f"[categories.{category.name}]"
    yield f"label = {toml_string(category.label)}"
    yield from _array("phrases", category.phrases)
    if category.exclusions:
        yield from _array("exclusions", category.exclusions)


def _rule(rule: Rule, *, enabled: bool) -> Iterator[str]:
    yield "[[rules]]"
    yield f"name = {toml_string(rule.name)}"
    yield f"earlier = {toml_string(rule.earlier)}"
    yield f"later = {toml_string(rule.later)}"
    yield f"min_days = {rule.min_days}"
    yield f"ideal_days = [{rule.ideal_days[0]}, {rule.ideal_days[1]}]"
    if rule.description:
        yield f"description = {toml_string(rule.description)}"
    if rule.source:
        yield f"source = {toml_string(rule.source)}"
    if not enabled:
        yield "enabled = false"


def _array(key: str, values: Iterable[str]) -> Iterator[str]:
    items = list(values)
    if not items:
        yield f"{key} = []"
        return
    yield f"{key} = ["
    yield from (f"    {toml_string(item)}," for item in items)
    yield "]"


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string."""
    # JSON leaves DEL as it is; a TOML basic string must escape it.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")
