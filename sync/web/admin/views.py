"""Rendering the admin pages: Jinja2 with autoescape always on, and CSV exports (SPEC §8).

Calendar text is hostile until shown otherwise: every value goes through Jinja2's HTML
escaping (autoescape is on for every template, whatever its name), pages are sent
with a Content-Security-Policy that allows no script at all, and CSV cells that a
spreadsheet would run as a formula are quoted like :mod:`sync.usecases.report` does.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

__all__ = ["SECURITY_HEADERS", "csv_text", "parse_day", "render", "stylesheet"]

_HERE = Path(__file__).parent
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(_HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["when"] = _when
    return environment


def render(template: str, status: int = 200, **values: Any) -> HTMLResponse:
    """The page ``template`` filled with ``values``, escaped, with the security headers."""
    body = _environment().get_template(template).render(**values)
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


@cache
def stylesheet() -> bytes:
    return (_HERE / "static" / "admin.css").read_bytes()


def csv_text(rows: Iterable[Mapping[str, object]], columns: Sequence[str]) -> str:
    """RFC 4180 CSV whose cells cannot start a spreadsheet formula or hold control bytes."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _cell(row.get(key, "")) for key in columns})
    return out.getvalue()


def parse_day(text: str | None) -> date | None:
    """An ISO date from a form field; blank or malformed reads as no date."""
    try:
        return date.fromisoformat(text.strip()) if text and text.strip() else None
    except ValueError:
        return None


def _cell(value: object) -> object:
    if not isinstance(value, str):
        return value
    value = _CONTROL.sub("\N{REPLACEMENT CHARACTER}", value)
    return "'" + value if value.startswith(_FORMULA_START) else value


def _when(moment: datetime | date | None) -> str:
    if moment is None:
        return "—"
    if isinstance(moment, datetime):
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return moment.isoformat()
