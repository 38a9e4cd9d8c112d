"""Reading a clinic's policy file: TOML text → :class:`rules.model.Policy` (SPEC §3).

The file format is documented, with comments, in ``rules/default_policy.toml``. Reading
happens in three steps: :mod:`tomllib` checks the syntax, pydantic models check the shape
(no unknown keys, the right types), and :func:`_problems` checks what only makes sense
across fields (a rule naming a category that does not exist, an ideal window that breaks
its own minimum...). Any failure is one :class:`PolicyError` naming the source, the line
and the problem in plain words, so the service can refuse to start on a half-read policy.

Errors::

    ValueError
    └── PolicyError   the policy file is wrong; the clinic's admin must fix it

This module does no I/O: the caller reads the file and passes its text and name.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails

from rules.model import Category, Policy, Rule
from rules.vocabulary import tokenize

__all__ = ["DEFAULT_SERVICES", "PolicyError", "parse_policy"]

Loc = tuple[str | int, ...]

# SPEC §4 point 4's default list of a clinic's other services. A file written before
# policies listed services gets these; ``services = []`` in a file means none.
DEFAULT_SERVICES = (
    "filler",
    "fillers",
    "dermal filler",
    "dermal fillers",
    "lip filler",
    "lip fillers",
    "peel",
    "peels",
    "chemical peel",
    "chemical peels",
    "facial",
    "facials",
    "HydraFacial",
    "laser",
    "laser hair removal",
    "IPL",
    "PRP injection",
    "PRP injections",
    "skin booster",
    "skin boosters",
    "Profhilo",
    "Sculptra",
    "thread",
    "threads",
    "thread lift",
    "PDO threads",
    "Kybella",
    "consultation",
    "consultations",
    "review",
    "reviews",
)

_CATEGORY_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)|\s*\(at end of document\)")


class PolicyError(ValueError):
    """A policy file that cannot be used: where (``source``, ``line``) and what is wrong."""

    def __init__(self, source: str, line: int | None, problem: str) -> None:
        self.source = source
        self.line = line
        self.problem = problem
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.problem}"


class _CategoryFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    label: str | None = None
    phrases: list[str]
    exclusions: list[str] = []


class _RuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    name: str
    earlier: str
    later: str
    min_days: int
    ideal_days: list[int]
    description: str = ""
    source: str = ""
    enabled: bool = True


class _PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    name: str = "policy"
    exclusions: list[str] = []
    services: list[str] | None = None
    categories: dict[str, _CategoryFile]
    rules: list[_RuleFile]


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Parse and check a policy file's ``text``; ``source`` names it in errors.

    Raises :class:`PolicyError` on the first problem found, in file order.
    """
    data = _load_toml(text, source)
    try:
        checked = _PolicyFile.model_validate(data)
    except ValidationError as err:
        raise _shape_error(err, text, source) from err
    problems = list(_problems(checked))
    if problems:
        lines = _line_index(text)
        loc, message = min(problems, key=lambda problem: _order(problem[0], lines))
        raise PolicyError(source, _line_of(loc, lines), message)
    return _build(checked, source)


def _load_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        message = str(err)
        position = _TOML_POSITION.search(message)
        line = _toml_error_line(position, text)
        plain = _TOML_POSITION.sub("", message).rstrip(".")
        column = f" (column {position.group(2)})" if position and position.group(2) else ""
        raise PolicyError(source, line, f"not valid TOML: {plain}{column}") from err


def _toml_error_line(position: re.Match[str] | None, text: str) -> int | None:
    if position is None:
        return None
    if position.group(1):
        return int(position.group(1))
    return max(1, len(text.splitlines()))


# --- shape errors from pydantic ------------------------------------------------------------

_TYPE_WORDS = {
    "string_type": "text in quotes",
    "int_type": "a whole number",
    "bool_type": "true or false",
    "int_from_float": "a whole number",
    "list_type": "a list in square brackets",
    "dict_type": "a table",
    "model_type": "a table",
}


def _shape_error(err: ValidationError, text: str, source: str) -> PolicyError:
    lines = _line_index(text)
    # A missing key is often a misspelt one: report the unknown spelling first.
    first = min(
        err.errors(),
        key=lambda error: (error["type"] == "missing", _order(tuple(error["loc"]), lines)),
    )
    return PolicyError(source, _line_of(tuple(first["loc"]), lines), _plain_shape_problem(first))


def _plain_shape_problem(error: ErrorDetails) -> str:
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = ", ".join(_fields_at(loc[:-1]))
        return f"unknown key '{loc[-1]}' in {_table_name(loc[:-1])} (allowed: {allowed})"
    if kind == "missing":
        return f"missing key '{loc[-1]}' in {_table_name(loc[:-1])}"
    what = _TYPE_WORDS.get(kind)
    if loc == ("rules",) and isinstance(error["input"], dict):
        return "'rules' must be a list of [[rules]] blocks (double brackets), not one [rules] table"
    if what is not None:
        return f"{_key_name(loc)} must be {what}, not {_toml_repr(error['input'])}"
    return f"{_key_name(loc)}: {error['msg']}"


