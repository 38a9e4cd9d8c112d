"""``clinic-sync notify``: send notifications, manage a clinic's webhooks and who is told how.

``run`` does what the worker does on its timer (:mod:`sync.notify.job`); ``webhooks``
adds, lists and removes a clinic's webhooks (a new one's signing secret is printed once);
``test`` sends a test message to every admin and webhook; ``preferences`` sets how one
admin is e-mailed: ``immediate``, ``daily`` (a digest) or ``off`` (SPEC §8; issue 15).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine

from sync.bootstrap import secret_box
from sync.cli.common import ClinicOption, chosen_clinic, fail, settings_or_exit
from sync.cli.services import clean_errors, store, when
from sync.clinics.profile import ClinicProfile, load_profile
from sync.config import Settings
from sync.errors import InputError
from sync.notify.check import send_test
from sync.notify.job import open_channels, run_notifications
from sync.notify.webhooks import FORMATS, check_url, new_secret
from sync.store.database import session_scope
from sync.store.errors import RecordNotFound
from sync.store.notifications import (
    NotifyMode,
    add_webhook,
    clinic_admins,
    list_webhooks,
    remove_webhook,
    set_preference,
)
from sync.store.users import find_user
from sync.worker.leases import new_owner

__all__ = ["notify_app"]

notify_app = typer.Typer(
    help="Notifications by e-mail and webhooks: send, webhooks, test, preferences.",
    no_args_is_help=True,
)
webhooks_app = typer.Typer(help="A clinic's outgoing webhooks.", no_args_is_help=True)
notify_app.add_typer(webhooks_app, name="webhooks")


@notify_app.command("run")
def run(
    once: Annotated[bool, typer.Option("--once", help="One run, then exit.")] = False,
) -> None:
    """Turn new audit records into notifications and send the due ones (every clinic)."""
    settings = settings_or_exit()
    stop, owner = threading.Event(), new_owner()
    with clean_errors(), store(settings) as engine, open_channels(engine, settings) as channels:
        while True:
            done = run_notifications(
                engine, settings, datetime.now(UTC), channels=channels, owner=owner
            )
            sent = done.delivered
            Console().print(
                f"{done.planned} planned; {sent.sent} sent, {sent.retried} to retry, "
                f"{sent.failed} failed"
            )
            if once or stop.wait(settings.notify_every_seconds):
                return


@webhooks_app.command("add")
def webhooks_add(
    url: Annotated[str, typer.Argument(help="https:// URL the notifications are POSTed to.")],
    clinic: ClinicOption = None,
    fmt: Annotated[str, typer.Option("--format", help="json or slack.")] = "json",
) -> None:
    """Add a webhook; its signing secret is printed once."""
    if fmt not in FORMATS:
        fail(InputError(f"--format is one of {', '.join(FORMATS)}, not {fmt!r}"))
    settings = settings_or_exit()
    with clean_errors():
        checked = check_url(url, settings)
        secret, box = new_secret(), secret_box(settings)
        with _clinic(settings, clinic) as (engine, profile), session_scope(engine) as session:
            hook = add_webhook(session, profile.id, checked, box.encrypt(secret), fmt, now=_now())
    Console(stderr=True).print(f"webhook {hook.id} added; its signing secret is shown only now:")
    typer.echo(secret)


@webhooks_app.command("list")
def webhooks_list(clinic: ClinicOption = None) -> None:
    """List the clinic's webhooks (never their secrets)."""
    settings = settings_or_exit()
    with (
        clean_errors(),
        _clinic(settings, clinic) as (engine, profile),
        session_scope(engine) as session,
    ):
        hooks = list_webhooks(session, profile.id)
    table = Table("id", "url", "format", "enabled", "added")
    for hook in hooks:
        cells = (str(hook.id), hook.url, hook.format, "yes" if hook.enabled else "no")
        table.add_row(*(escape(cell) for cell in cells), when(hook.created_at))
    Console().print(table)


@webhooks_app.command("remove")
def webhooks_remove(
    webhook_id: Annotated[int, typer.Argument(help="The webhook's id (notify webhooks list).")],
    clinic: ClinicOption = None,
) -> None:
    """Remove a webhook: nothing more is sent to it."""
    settings = settings_or_exit()
    with (
        clean_errors(),
        _clinic(settings, clinic) as (engine, profile),
        session_scope(engine) as session,
    ):
        remove_webhook(session, profile.id, webhook_id)
    Console().print(f"webhook {webhook_id} removed")


@notify_app.command("test")
def send_test_message(clinic: ClinicOption = None) -> None:
    """Send a test message to every admin (by e-mail) and every webhook of the clinic."""
    settings = settings_or_exit()
    with (
        clean_errors(),
        _clinic(settings, clinic) as (engine, profile),
        open_channels(engine, settings) as channels,
    ):
        outcomes = send_test(engine, profile, channels, public_url=settings.public_url, now=_now())
    if not outcomes:
        fail(InputError("nobody to tell: no admin can be e-mailed and no webhook is enabled"))
    for outcome in outcomes:
        result = "sent" if outcome.reason is None else f"failed: {outcome.reason}"
        Console(highlight=False).print(escape(f"{outcome.channel} {outcome.recipient}: {result}"))
    if any(outcome.reason for outcome in outcomes):
        raise typer.Exit(code=1)


@notify_app.command("preferences")
def preferences(
    email: Annotated[str, typer.Argument(help="The admin's e-mail address.")],
    mode: Annotated[NotifyMode, typer.Argument(help="immediate, daily or off.")],
    clinic: ClinicOption = None,
) -> None:
    """Set how an admin of the clinic is e-mailed: each at once, a daily digest, or not."""
    settings = settings_or_exit()
    with (
        clean_errors(),
        _clinic(settings, clinic) as (engine, profile),
        session_scope(engine) as session,
    ):
        user = find_user(session, email)
        admins = {member.user_id for member in clinic_admins(session, profile.id)}
        if user is None or user.id not in admins:
            raise RecordNotFound(f"no admin {email!r} in clinic {profile.slug!r}")
        set_preference(session, user.id, profile.id, mode, now=_now())
    Console().print(escape(f"{email}: {mode.value} in {profile.slug}"))


@contextmanager
def _clinic(settings: Settings, slug: str | None) -> Iterator[tuple[Engine, ClinicProfile]]:
    with store(settings) as engine:
        with session_scope(engine) as session:
            profile = load_profile(session, chosen_clinic(session, settings, slug, create=False))
        yield engine, profile


def _now() -> datetime:
    return datetime.now(UTC)
