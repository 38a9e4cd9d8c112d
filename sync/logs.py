"""Log set-up: one JSON object per line in production, readable lines in a terminal.

Patient data stays out of logs at INFO and above: log records name calendars, counts
and conflict ids, never patient names, titles or feed tokens (DEBUG may name events
by id). :func:`configure_logging` is called once by each long-running entry point.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Literal

from rich.logging import RichHandler

__all__ = ["JsonFormatter", "LogFormat", "configure_logging"]

LogFormat = Literal["auto", "json", "text"]

# Attributes every LogRecord has; anything else was passed through ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object: time, level, logger, message and any ``extra``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(log_format: LogFormat = "auto", level: str = "INFO") -> None:
    """Send clinic-sync's logs to stderr; ``auto`` means text on a terminal, JSON elsewhere."""
    use_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    handler: logging.Handler
    if use_json:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
    else:
        handler = RichHandler(show_path=False, markup=False, rich_tracebacks=False)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Access logs would carry feed tokens in their paths; the web app logs fetches itself.
    logging.getLogger("uvicorn.access").disabled = True