def _fields_at(loc: Loc) -> list[str]:
    model: type[BaseModel] = _PolicyFile
    if loc[:1] == ("categories",) and len(loc) == 2:
        model = _CategoryFile
    elif loc[:1] == ("rules",) and len(loc) == 2:
        model = _RuleFile
    return list(model.model_fields)


def _table_name(loc: Loc) -> str:
    if not loc:
        return "the top level of the file"
    if loc[0] == "rules" and len(loc) > 1 and isinstance(loc[1], int):
        return f"[[rules]] block #{loc[1] + 1}"
    return "[" + ".".join(str(part) for part in loc) + "]"


def _key_name(loc: Loc) -> str:
    if loc and isinstance(loc[-1], int):
        return f"item #{loc[-1] + 1} of '{loc[-2]}'"
    return f"'{loc[-1]}'" if loc else "the file"


def _toml_repr(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "a table"
    return repr(value)


# --- problems across fields ----------------------------------------------------------------

Problem = tuple[Loc, str]


def _problems(policy: _PolicyFile) -> Iterator[Problem]:
    if policy.name.strip() == "":
        yield ("name",), "'name' must not be empty"
    yield from _word_problems(("exclusions",), policy.exclusions, "exclusion word")
    yield from _word_problems(("services",), policy.services or [], "service")
    if not policy.categories:
        yield ("categories",), "no treatment categories: add at least one [categories.NAME] table"
    for name, category in policy.categories.items():
        yield from _category_problems(name, category)
    if not policy.rules:
        yield ("rules",), "no rules: add at least one [[rules]] block"
    seen: set[str] = set()
    for number, rule in enumerate(policy.rules):
        yield from _rule_problems(number, rule, policy.categories, seen)
        seen.add(rule.name)


def _category_problems(name: str, category: _CategoryFile) -> Iterator[Problem]:
    loc: Loc = ("categories", name)
    if not _CATEGORY_NAME.fullmatch(name):
        yield loc, (f"category name '{name}' must use lower-case letters, digits, '-' and '_' only")
    if category.label is not None and category.label.strip() == "":
        yield (*loc, "label"), f"category '{name}' has an empty label"
    if not category.phrases:
        yield (*loc, "phrases"), f"category '{name}' has no phrases: list at least one"
    yield from _word_problems((*loc, "phrases"), category.phrases, "phrase")
    yield from _word_problems((*loc, "exclusions"), category.exclusions, "exclusion word")


def _word_problems(loc: Loc, words: Sequence[str], what: str) -> Iterator[Problem]:
    for number, word in enumerate(words):
        if not tokenize(word):
            yield (*loc, number), f"{what} {word!r} has no letters or digits to match"


def _rule_problems(
    number: int, rule: _RuleFile, categories: dict[str, _CategoryFile], seen: set[str]
) -> Iterator[Problem]:
    loc: Loc = ("rules", number)
    title = f"rule '{rule.name}'"
    if rule.name.strip() == "":
        yield (*loc, "name"), f"[[rules]] block #{number + 1} has an empty name"
    elif rule.name in seen:
        yield (*loc, "name"), f"two rules are named '{rule.name}': rule names must be unique"
    known = ", ".join(categories) or "none"
    for key, category in (("earlier", rule.earlier), ("later", rule.later)):
        if category not in categories:
            yield (
                (*loc, key),
                (f"{title}: {key} category '{category}' is not defined (defined: {known})"),
            )
    yield from _days_problems(loc, title, rule)


def _days_problems(loc: Loc, title: str, rule: _RuleFile) -> Iterator[Problem]:
    if rule.min_days < 0:
        yield (*loc, "min_days"), f"{title}: min_days must be 0 or more, not {rule.min_days}"
    if len(rule.ideal_days) != 2:
        yield (
            (*loc, "ideal_days"),
            (f"{title}: ideal_days must be two numbers [low, high], not {rule.ideal_days}"),
        )
        return
    low, high = rule.ideal_days
    if low > high:
        yield (
            (*loc, "ideal_days"),
            (f"{title}: ideal_days [{low}, {high}] starts after it ends; write [low, high]"),
        )
    if low < rule.min_days:
        yield (
            (*loc, "ideal_days"),
            (
                f"{title}: ideal_days starts at day {low}, before min_days {rule.min_days}; "
                "the ideal window cannot break the rule"
            ),
        )


def _build(checked: _PolicyFile, source: str) -> Policy:
    rules = [_rule(rule) for rule in checked.rules]
    on = tuple(rule for file, rule in zip(checked.rules, rules, strict=True) if file.enabled)
    off = tuple(rule for file, rule in zip(checked.rules, rules, strict=True) if not file.enabled)
    in_force = {name for rule in on for name in (rule.earlier, rule.later)}
    only_off = {name for rule in off for name in (rule.earlier, rule.later)} - in_force
    categories = [
        Category(
            name=name,
            label=category.label or name,
            phrases=tuple(category.phrases),
            exclusions=tuple(category.exclusions),
        )
        for name, category in checked.categories.items()
    ]
    services = DEFAULT_SERVICES if checked.services is None else tuple(checked.services)
    return Policy(
        categories=tuple(c for c in categories if c.name not in only_off),
        rules=on,
        exclusions=tuple(checked.exclusions),
        name=checked.name,
        source=source,
        services=services,
        switched_off=off,
        dormant=tuple(c for c in categories if c.name in only_off),
    )


def _rule(rule: _RuleFile) -> Rule:
    return Rule(
        name=rule.name,
        earlier=rule.earlier,
        later=rule.later,
        min_days=rule.min_days,
        ideal_days=(rule.ideal_days[0], rule.ideal_days[1]),
        description=rule.description,
        source=rule.source,
    )


# --- locating a key in the text ------------------------------------------------------------


def _line_of(loc: Loc, lines: dict[Loc, int]) -> int | None:
    """The line of ``loc``, else of its nearest enclosing key or table header, else None."""
    for size in range(len(loc), 0, -1):
        line = lines.get(loc[:size])
        if line is not None:
            return line
    return None


def _order(loc: Loc, lines: dict[Loc, int]) -> int:
    """Sort key putting problems in file order, unlocated ones last."""
    line = _line_of(loc, lines)
    return line if line is not None else max(lines.values(), default=0) + 1


_ITEM_OR_END = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|#.*|\]|[^\s,\[\]#"\']+')
_BARE_OR_QUOTED = r'(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|\'[^\']*\')'
_KEY_PART = re.compile(r'[A-Za-z0-9_-]+|"((?:[^"\\]|\\.)*)"|\'([^\']*)\'')
_DOTTED = rf"{_BARE_OR_QUOTED}(?:\s*\.\s*{_BARE_OR_QUOTED})*"
_ARRAY_HEADER = re.compile(rf"^\s*\[\[\s*({_DOTTED})\s*\]\]")
_TABLE_HEADER = re.compile(rf"^\s*\[\s*({_DOTTED})\s*\]")
_KEY_LINE = re.compile(rf"^\s*({_DOTTED})\s*=(.*)$")


def _line_index(text: str) -> dict[Loc, int]:
    """Map each table, key and multi-line array item of a TOML text to its 1-based line."""
    return _LineScanner().scan(text)


class _LineScanner:
    """A forgiving line scanner: it only runs on text tomllib has already accepted."""

    def __init__(self) -> None:
        self.index: dict[Loc, int] = {}
        self.table: Loc = ()
        self.arrays: dict[Loc, int] = {}
        self.open_array: Loc | None = None
        self.items = 0
        self.in_long_string = False

    def scan(self, text: str) -> dict[Loc, int]:
        for number, line in enumerate(text.splitlines(), start=1):
            self._line(number, line)
        return self.index

    def _line(self, number: int, line: str) -> None:
        if self.in_long_string:
            self.in_long_string = line.count('"""') % 2 == 0
        elif self.open_array is not None:
            self._array_items(number, line)
        elif header := _ARRAY_HEADER.match(line):
            path = _key_path(header.group(1))
            self.arrays[path] = self.arrays.get(path, -1) + 1
            self.table = (*path, self.arrays[path])
            self.index.setdefault(self.table, number)
        elif header := _TABLE_HEADER.match(line):
            self.table = _key_path(header.group(1))
            self.index.setdefault(self.table, number)
        elif key := _KEY_LINE.match(line):
            self._key(number, (*self.table, *_key_path(key.group(1))), key.group(2))

    def _key(self, number: int, path: Loc, value: str) -> None:
        self.index.setdefault(path, number)
        rest = value.strip()
        if rest.startswith('"""') and rest.count('"""') == 1:
            self.in_long_string = True
        elif rest.startswith("["):
            self.open_array, self.items = path, 0
            self._array_items(number, rest[1:])

    def _array_items(self, number: int, line: str) -> None:
        """Record the line of each item of an open array of plain values; close it at ``]``."""
        assert self.open_array is not None
        for match in _ITEM_OR_END.finditer(line):
            found = match.group(0)
            if found.startswith("#"):
                return
            if found == "]":
                self.open_array = None
                return
            self.index.setdefault((*self.open_array, self.items), number)
            self.items += 1


def _key_path(dotted: str) -> Loc:
    return tuple(_key_part(match) for match in _KEY_PART.finditer(dotted))


def _key_part(match: re.Match[str]) -> str:
    for quoted in match.groups():
        if quoted is not None:
            return quoted
    return match.group(0)
