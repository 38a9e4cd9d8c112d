"""``clinic-sync demo`` end to end: emulator, store, first sync, web app, worker, live bookings.

Everything runs in one process on loopback: the Google Calendar emulator seeded with the
generated clinic (:mod:`sync.demo.clinic`), a fresh SQLite file, the calendars connected
as ``calendars discover`` would, a first sync calendar by calendar
(:func:`sync.usecases.cycle.run_calendar_cycle`), then the web app
(:class:`sync.web.server.WebServer`) and the worker (:class:`sync.worker.runner.Worker`) on
threads, while the main thread adds a
booking through the real Google client every few seconds and reports each new flag.
SIGINT and SIGTERM set one stop event: the worker finishes its calendar, the servers
stop, the process exits 0 (SPEC §9).
"""

from __future__ import annotations

import secrets
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from pydantic import SecretStr
from rich.console import Console

from sync.accounts.service import Actor, create_user
from sync.bootstrap import Services, clinic_services, open_store
from sync.clinics.profile import open_profile
from sync.config import Settings
from sync.demo.bookings import ZONE
from sync.demo.clinic import DemoClinic, generate_clinic
from sync.demo.first_sync import (
    DEMO_CLINIC_NAME,
    DEMO_CLINIC_SLUG,
    STAFF_DOMAIN,
    add_demo_clinic,
    connect_calendars,
    first_sync,
    patient_feed,
)
from sync.demo.live import insert_booking, new_bookings
from sync.demo.mailbox import MAILBOX_PATH, mailbox_router
from sync.demo.oauth_client import free_port, seed_oauth_client
from sync.demo.report import conflict_rows, flag_line, patient_names
from sync.demo.screen import DemoLogin, Screen
from sync.emulator import EmulatorServer
from sync.errors import InputError
from sync.notify.outbox import Outbox
from sync.secrets import new_key
from sync.store.database import session_scope
from sync.store.users import Role
from sync.web.app import create_app
from sync.web.server import WebServer
from sync.worker.runner import Worker, WorkerOptions, single_worker_lock

__all__ = ["DemoOptions", "demo_settings", "open_demo_services", "run_demo"]

_TICK = 0.25


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """What ``clinic-sync demo`` was asked for."""

    database: Path = Path("clinic-sync-demo.db")
    port: int = 8000
    seed: int = 7
    every: float = 5.0
    duration: float | None = None
    """Seconds to run live after the first sync; ``None``: until interrupted."""
    poll_seconds: int = 3


def demo_settings(options: DemoOptions, emulator_url: str, public_url: str) -> Settings:
    """Settings for the demo: its own database and emulator, short polls, its clinic.

    Without SMTP settings its e-mail goes to a mailbox folder next to the database,
    shown at ``/demo/mail`` (:mod:`sync.demo.mailbox`).
    """
    settings = Settings(
        database_url=f"sqlite:///{options.database.resolve()}",
        google_api_endpoint=emulator_url,
        google_auth="none",
        public_url=public_url,
        poll_interval_seconds=options.poll_seconds,
        worker_claim_seconds=0.5,
        clinic=DEMO_CLINIC_SLUG,
        google_retry_attempts=3,
        api_docs=True,  # on loopback, for the admin the demo signs in
    )
    if settings.smtp_host:
        return settings
    return settings.model_copy(update={"mail_outbox": _mailbox_folder(options.database)})


def _mailbox_folder(database: Path) -> Path:
    return database.resolve().with_name(database.name + "-mail")


def open_demo_services(settings: Settings) -> Services:
    """The demo clinic's services on a fresh, migrated store (its clinic made first)."""
    engine = open_store(settings)
    try:
        add_demo_clinic(engine)
        return clinic_services(settings, engine, open_profile(engine, slug=settings.clinic))
    except BaseException:
        engine.dispose()
        raise


def run_demo(options: DemoOptions, console: Console) -> None:
    """Run the demo until ``options.duration`` passes, SIGINT or SIGTERM."""
    clinic = generate_clinic(options.seed, datetime.now(ZoneInfo(ZONE)).date())
    screen = Screen(console)
    screen.intro(clinic, options.seed, DEMO_CLINIC_NAME)
    stop = threading.Event()
    with _stop_on_signals(stop), EmulatorServer(seed=clinic.seed()) as emulator:
        settings = demo_settings(options, emulator.url, "http://127.0.0.1")
        with single_worker_lock(settings.database_url):
            _remove_database(options.database)
            shutil.rmtree(_mailbox_folder(options.database), ignore_errors=True)
            with open_demo_services(settings) as services:
                _serve(services, clinic, options, screen, stop, emulator=emulator)


