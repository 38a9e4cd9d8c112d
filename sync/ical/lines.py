"""Bytes of iCalendar data → its logical content lines (RFC 5545 §3.1), in linear time.

RFC 5545 §3.1 (https://icalendar.org/iCalendar-RFC-5545/3-1-content-lines.html) folds
long lines by inserting CRLF and one space or tab, and writers fold by octets — often in
the middle of a multi-byte UTF-8 character. So the folds are removed from the *bytes*
first and only then is each line decoded; decoding first turns "Xéomin" into "X��omin".

The charset is UTF-8 by default (RFC 5545 §3.1.4), but real writers differ: a UTF-8
byte-order mark (Outlook), UTF-16 with a BOM (little or big endian, Windows exports), or
UTF-16 without one. A line that is not UTF-8 is read as Windows-1252, the charset of the
old Outlook exports that write such lines, and that is recorded.

Every step is one pass over the data, and :func:`cut_line` bounds a logical line to
:data:`MAX_LINE_CHARS` characters: a 20 MB one-line SUMMARY, or 400,000 folded lines of one
DESCRIPTION, cost what their size costs, once.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

__all__ = ["MAX_LINE_CHARS", "ContentLines", "content_lines", "cut_line"]

MAX_LINE_CHARS = 65_536
"""Longest logical line kept; no title, note or date a booking needs comes near it."""

_FOLD = re.compile(rb"(?:\r\n|\n|\r)[ \t]")
_LINE_BREAK = re.compile(rb"\r\n|\n|\r")
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_PROBE = 64  # bytes looked at to tell UTF-16 without a BOM from ASCII-compatible data


@dataclass(frozen=True, slots=True)
class ContentLines:
    """The logical lines of the data, and what was done to read them."""

    lines: list[str]
    notes: list[str]
    """Data-wide repairs (the charset read), one sentence each."""


def content_lines(data: bytes | str) -> ContentLines:
    """Unfold ``data``, split it into lines and decode each (see the module docstring)."""
    notes: list[str] = []
    raw = _as_utf8_bytes(data, notes)
    physical = _LINE_BREAK.split(_FOLD.sub(b"", raw))
    legacy: list[bytes] = []
    lines = [_decoded(line, legacy) for line in physical if line.strip()]
    if legacy:
        count = f"{len(legacy):,} lines are" if len(legacy) > 1 else "1 line is"
        notes.append(f"{count} not UTF-8; read as Windows-1252")
    return ContentLines(lines, notes)


def _as_utf8_bytes(data: bytes | str, notes: list[str]) -> bytes:
    """The data as bytes in an ASCII-compatible charset, byte-order marks removed."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff").encode("utf-8", errors="surrogatepass")
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :]
    utf16 = _utf16_codec(data)
    if utf16 is None:
        return data
    notes.append(f"the data is {utf16.upper()}; read as such")
    return data.decode(utf16, errors="replace").removeprefix("\ufeff").encode("utf-8")


def _utf16_codec(data: bytes) -> str | None:
    if data.startswith(_UTF16_BOMS):
        return "utf-16"
    probe = data[:_PROBE]
    # "BEGIN:" in UTF-16 has a NUL in every other byte; text in an 8-bit charset has none.
    if len(probe) >= 2 and probe.count(0) * 2 >= len(probe) - 1:
        return "utf-16-le" if probe[1] == 0 else "utf-16-be"
    return None


def _decoded(line: bytes, legacy: list[bytes]) -> str:
    """The line as UTF-8, else as Windows-1252 (noted in ``legacy``), line by line.

    Deciding per line keeps one stray byte from garbling every other line's accents.
    """
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        legacy.append(line)
        return line.decode("cp1252", errors="replace")


def cut_line(line: str) -> tuple[str, str | None]:
    """``line`` within :data:`MAX_LINE_CHARS`, and a sentence saying so when it was cut."""
    if len(line) <= MAX_LINE_CHARS:
        return line, None
    name = re.split(r"[;:]", line[:200], maxsplit=1)[0][:40]
    return line[:MAX_LINE_CHARS], (f"{name} of {len(line):,} characters cut to {MAX_LINE_CHARS:,}")
