"""Bytes to lines: folds inside multi-byte characters, byte-order marks, UTF-16 (RFC 5545 §3.1)."""

from __future__ import annotations

import codecs
import re

import pytest

from sync.ical.lines import content_lines
from tests.ical.calendars import read, reasons, vcalendar, vevent

TITLE = "Xéomin 20u – Zoë 😀 Brontë"


def folded_inside_characters(text: str) -> bytes:
    """``text`` encoded, each line folded after every first octet of a multi-byte character."""
    lines = []
    for line in text.encode("utf-8").split(b"\r\n"):
        # A lead octet (0b11xxxxxx) is followed by the fold, then its continuation octets.
        lines.append(re.sub(rb"([\xc0-\xff])", rb"\1\r\n ", line))
    return b"\r\n".join(lines)


def test_a_fold_inside_a_multibyte_character_is_undone_before_decoding() -> None:
    event = vevent("UID:x", "DTSTART:20260301T100000Z", f"SUMMARY:{TITLE}")
    data = folded_inside_characters(vcalendar(event))
    assert b"\xc3\r\n \xa9" in data  # the fixture really splits "é" between two lines
    (booking,) = read(data).bookings
    assert booking.summary == TITLE


def test_folds_with_tabs_and_bare_line_feeds_are_undone_too() -> None:
    assert content_lines(b"SUMMARY:Bo\n\ttox\nUID:a\r\n b").lines == ["SUMMARY:Botox", "UID:ab"]


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [
        ("utf-8", codecs.BOM_UTF8),
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-16-le", b""),
        ("utf-16-be", b""),
    ],
)
def test_byte_order_marks_and_utf16_exports_are_decoded(encoding: str, prefix: bytes) -> None:
    text = vcalendar(vevent("UID:x", "DTSTART:20260301T100000Z", f"SUMMARY:{TITLE}"))
    (booking,) = read(prefix + text.encode(encoding)).bookings
    assert (booking.id, booking.summary) == ("x", TITLE)


def test_an_old_windows_1252_export_is_read_and_says_so() -> None:
    text = vcalendar(vevent("UID:x", "DTSTART:20260301T100000Z", "SUMMARY:Xéomin – Zoë"))
    export = read(text.encode("cp1252"))
    assert [b.summary for b in export.bookings] == ["Xéomin – Zoë"]
    assert reasons(export)[""] == "1 line is not UTF-8; read as Windows-1252"


def test_one_stray_byte_garbles_only_its_own_line() -> None:
    event = vevent("UID:x", "DTSTART:20260301T100000Z", "SUMMARY:Xéomin – Zoë", "LOCATION:\x00")
    data = vcalendar(event).encode().replace(b"LOCATION:\x00", b"LOCATION:Salle \xe9t\xe9")
    (booking,) = read(data).bookings
    assert booking.summary == "Xéomin – Zoë"