def _serve(
    services: Services,
    clinic: DemoClinic,
    options: DemoOptions,
    screen: Screen,
    stop: threading.Event,
    *,
    emulator: EmulatorServer,
) -> None:
    port = options.port or free_port()
    settings = _connectable(services.settings, emulator, port, options.database)
    services = replace(services, settings=settings)
    emulator_url = emulator.url
    app = create_app(settings, services.engine)
    mailbox = _mount_mailbox(app, settings)
    with _web_server(app, port) as web:
        sources = connect_calendars(services, clinic)
        first_sync(services, sources, screen, stop)
        rows = conflict_rows(services.engine, services.clinic.id, patient_names(clinic))
        feed = patient_feed(services, rows)
        login = _demo_login(services, web.url)
        screen.ready(
            web.url,
            feed,
            login,
            settings.database_url,
            emulator_url,
            slug=services.clinic.slug,
            mailbox=None if mailbox is None else web.url + mailbox,
        )
        screen.conflicts(rows, clinic.today)
        flagged = {row.public_id for row in rows if row.state == "flagged"}
        if not stop.is_set():
            _Live(services, clinic, options, screen, stop, flagged).run()


@dataclass
class _Live:
    """The live part: the worker on a thread, new bookings and new flags on the main one."""

    services: Services
    clinic: DemoClinic
    options: DemoOptions
    screen: Screen
    stop: threading.Event
    flagged: set[str]
    added: int = 0

    def __post_init__(self) -> None:
        self.flagged_at_start = len(self.flagged)

    def run(self) -> None:
        """Until the duration passes or ``stop`` is set; then the worker finishes."""
        worker = Worker(self.services, WorkerOptions.from_settings(self.services.settings))
        thread = threading.Thread(target=worker.run, args=(self.stop,), name="demo-worker")
        thread.start()
        try:
            self.screen.live_intro(self.options.every, self.options.poll_seconds)
            self._loop()
        finally:
            self.stop.set()
            thread.join()
        self._report_flags()
        self.screen.stopped(self.added, len(self.flagged) - self.flagged_at_start)

    def _loop(self) -> None:
        stream = new_bookings(self.clinic, self.options.seed)
        duration = self.options.duration
        deadline = None if duration is None else time.monotonic() + duration
        due = time.monotonic()
        while not self.stop.is_set() and (deadline is None or time.monotonic() < deadline):
            if time.monotonic() >= due:
                booking = next(stream)
                insert_booking(self.services.google, booking)
                self.screen.booked(booking)
                self.added += 1
                due += self.options.every
            self._report_flags()
            self.stop.wait(_TICK)

    def _report_flags(self) -> None:
        names = patient_names(self.clinic)
        for row in conflict_rows(self.services.engine, self.services.clinic.id, names):
            if row.state == "flagged" and row.public_id not in self.flagged:
                self.flagged.add(row.public_id)
                self.screen.line(flag_line(row))


def _mount_mailbox(app: FastAPI, settings: Settings) -> str | None:
    """The mailbox page on the demo's app when its e-mail goes to a folder; its path."""
    if settings.mail_outbox is None or settings.smtp_host:
        return None
    app.include_router(mailbox_router(Outbox(settings.mail_outbox), settings.public_url))
    return MAILBOX_PATH


def _demo_login(services: Services, web_url: str) -> DemoLogin:
    """A demo admin with a fresh password each run (the database is new each run too)."""
    email, password = f"admin@{STAFF_DOMAIN}", secrets.token_urlsafe(9)
    with session_scope(services.engine) as session:
        actor = Actor(name="demo", clinic_id=services.clinic.id, now=datetime.now(UTC))
        create_user(session, actor, email, Role.ADMIN, password)
    return DemoLogin(url=f"{web_url}/admin/login", user=email, password=password)


def _connectable(settings: Settings, emulator: EmulatorServer, port: int, db: Path) -> Settings:
    """The web app's settings on ``port``, with Connect Google pointed at the emulator.

    The emulator gets an OAuth client whose redirect URI is the app's callback, port
    included; grants are encrypted under the configured key or, without one, a key of
    this run only.
    """
    public_url = f"http://127.0.0.1:{port}"
    client_secrets = seed_oauth_client(emulator, public_url, db.resolve().parent)
    return settings.model_copy(
        update={
            "public_url": public_url,
            "google_client_secrets": client_secrets,
            "google_oauth_base_url": emulator.url,
            "secret_key": settings.secret_key or SecretStr(new_key()),
        }
    )


@contextmanager
def _web_server(app: FastAPI, port: int) -> Iterator[WebServer]:
    """The web app on 127.0.0.1:``port``; a port already taken is the user's to change."""
    web = WebServer(app, port=port)
    try:
        web.start()
    except OSError as err:
        raise InputError(
            f"cannot listen on port {port}: {err.strerror or err}; try --port 0"
        ) from err
    try:
        yield web
    finally:
        web.stop()


def _remove_database(path: Path) -> None:
    """A fresh start: the demo's SQLite file and its journal files go."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Set ``stop`` on SIGINT and SIGTERM instead of raising in the middle of a write."""

    def handle(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
