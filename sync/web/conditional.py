"""Conditional requests and content coding for feeds (RFC 9110 §8.8, §12.5.3, §13).

Pure functions over header values: whether a cached copy is still good (``If-None-Match``
first, ``If-Modified-Since`` only without it, RFC 9110 §13.2.2), HTTP dates, and whether
the client accepts gzip.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

__all__ = ["accepts_gzip", "http_date", "not_modified"]


def http_date(moment: datetime) -> str:
    """An IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``)."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def not_modified(
    if_none_match: str | None,
    if_modified_since: str | None,
    etags: Collection[str],
    last_modified: datetime,
) -> bool:
    """Whether to answer 304 Not Modified to a GET or HEAD."""
    if if_none_match is not None:
        return _matches(if_none_match, etags)
    if if_modified_since is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False  # an invalid date is ignored (RFC 9110 §13.1.3)
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return last_modified.replace(microsecond=0) <= since


def _matches(header: str, etags: Collection[str]) -> bool:
    # If-None-Match uses the weak comparison (RFC 9110 §13.1.2): W/ prefixes are ignored.
    wanted = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in wanted or any(tag in wanted for tag in etags)


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether ``Accept-Encoding`` allows gzip (a ``q=0`` refuses it)."""
    for item in (accept_encoding or "").split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() not in ("gzip", "x-gzip"):
            continue
        quality = params.strip().lower().removeprefix("q=")
        return not params.strip() or _positive(quality)
    return False


def _positive(quality: str) -> bool:
    try:
        return float(quality) > 0
    except ValueError:
        return False
