"""One component's unfolded lines → an ``icalendar`` component, as icalendar reads them.

:mod:`sync.ical.document` parses each VEVENT and VTIMEZONE on its own, so most of
reading an export is icalendar's per-line work, and most of that is splitting each line
into name, parameters and value (``Contentline.parts``): a loop over every character of
the line and a fresh parse of its parameter text. This module gives icalendar's own
parser (``ComponentIcalParser``: the same component classes, value types, error
tolerance and time-zone cache) those parts more cheaply where the answer is provably
the same:

- the lines are already unfolded and split (:mod:`sync.ical.lines`), so they are handed
  over as a list instead of being joined, unfolded and split again;
- a line whose text before its first ``:`` has no quote or backslash splits
  at its first ``;`` and its first ``:`` — where icalendar's loop splits it — and its
  value is unescaped as icalendar does; any other line, and any line the short way
  cannot read, goes through ``Contentline.parts``, errors included;
- parameter text (``TZID=Europe/London``, ``CN=Room 1``) repeats from event to event: its
  parsed pairs are kept in a cache bounded in entries and in the length of what it keeps,
  and each line gets its own ``Parameters``;
- the value type of a property (by name and ``VALUE``) is looked up once, not twice a line.

``tests/ical/test_parser.py`` compares the result with ``icalendar.Component.from_ical``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import icalendar
from icalendar.parser.content_line import Contentline, _strip_ows_around_delimiters
from icalendar.parser.ical.component import ComponentIcalParser
from icalendar.parser.parameter import Parameters
from icalendar.parser.property import unescape_backslash, unescape_list_or_string
from icalendar.parser.string import _escape_string, _unescape_string, validate_token

__all__ = ["parse_component"]

_CACHED = 4_096
"""Distinct parameter texts and property types kept (a clinic's exports repeat a few dozen)."""
_CACHED_LENGTH = 256
"""Longest parameter text or property name kept: the caches stay small whatever the data."""

_Pairs = tuple[tuple[str, str | tuple[str, ...]], ...]


def parse_component(lines: list[str]) -> Any:
    """The one component of ``lines`` (``BEGIN`` to ``END``); ``ValueError`` as icalendar raises."""
    parser = _Parser(
        [Contentline(line) for line in lines],  # type: ignore[no-untyped-call]
        icalendar.Component._get_component_factory(),
        icalendar.Component.types_factory,
    )
    components = parser.parse()
    if len(components) != 1:
        found = "multiple components" if components else "no components"
        raise ValueError(f"Found {found} where exactly one is required")
    return components[0]


class _Parser(ComponentIcalParser):
    """icalendar's component parser with the cheaper line split (see the module docstring)."""

    def parse_content_lines(self) -> None:
        for line in self._content_lines_iterator:
            if not line:
                continue
            try:
                name, params, vals = _parts(line)
            except ValueError as e:
                self.handle_line_parse_error(e)
                continue
            uname = name.upper()
            if uname == "BEGIN":
                self.handle_begin_component(vals)
            elif uname == "END":
                self.handle_end_component(vals)
            else:
                self.handle_property(uname, params, vals, line)

    def get_factory_for_property(self, name: str, params: Parameters) -> Any:
        value = params.value
        shared = self._types_factory is icalendar.Component.types_factory
        if not shared or len(name) + len(value or "") > _CACHED_LENGTH:
            return self._types_factory.for_property(name, value)
        return _value_type(name, value)


def _parts(line: Contentline) -> tuple[str, Parameters, str]:
    """``line.parts()``, the short way when the line's name and parameters are plain."""
    colon = line.find(":")
    head = line[:colon]
    if colon <= 0 or '"' in head or "\\" in head:
        return line.parts()
    semicolon = head.find(";")
    try:
        if semicolon == -1:
            validate_token(head)
            return head, Parameters(), unescape_backslash(line[colon + 1 :])
        name = head[:semicolon]
        validate_token(name)
        text, strict = head[semicolon + 1 :], getattr(line, "strict", False)
        read = _parameters(text, strict) if len(text) <= _CACHED_LENGTH else _read(text, strict)
        params = Parameters(
            (key, list(value) if isinstance(value, tuple) else value) for key, value in read
        )
        return name, params, unescape_backslash(line[colon + 1 :])
    except ValueError:
        return line.parts()  # its own words for the error


@lru_cache(maxsize=_CACHED)
def _parameters(text: str, strict: bool) -> _Pairs:
    return _read(text, strict)


def _read(text: str, strict: bool) -> _Pairs:
    """The parameters of a line's plain parameter text, as ``Contentline.raw_parts`` reads them."""
    if not text:
        raise ValueError("empty parameter section")
    if not strict:
        text = _strip_ows_around_delimiters(text)
    parsed = Parameters.from_ical(_escape_string(text), strict=strict)  # type: ignore[no-untyped-call]
    pairs = []
    for key, value in parsed.items():
        read = unescape_list_or_string(value)
        pairs.append((_unescape_string(key), tuple(read) if isinstance(read, list) else read))
    return tuple(pairs)


@lru_cache(maxsize=_CACHED)
def _value_type(name: str, value: str | None) -> Any:
    return icalendar.Component.types_factory.for_property(name, value)
