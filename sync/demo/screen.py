"""What ``clinic-sync demo`` prints: a short, calm screen that fits 80 columns.

A Rich progress bar for the first sync on a terminal (one line per calendar when the
output is piped), then the links — printed with ``soft_wrap`` so a URL is never broken
across lines — then one timestamped line per new booking and per new flag.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.text import Text

from sync.demo.clinic import DemoClinic
from sync.demo.live import NewBooking
from sync.demo.report import ConflictRow, conflicts_table, safe_text
from sync.usecases.cycle import CalendarCycle

__all__ = ["DemoLogin", "FeedLink", "Screen", "SyncProgress"]


@dataclass(frozen=True, slots=True)
class FeedLink:
    """A patient's eligibility feed, issued for the demo."""

    patient: str
    url: str


@dataclass(frozen=True, slots=True)
class DemoLogin:
    """Where and how to log in to the admin UI."""

    url: str
    user: str
    password: str


class SyncProgress:
    """Progress of the first sync: a bar on a terminal, lines otherwise."""

    def __init__(self, console: Console, bar: Progress | None, task: TaskID | None) -> None:
        self._console = console
        self._bar = bar
        self._task = task

    def start(self, calendar: str) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, description=f"Syncing {escape(calendar)}")

    def done(self, calendar: str, cycle: CalendarCycle) -> None:
        pull = cycle.pull
        summary = (
            f"  {calendar}: {pull.seen} events, {cycle.detected} conflict(s) found, "
            f"{cycle.flagged} flagged" + ("" if pull.ok else f", failed: {pull.error}")
        )
        if self._bar is not None and self._task is not None:
            self._bar.console.print(Text(summary))
            self._bar.advance(self._task)
        else:
            self._console.print(Text(summary))


class Screen:
    """The demo's output, on one console."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def intro(self, clinic: DemoClinic, seed: int, name: str) -> None:
        """What is generated; ``name`` is the clinic's, as the web app shows it."""
        bookings = len(clinic.patient_bookings)
        self.console.print(
            f"[bold]clinic-sync demo[/] · {escape(name)} (seed {seed}) · 4 calendars, "
            f"{len(clinic.patients)} patients, {bookings} bookings"
        )

    @contextmanager
    def progress(self, total: int) -> Iterator[SyncProgress]:
        """A progress bar over ``total`` calendars while the block runs."""
        if not self.console.is_terminal:
            self.console.print("First sync:")
            yield SyncProgress(self.console, None, None)
            return
        columns = (TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=self.console) as bar:
            task = bar.add_task("First sync", total=total)
            yield SyncProgress(self.console, bar, task)
            bar.update(task, description="First sync done")

    def ready(
        self,
        web: str,
        feed: FeedLink | None,
        login: DemoLogin | None,
        database_url: str,
        emulator: str,
        *,
        slug: str,
        mailbox: str | None = None,
    ) -> None:
        """The links: web app, admin (or the conflicts command), emulator, a patient's feed."""
        self.console.print()
        self._link("Web app", web)
        self._link("", "API docs at /admin/api-docs, health at /healthz", text=True)
        if login is not None:
            self._link("Admin", f"{login.url}  (user {login.user}, password {login.password})")
            self._link("", "Connect Google at /admin/connect (emulated consent)", text=True)
        if mailbox is not None:
            self._link("Mailbox", mailbox)
            self._link("", "the e-mails the demo sends (invitations, resets)", text=True)
        else:
            self._link("Conflicts", f"clinic-sync conflicts list --clinic {slug}, with")
            self._link("", f"CLINIC_SYNC_DATABASE_URL={database_url}")
        # The emulated Google account, so a person can look at the events the demo flags.
        self._link("Google (emul.)", f"{emulator}users/me/calendarList")
        if feed is not None:
            self._link("Patient feed", f"when {feed.patient} may have Botox (iCal):", text=True)
            self.console.print(Text(f"  {feed.url}", style="underline"), soft_wrap=True)
        self.console.print()

    def live_intro(self, every: float, poll: int) -> None:
        self.console.print(
            f"Live: a new booking every {every:g} s, the worker polls every {poll} s. "
            "Ctrl-C stops.",
            highlight=False,
        )

    def booked(self, booking: NewBooking) -> None:
        line = Text("+ booked  ", style="cyan")
        line.append(safe_text(booking.body["summary"]))
        line.append(f"  {booking.calendar.summary}, {booking.day:%a %d %b}", style="dim")
        self.line(line)

    def line(self, text: Text) -> None:
        """``text`` after the time of day."""
        stamp = Text(f"{datetime.now():%H:%M:%S} ", style="dim")
        self.console.print(stamp + text, overflow="ellipsis", no_wrap=True)

    def conflicts(self, rows: list[ConflictRow], today: date) -> None:
        """The summary table; on a wide terminal it shows the flagged booking's title too."""
        self.console.print(conflicts_table(rows, today, wide=self.console.width >= 110))
        self.console.print(
            "[dim]Past conflicts are kept for audit; only bookings still ahead are flagged.[/]"
        )
        self.console.print()

    def stopped(self, added: int, flagged: int) -> None:
        self.console.print(
            f"Stopped after {added} new booking(s), {flagged} flagged live; "
            "the worker finished its calendar and the servers are down."
        )

    def _link(self, label: str, value: str, *, text: bool = False) -> None:
        line = Text(f"  {label:<13} ", style="bold")
        line.append(value, style="" if text else "underline")
        self.console.print(line, soft_wrap=True)
