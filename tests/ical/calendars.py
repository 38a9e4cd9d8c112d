"""Small iCalendar documents written the way other programs write them, for the reader's tests."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from rules.assess import Assessment, Scope
from rules.patients import IdentityOptions
from sync.policy_file import load_policy
from sync.usecases.audit import audit_exports
from sync.usecases.ics_export import CalendarExport, parse_export

WINDOW = (date(2026, 1, 1), date(2027, 6, 30))

_ROOT = Path(__file__).resolve().parents[2]
_SAMPLE = _ROOT / ".." / "shared" / "realworld-sample"
SAMPLE_FILES = [
    *(sorted(_SAMPLE.glob("*.ics")) if _SAMPLE.is_dir() else []),
    *sorted((_ROOT / "examples").rglob("*.ics")),
]
"""Real exports: the real-world sample beside the repository (when present), the examples."""


def vcalendar(*blocks: str, header: str = "X-WR-CALNAME:Dr Smith") -> str:
    """A VCALENDAR with ``blocks`` (whole components, ``\\n``-separated lines) in CRLF lines."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", *header.splitlines()]
    for block in blocks:
        lines += block.strip().splitlines()
    return "\r\n".join([*lines, "END:VCALENDAR"]) + "\r\n"


def vevent(*lines: str) -> str:
    """A VEVENT holding ``lines``, with a stamp."""
    return "\n".join(["BEGIN:VEVENT", "DTSTAMP:20260101T000000Z", *lines, "END:VEVENT"])


def read(data: bytes | str) -> CalendarExport:
    """The export as the audit reads it."""
    raw = data.encode() if isinstance(data, str) else data
    return parse_export(raw, "t.ics", WINDOW)


def reasons(export: CalendarExport) -> dict[str, str]:
    """Skip and note reasons by UID."""
    return {s.uid: s.reason for s in (*export.skipped, *export.notes)}


def audit(directory: Path, *calendars: str, today: date = date(2026, 3, 1)) -> Assessment:
    """Audit ``calendars`` (whole VCALENDAR texts) written as files into ``directory``."""
    paths = []
    for number, text in enumerate(calendars):
        path = directory / f"calendar-{number}.ics"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    scope = Scope(today=today, days_back=180, days_ahead=365, feed_horizon_days=365)
    return audit_exports(paths, load_policy(), scope, IdentityOptions()).assessment
