"""``clinic-sync connect`` and ``clinic-sync secrets``: sign a clinic in to its calendars (SPEC §9).

- ``connect google`` runs Google's installed-app flow (a browser, a loopback redirect) or,
  with ``--service-account FILE --subject admin@clinic``, stores a service-account key for
  domain-wide delegation; either way the grant is stored encrypted under
  ``CLINIC_SYNC_SECRET_KEY``.
- ``connect caldav URL --username NAME`` checks the account by discovering its calendars,
  stores the password encrypted and connects every calendar found.
- ``connect ics URL`` subscribes to a read-only .ics address.
- ``secrets rotate`` re-encrypts every stored secret under the first key.

The changes are :mod:`sync.usecases.connect`'s, the ones the admin UI's Connections page
makes too, recorded in the audit trail as made by ``cli``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlmodel import Session

from sync.accounts.service import Actor
from sync.bootstrap import secret_box
from sync.cli.common import ClinicOption, chosen_clinic, settings_or_exit
from sync.cli.services import clean_errors, store
from sync.cli.users import CLI_ACTOR
from sync.config import Settings
from sync.errors import InputError
from sync.sources.google.grants import save_service_account
from sync.sources.google.oauth import read_service_account_key, sign_in_installed_app
from sync.store.credentials import list_credentials, replace_secret
from sync.store.database import session_scope
from sync.usecases import connect

__all__ = ["connect_app", "secrets_app"]

connect_app = typer.Typer(
    help="Sign the clinic in to Google, CalDAV or an .ics URL.", no_args_is_help=True
)
secrets_app = typer.Typer(
    help="Stored secrets: re-encrypt them under a new key.", no_args_is_help=True
)


@connect_app.command("google")
def connect_google(
    *,
    client_secrets: Annotated[Path | None, typer.Option(help="OAuth client secrets JSON.")] = None,
    service_account: Annotated[Path | None, typer.Option(help="Service-account key file.")] = None,
    subject: Annotated[str | None, typer.Option(help="User the service account acts as.")] = None,
    browser: Annotated[bool, typer.Option(help="Open the consent page in a browser.")] = True,
    port: Annotated[int, typer.Option(help="Loopback port of the redirect (0: any).")] = 0,
    clinic: ClinicOption = None,
) -> None:
    """Store the clinic's Google grant, encrypted."""
    settings = settings_or_exit()
    with clean_errors():
        _known(settings, clinic)
        box = secret_box(settings)
        if service_account is not None:
            if not subject:
                raise InputError("--service-account needs --subject (the Workspace user to act as)")
            key = read_service_account_key(service_account)
            with _clinic_session(settings, clinic) as (session, clinic_id):
                save_service_account(session, clinic_id, key, subject, box)
            Console().print(
                f"service account {key.get('client_email')} stored, acting as {subject}"
            )
            return
        secrets_file = client_secrets or settings.google_client_secrets
        if secrets_file is None:
            raise InputError("give --client-secrets or set CLINIC_SYNC_GOOGLE_CLIENT_SECRETS")
        grant = sign_in_installed_app(secrets_file, port=port, open_browser=browser)
        with _clinic_session(settings, clinic) as (session, clinic_id):
            connect.save_google_grant(session, _actor(clinic_id), grant, box)
    Console().print("Google account connected; run `clinic-sync calendars discover` next")


@connect_app.command("caldav")
def connect_caldav(
    url: Annotated[
        str, typer.Argument(help="CalDAV server URL (e.g. https://caldav.icloud.com/).")
    ],
    username: Annotated[str, typer.Option(help="Account user name.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            envvar="CLINIC_SYNC_CALDAV_PASSWORD",
            help="Password (app-specific password on iCloud).",
        ),
    ],
    clinic: ClinicOption = None,
) -> None:
    """Check the account, store it encrypted and connect every calendar it has."""
    settings = settings_or_exit()
    with clean_errors():
        _known(settings, clinic)
        box = secret_box(settings)
        account = connect.CalDavAccount(url, username, password)
        calendars = connect.discover_caldav(account, timeout=settings.caldav_timeout_seconds)
        with _clinic_session(settings, clinic) as (session, clinic_id):
            added = len(connect.save_caldav(session, _actor(clinic_id), account, calendars, box))
    Console().print(f"CalDAV account stored; {added} calendar(s) added of {len(calendars)} found")


@connect_app.command("ics")
def connect_ics(
    url: Annotated[str, typer.Argument(help="Address of the .ics file.")],
    clinic: ClinicOption = None,
) -> None:
    """Subscribe to a read-only .ics address (flags cannot be written there)."""
    settings = settings_or_exit()
    with clean_errors():
        _known(settings, clinic)
        calendar = connect.fetch_ics(url, timeout=settings.ics_timeout_seconds)
        with _clinic_session(settings, clinic) as (session, clinic_id):
            connect.subscribe_ics(session, _actor(clinic_id), calendar)
    Console().print(f"subscribed to {calendar.summary} ({calendar.time_zone}); read-only")


@secrets_app.command("rotate")
def rotate() -> None:
    """Re-encrypt every stored secret under the first CLINIC_SYNC_SECRET_KEY."""
    settings = settings_or_exit()
    with clean_errors():
        box = secret_box(settings)
        with store(settings) as engine, session_scope(engine) as session:
            credentials = list_credentials(session)
            for credential in credentials:
                replace_secret(session, credential.id, box.rotate(credential.secret))
    Console().print(f"{len(credentials)} secret(s) re-encrypted under the first key")


def _known(settings: Settings, clinic: str | None) -> None:
    """An unknown ``--clinic`` ends the command first, before a browser or server is asked."""
    with _clinic_session(settings, clinic):
        pass


@contextmanager
def _clinic_session(settings: Settings, clinic: str | None) -> Iterator[tuple[Session, int]]:
    """One unit of work on the configured (migrated) store, with the chosen clinic's id."""
    with store(settings) as engine, session_scope(engine) as session:
        yield session, chosen_clinic(session, settings, clinic).id


def _actor(clinic_id: int) -> Actor:
    """The command acting for the clinic, now, as the audit trail names it."""
    return Actor(CLI_ACTOR, clinic_id, datetime.now(UTC))
