"""Structured logs for operators (JSON in production, readable text on a terminal)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from sync.logs import JsonFormatter, configure_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("uvicorn.access").disabled = False


def test_json_lines_carry_time_level_logger_message_and_extras() -> None:
    record = logging.LogRecord("sync.pull", logging.INFO, __file__, 1, "pulled %d", (3,), None)
    record.calendar_id = 7
    entry = json.loads(JsonFormatter().format(record))
    assert entry["level"] == "info"
    assert entry["logger"] == "sync.pull"
    assert entry["message"] == "pulled 3"
    assert entry["calendar_id"] == 7
    assert entry["time"].endswith("+00:00")


def test_exceptions_are_kept_in_one_json_line() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), None)
        record.exc_info = __import__("sys").exc_info()
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert "RuntimeError: boom" in json.loads(line)["exception"]


@pytest.mark.usefixtures("restore_logging")
def test_json_format_is_chosen_when_asked_and_access_logs_are_off(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("json", "info")
    logging.getLogger("sync.worker").info("started", extra={"workers": 2})
    entry = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert (entry["message"], entry["workers"]) == ("started", 2)
    assert logging.getLogger("uvicorn.access").disabled
