"""The demo's set-up steps: its clinic, connect its calendars, sync them once, issue a feed.

The clinic is made in the store as ``clinic-sync clinics add`` would: slug ``demo``,
named "Demo clinic" (the name is what people see), London time and the demo's staff
domain. Calendars are connected the way ``clinic-sync calendars discover`` does (the account's
calendar list, each one a Google calendar source), keeping only the demo clinic's four.
The first sync runs :func:`sync.usecases.cycle.run_calendar_cycle` calendar by calendar so the
screen can show progress; the worker takes over afterwards.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import Engine

from sync.bootstrap import Services
from sync.clinics.model import ClinicSettings
from sync.demo.bookings import ZONE
from sync.demo.builder import CALENDARS
from sync.demo.clinic import DemoClinic
from sync.demo.report import ConflictRow
from sync.demo.screen import FeedLink, Screen
from sync.feeds.scope import FeedScope, ScopeKind
from sync.feeds.tokens import feed_url, issue_token
from sync.store.clinics import Clinic, add_clinic
from sync.store.database import session_scope
from sync.store.sources import CalendarSource, Provider, add_source
from sync.usecases.cycle import CalendarCycle, run_calendar_cycle

__all__ = [
    "DEMO_CLINIC_NAME",
    "DEMO_CLINIC_SLUG",
    "STAFF_DOMAIN",
    "add_demo_clinic",
    "connect_calendars",
    "first_sync",
    "patient_feed",
]

DEMO_CLINIC_SLUG = "demo"
DEMO_CLINIC_NAME = "Demo clinic"
STAFF_DOMAIN = "demo-clinic.example"


def add_demo_clinic(engine: Engine) -> Clinic:
    """The demo's clinic, in a fresh store, with the settings its bookings were written for."""
    settings = ClinicSettings(time_zone=ZONE, staff_domains=frozenset({STAFF_DOMAIN}))
    with session_scope(engine) as session:
        return add_clinic(session, DEMO_CLINIC_SLUG, DEMO_CLINIC_NAME, settings)


def connect_calendars(services: Services, clinic: DemoClinic) -> list[CalendarSource]:
    """Connect the demo clinic's calendars (as the Google account lists them)."""
    del clinic  # the calendars are the same for every generated clinic
    wanted = {calendar.id for calendar in CALENDARS}
    remote = [c for c in services.google.list_calendars() if c.id in wanted]
    with session_scope(services.engine) as session:
        return [
            add_source(
                session,
                services.clinic.id,
                Provider.GOOGLE,
                calendar.id,
                display_name=calendar.summary,
                time_zone=calendar.time_zone,
            )
            for calendar in sorted(remote, key=lambda c: c.summary)
        ]


def first_sync(
    services: Services, sources: list[CalendarSource], screen: Screen, stop: threading.Event
) -> list[CalendarCycle]:
    """Pull, detect and flag every calendar once, advancing the screen's progress bar."""
    cycles: list[CalendarCycle] = []
    with screen.progress(len(sources)) as progress:
        for source in sources:
            if stop.is_set():
                break
            progress.start(source.display_name)
            cycle = run_calendar_cycle(services, source.id, now=datetime.now(UTC))
            cycles.append(cycle)
            progress.done(source.display_name, cycle)
    return cycles


def patient_feed(services: Services, rows: list[ConflictRow]) -> FeedLink | None:
    """A feed URL for the patient of the first flagged conflict (issued now, shown once)."""
    chosen = next((row for row in rows if row.state == "flagged"), None)
    if chosen is None:
        return None
    with session_scope(services.engine) as session:
        scope = FeedScope(ScopeKind.PATIENT, chosen.patient_key)
        now = datetime.now(UTC)
        issued = issue_token(
            session, services.clinic.id, scope, actor="demo", now=now, label="demo"
        )
    return FeedLink(chosen.patient, feed_url(services.settings.public_url, issued.secret))
