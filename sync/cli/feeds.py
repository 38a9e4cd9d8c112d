"""``clinic-sync feeds``: issue, list, revoke and rotate feed URLs (SPEC §7).

A feed's URL is printed once, when it is issued or rotated: only a hash of its token is
stored, so it cannot be shown again. A rotation is recorded in the audit trail with the
actor ``cli``, as the admin pages record theirs. The clinic is ``--clinic`` (default
``CLINIC_SYNC_CLINIC``); a feed id or calendar id of another clinic answers exactly like
one that does not exist. URLs start with ``CLINIC_SYNC_PUBLIC_URL``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlmodel import Session

from sync.cli.common import ClinicOption, chosen_clinic, fail, settings_or_exit
from sync.cli.services import clean_errors, store
from sync.cli.users import CLI_ACTOR
from sync.config import Settings
from sync.errors import InputError
from sync.feeds.scope import FeedScope, ScopeKind
from sync.feeds.tokens import IssuedToken, feed_url, issue_token, revoke_token, rotate_token
from sync.store.database import session_scope
from sync.store.feeds import FeedToken, list_feed_tokens

__all__ = ["feeds_app"]

feeds_app = typer.Typer(
    help="Feed URLs of eligible dates: issue, list, revoke, rotate.", no_args_is_help=True
)


@feeds_app.command("issue")
def issue(
    scope: Annotated[ScopeKind, typer.Argument(help="patient, calendar or clinic.")],
    target: Annotated[
        str | None,
        typer.Argument(help="Patient key (id:P-17, email:..., name:...) or calendar id."),
    ] = None,
    label: Annotated[str | None, typer.Option(help="The feed's name in calendar apps.")] = None,
    clinic: ClinicOption = None,
) -> None:
    """Issue a feed URL for a patient, a calendar or the whole clinic, and print it."""
    if (scope is ScopeKind.CLINIC) != (target is None):
        fail(InputError(f"`feeds issue {scope.value}` takes {_target_help(scope)}"))
    settings = settings_or_exit()
    with _clinic_session(settings, clinic) as (session, clinic_id):
        issued = issue_token(
            session,
            clinic_id,
            FeedScope(scope, target or ""),
            actor=CLI_ACTOR,
            now=_now(),
            label=label,
        )
    _print_issued(settings, issued)


@feeds_app.command("list")
def list_tokens(clinic: ClinicOption = None) -> None:
    """List the clinic's feeds (never their tokens): id, scope, created, last fetched."""
    settings = settings_or_exit()
    with _clinic_session(settings, clinic) as (session, clinic_id):
        tokens = list_feed_tokens(session, clinic_id)
    table = Table("id", "scope", "label", "created", "last fetched", "revoked")
    for token in tokens:
        table.add_row(*(escape(cell) for cell in _row(token)))
    Console().print(table)


@feeds_app.command("revoke")
def revoke(
    token_id: Annotated[int, typer.Argument(help="The feed's id (feeds list).")],
    clinic: ClinicOption = None,
) -> None:
    """Revoke a feed: its URL answers 404 from now on."""
    settings = settings_or_exit()
    with _clinic_session(settings, clinic) as (session, clinic_id):
        revoke_token(session, clinic_id, token_id, actor=CLI_ACTOR, now=_now())
    Console().print(f"feed {token_id} revoked")


@feeds_app.command("rotate")
def rotate(
    token_id: Annotated[int, typer.Argument(help="The feed's id (feeds list).")],
    clinic: ClinicOption = None,
) -> None:
    """Replace a feed's URL with a new one; the old URL stops working at once."""
    settings = settings_or_exit()
    with _clinic_session(settings, clinic) as (session, clinic_id):
        issued = rotate_token(session, clinic_id, token_id, actor=CLI_ACTOR, now=_now())
    _print_issued(settings, issued)


@contextmanager
def _clinic_session(settings: Settings, clinic: str | None) -> Iterator[tuple[Session, int]]:
    """A unit of work on the migrated store, for the chosen clinic; errors end cleanly."""
    with clean_errors(), store(settings) as engine, session_scope(engine) as session:
        yield session, chosen_clinic(session, settings, clinic).id


def _print_issued(settings: Settings, issued: IssuedToken) -> None:
    token = issued.token
    Console(stderr=True).print(
        f"feed {token.id} ({escape(_scope(token))}); the URL is shown only now:"
    )
    typer.echo(feed_url(settings.public_url, issued.secret))


def _row(token: FeedToken) -> tuple[str, ...]:
    return (
        str(token.id),
        _scope(token),
        token.label or "",
        _when(token.created_at),
        _when(token.last_fetched_at),
        _when(token.revoked_at) if token.revoked else "no",
    )


def _scope(token: FeedToken) -> str:
    return str(FeedScope(ScopeKind(token.scope_kind), token.scope_value))


def _target_help(scope: ScopeKind) -> str:
    if scope is ScopeKind.PATIENT:
        return "a patient key: id:VALUE, email:ADDRESS or name:FULL NAME"
    if scope is ScopeKind.CALENDAR:
        return "a calendar id (see `clinic-sync calendars list`)"
    return "no target"


def _when(moment: datetime | None) -> str:
    return "—" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _now() -> datetime:
    return datetime.now(UTC)
