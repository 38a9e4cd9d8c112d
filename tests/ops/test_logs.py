"""Structured logs for operators (JSON in production, readable text on a terminal)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from sync.emulator import EmulatorServer
from sync.logs import JsonFormatter, bind_request, configure_logging
from sync.serving import ServerThread
from sync.store.database import make_engine
from sync.web.server import server_config
from tests.worker.conftest import google_calendars
from tests.worker.processes import WorkerProcess, Workers, worker_env


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("uvicorn.access").disabled = False
    logging.getLogger("uvicorn.error").setLevel(logging.NOTSET)


def test_json_lines_carry_time_level_logger_message_and_extras() -> None:
    record = logging.LogRecord(
        "sync.usecases.pull", logging.INFO, __file__, 1, "pulled %d", (3,), None
    )
    record.calendar_id = 7
    entry = json.loads(JsonFormatter().format(record))
    assert entry["level"] == "info"
    assert entry["logger"] == "sync.usecases.pull"
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
    logging.getLogger("sync.worker.runner").info("started", extra={"workers": 2})
    entry = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert (entry["message"], entry["workers"]) == ("started", 2)
    assert logging.getLogger("uvicorn.access").disabled


@pytest.mark.usefixtures("restore_logging")
def test_uvicorns_own_lines_join_the_json_stream(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json", "info")
    server = ServerThread(server_config(FastAPI(), log_level="info"), "log-test")
    server.start("127.0.0.1", 0)
    server.stop()
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    uvicorn = [e for e in entries if e["logger"].startswith("uvicorn")]
    assert any("startup complete" in e["message"] for e in uvicorn), lines
    assert all(e["level"] in {"info", "warning", "error"} for e in uvicorn)
    assert not [e for e in uvicorn if "color_message" in e]  # no terminal escapes


@pytest.mark.usefixtures("restore_logging")
def test_values_bound_to_a_request_are_on_every_line_inside_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("json", "info")
    with bind_request(request_id="r-1234567"):
        logging.getLogger("sync.feeds").info("rendered")
    logging.getLogger("sync.feeds").info("after")
    inside, after = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert inside["request_id"] == "r-1234567"
    assert "request_id" not in after


def _polls(worker: WorkerProcess) -> list[dict[str, Any]]:
    return [r for r in worker.records() if "polled in" in str(r.get("message"))]


@pytest.mark.parametrize(("level", "idle_logged"), [("INFO", False), ("DEBUG", True)])
def test_polls_that_change_nothing_stay_below_info(
    level: str,
    idle_logged: bool,
    sqlite_url: str,
    emulator: EmulatorServer,
    workers: Workers,
) -> None:
    engine = make_engine(sqlite_url)
    google_calendars(engine, emulator, 1)
    engine.dispose()
    worker = workers.start(worker_env(sqlite_url, emulator, log_level=level))
    worker.wait_for_log("started")
    time.sleep(3.5)  # a first (full) poll, then idle ones each second
    assert worker.stop() == 0
    polls = _polls(worker)
    assert "full" in polls[0]["message"]
    assert (len(polls) > 1) is idle_logged, polls
    assert all(r["level"] in {"info", "debug", "warning"} for r in worker.records())
