"""Log set-up: one JSON object per line in production, readable lines in a terminal.

Every line goes through the root logger's one handler on stderr: clinic-sync's own
loggers and uvicorn's (``uvicorn``, ``uvicorn.error``), which are left without handlers
of their own so they propagate here (uvicorn is started with ``log_config=None``,
:func:`sync.web.server.server_config`). JSON lines are rendered by structlog's
:class:`~structlog.stdlib.ProcessorFormatter` over standard ``logging`` records, so
``extra=`` fields and values bound with :func:`bind_request` (the web request's id and
user, kept in a context variable) land in each line logged while a request runs.

Patient data stays out of logs at INFO and above: log records name calendars, counts
and conflict ids, never patient names, titles or feed tokens (DEBUG may name events
by id). :func:`configure_logging` is called once by each long-running entry point.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Literal

import structlog
from rich.logging import RichHandler
from structlog.contextvars import bound_contextvars, merge_contextvars
from structlog.processors import EventRenamer, JSONRenderer, format_exc_info
from structlog.stdlib import ExtraAdder, ProcessorFormatter, add_log_level, add_logger_name

__all__ = ["JsonFormatter", "LogFormat", "bind_request", "configure_logging"]

LogFormat = Literal["auto", "json", "text"]

# uvicorn's loggers: their lines join the same stream instead of uvicorn's own handlers.
_UVICORN = ("uvicorn", "uvicorn.error")
# Libraries that log every request at INFO, full URL included (a subscribed .ics address
# can hold its owner's secret): warnings only.
_CHATTY = ("httpx", "httpcore")


def _time(_logger: Any, _name: str, entry: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """The record's own creation time, in UTC to the millisecond (not the formatting time)."""
    record = entry.get("_record")
    created = record.created if isinstance(record, logging.LogRecord) else None
    moment = datetime.fromtimestamp(created, UTC) if created is not None else datetime.now(UTC)
    entry["time"] = moment.isoformat(timespec="milliseconds")
    return entry


def _plain(_logger: Any, _name: str, entry: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Drop uvicorn's ``color_message`` extra: the message again, with terminal escapes."""
    entry.pop("color_message", None)
    return entry


class JsonFormatter(ProcessorFormatter):
    """A log record as one JSON object: time, level, logger, message, context and ``extra``."""

    def __init__(self) -> None:
        super().__init__(
            foreign_pre_chain=[
                _time,
                add_log_level,
                add_logger_name,
                merge_contextvars,
                ExtraAdder(),
                _plain,
            ],
            processors=[
                ProcessorFormatter.remove_processors_meta,
                format_exc_info,
                EventRenamer("message"),
                JSONRenderer(default=str, ensure_ascii=False),
            ],
        )


def bind_request(**values: object) -> AbstractContextManager[None]:
    """Add ``values`` (a request id, a user) to every line logged inside the block."""
    return bound_contextvars(**values)


def configure_logging(log_format: LogFormat = "auto", level: str = "INFO") -> None:
    """Send every log line to stderr; ``auto`` means text on a terminal, JSON elsewhere."""
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
    for name in _UVICORN:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers[:] = []
        uvicorn_logger.propagate = True
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.WARNING)
    # Access logs would carry feed tokens in their paths; the web app logs requests itself.
    logging.getLogger("uvicorn.access").disabled = True
    structlog.contextvars.clear_contextvars()
