"""The component parser gives what ``icalendar.Component.from_ical`` gives, errors included.

:mod:`sync.ical.parser` splits plain lines itself and caches parameter text; the
reference is icalendar reading the same lines joined. Compared: each property's name,
value type, parameters and written value, the parser's recorded errors, nested
components, and — when icalendar refuses the lines — that the parser refuses them too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import icalendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.ical.document import _Block, _scan
from sync.ical.lines import content_lines
from sync.ical.parser import _parameters, _value_type, parse_component
from tests.ical.calendars import SAMPLE_FILES

_NAMES = st.sampled_from(
    ["SUMMARY", "DESCRIPTION", "DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE", "RRULE",
     "ATTENDEE", "ORGANIZER", "UID", "DURATION", "CATEGORIES", "X-CLINIC-PATIENT-ID", "X-Odd",
     "dtstart", "BAD NAME", "SUMMARY ", "X-\tTAB", "\x0cX-FF", "SUM\"MARY", "", "BEGIN", "END",
     "GEO", "SEQUENCE"]
)  # fmt: skip
_PARAMETERS = st.sampled_from(
    ["", ";TZID=Europe/London", ";TZID=Nowhere/Else", ";VALUE=DATE", ";VALUE=date-time",
     ";CN=Jane Doe;PARTSTAT=ACCEPTED",
     ";PARTSTAT=ACCEPTED;CUTYPE=ROOM;RSVP=TRUE", ';CN="Doe, Jane":x', ";CN=a,b", ";CN=^n^'",
     ";X-A=\\;",
     "; CN = Jane", ";", ";=x", ";CN", ";CN=", ";RANGE=THISANDFUTURE", ";ROLE=CHAIR,X-Y"]
)  # fmt: skip
_VALUES = st.sampled_from(
    ["20260601T100000", "20260601", "20260601T100000Z", "mailto:jane@example.com",
     "Botox - Jane\\, Doe\\nline", "FREQ=WEEKLY;COUNT=4", "PT1H", "-PT2H", "a:b;c\\;d",
     "20260601T100000,20260608T100000", "", "not a date", '"quoted"', "1.5;2.5", "x\\\\y"]
)  # fmt: skip


def _described(component: Any) -> Any:
    """Everything a reader can see of a parsed component, in a comparable form."""
    props = []
    for name, value in component.property_items(recursive=False, sorted=False):
        try:
            written = value.to_ical()
        except Exception as err:  # the same failure on both sides is the same reading
            written = type(err).__name__
        props.append((name, type(value).__name__, dict(getattr(value, "params", {})), written))
    return (
        component.name,
        type(component).__name__,
        props,
        list(getattr(component, "errors", [])),
        [_described(sub) for sub in component.subcomponents],
    )


def _both(lines: list[str]) -> tuple[Any, Any]:
    try:
        reference = _described(icalendar.Component.from_ical("\r\n".join(lines)))
    except (ValueError, KeyError, IndexError, TypeError) as err:
        reference = ("refused", type(err).__name__)
    try:
        ours = _described(parse_component(lines))
    except (ValueError, KeyError, IndexError, TypeError) as err:
        ours = ("refused", type(err).__name__)
    return reference, ours


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_NAMES, _PARAMETERS, _VALUES), max_size=6), st.booleans())
def test_any_mix_of_lines_reads_as_icalendar_reads_it(
    lines: list[tuple[str, str, str]], alarm: bool
) -> None:
    """Plain, quoted, escaped, spaced and broken lines: the same component or the same refusal."""
    body = [f"{name}{params}:{value}" for name, params, value in lines]
    nested = ["BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT1H", "END:VALARM"] if alarm else []
    reference, ours = _both(["BEGIN:VEVENT", *body, *nested, "END:VEVENT"])
    assert ours == reference


def test_repeated_parameter_text_is_not_shared_between_properties() -> None:
    """Each property gets its own parameters, though their text was read once."""
    lines = [
        "BEGIN:VEVENT",
        "ATTENDEE;ROLE=A,B:mailto:a@x.org",
        "ORGANIZER;ROLE=A,B:mailto:b@x.org",
    ]
    event = parse_component([*lines, "END:VEVENT"])
    event["ATTENDEE"].params["ROLE"].append("C")
    event["ATTENDEE"].params["CN"] = "changed"
    again = parse_component([*lines, "END:VEVENT"])
    assert dict(event["ORGANIZER"].params) == {"ROLE": ["A", "B"]}
    assert dict(again["ATTENDEE"].params) == {"ROLE": ["A", "B"]}


def _blocks(path: Path) -> list[list[str]]:
    header: list[str] = []
    blocks: list[_Block] = []
    _scan(content_lines(path.read_bytes()).lines, header, blocks)
    return [block.lines for block in blocks if block.closed]


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda path: path.name)
def test_every_component_of_real_files_reads_as_icalendar_reads_it(path: Path) -> None:
    """Every top-level component of the real-world sample and the examples, whole."""
    for lines in _blocks(path):
        reference, ours = _both(lines)
        assert ours == reference, lines[:3]


def test_long_parameter_texts_and_names_are_read_but_not_kept() -> None:
    """Hostile data with ever-new long parameters cannot grow the caches past small bounds."""
    _parameters.cache_clear()
    _value_type.cache_clear()
    lines = [f"X-{'N' * 300};CN={'x' * 10_000}:mailto:a@x.org", f"X-{'M' * 300};A=b;C=d:v"]
    reference, ours = _both(["BEGIN:VEVENT", *lines, "END:VEVENT"])
    assert ours == reference
    after = (_parameters.cache_info().currsize, _value_type.cache_info().currsize)
    assert after == (1, 0)  # only the short parameter text "A=b;C=d"
    assert _parameters.cache_info().maxsize == _value_type.cache_info().maxsize == 4_096
