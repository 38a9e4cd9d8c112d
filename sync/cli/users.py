"""``clinic-sync users``: accounts of the admin UI and API (SPEC §8).

``add`` and ``set-password`` read the password from a hidden prompt (asked twice) or,
with ``--password-stdin``, from the first line of standard input — never from an
argument, where it would land in the shell's history. ``token`` prints a personal API
token once: only its hash is stored. Each change is recorded in the audit trail of
``CLINIC_SYNC_CLINIC`` with the actor ``cli``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from sync.accounts.service import (
    Actor,
    change_password,
    create_user,
    disable_user,
    issue_api_token,
)
from sync.cli.common import settings_or_exit
from sync.cli.conflicts import safe_text
from sync.cli.services import clean_errors, store, when
from sync.store.clinics import get_or_create_clinic
from sync.store.database import session_scope
from sync.store.users import Role, list_users

__all__ = ["users_app"]

CLI_ACTOR = "cli"

users_app = typer.Typer(
    help="Accounts of the admin UI and API: admins act, auditors read.", no_args_is_help=True
)

_STDIN = typer.Option("--password-stdin", help="Read the password from standard input.")


@users_app.command("add")
def add(
    email: Annotated[str, typer.Argument(help="The user's e-mail address.")],
    role: Annotated[Role, typer.Option(help="admin (all) or auditor (read only).")],
    password_stdin: Annotated[bool, _STDIN] = False,
) -> None:
    """Add a user who signs in with EMAIL and a password."""
    password = _password(password_stdin)
    with _acting() as (session, actor):
        user = create_user(session, actor, email, role, password)
    typer.echo(f"added {user.email} ({user.role.value})")


@users_app.command("list")
def list_command() -> None:
    """List users, their role and whether they are disabled."""
    with _acting() as (session, _actor):
        users = list_users(session)
    table = Table(title=f"Users ({len(users)})")
    for column in ("e-mail", "role", "added", "disabled"):
        table.add_column(column)
    for user in users:
        disabled = when(user.disabled_at) if user.disabled_at else ""
        table.add_row(safe_text(user.email), user.role.value, when(user.created_at), disabled)
    Console(highlight=False).print(table)


@users_app.command("disable")
def disable(email: Annotated[str, typer.Argument(help="The user's e-mail address.")]) -> None:
    """Stop a user signing in; their sessions and API tokens stop working."""
    with _acting() as (session, actor):
        user = disable_user(session, actor, email)
    typer.echo(f"disabled {user.email}")


@users_app.command("set-password")
def set_password(
    email: Annotated[str, typer.Argument(help="The user's e-mail address.")],
    password_stdin: Annotated[bool, _STDIN] = False,
) -> None:
    """Give a user a new password; they are signed out everywhere."""
    password = _password(password_stdin)
    with _acting() as (session, actor):
        user = change_password(session, actor, email, password)
    typer.echo(f"password changed for {user.email}")


@users_app.command("token")
def token(
    email: Annotated[str, typer.Argument(help="The user's e-mail address.")],
    label: Annotated[str | None, typer.Option(help="What the token is for.")] = None,
) -> None:
    """Issue a personal API token (Authorization: Bearer) and print it once."""
    with _acting() as (session, actor):
        issued = issue_api_token(session, actor, email, label)
    typer.echo(issued.secret)
    typer.echo(f"token {issued.token.id}: shown once, only its hash is kept", err=True)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@contextmanager
def _acting() -> Iterator[tuple[Session, Actor]]:
    settings = settings_or_exit()
    with clean_errors(), store(settings) as engine, session_scope(engine) as session:
        clinic = get_or_create_clinic(session, settings.clinic)
        yield session, Actor(CLI_ACTOR, clinic.id, datetime.now(UTC))
