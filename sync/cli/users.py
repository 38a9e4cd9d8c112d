"""``clinic-sync users``: accounts of the admin UI and API, and their memberships (SPEC §8).

A user is a member of clinics with a role in each (admin acts, auditor reads): ``add
EMAIL --role R`` makes them a member of ``--clinic`` (default ``CLINIC_SYNC_CLINIC``),
``grant`` and ``revoke`` change their clinics, ``add EMAIL --operator`` makes someone who
runs the service and sees no patient unless also a member. ``list`` shows each user's
memberships (``--clinic``: only that clinic's members). ``add`` and ``set-password`` read
the password from a hidden prompt (asked twice) or, with ``--password-stdin``, from the
first line of standard input — never from an argument, where it would land in the
shell's history. ``token`` prints a personal API token once: only its hash is stored.
Each change is recorded with the actor ``cli`` in the audit trail of the clinic it is
about (``CLINIC_SYNC_CLINIC`` for the rest).
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
    grant_role,
    issue_api_token,
    revoke_role,
)
from sync.cli.common import settings_or_exit
from sync.cli.conflicts import safe_text
from sync.cli.services import clean_errors, store, when
from sync.errors import InputError
from sync.store.clinics import Clinic, get_clinic, get_or_create_clinic
from sync.store.database import session_scope
from sync.store.errors import RecordNotFound
from sync.store.users import Role, User, list_users

__all__ = ["users_app"]

CLI_ACTOR = "cli"

users_app = typer.Typer(
    help="Accounts of the admin UI and API: members of clinics (admins act, auditors read) "
    "and operators.",
    no_args_is_help=True,
)

_STDIN = typer.Option("--password-stdin", help="Read the password from standard input.")
_CLINIC = typer.Option(
    "--clinic", help="The clinic's slug (default: CLINIC_SYNC_CLINIC).", show_default=False
)
_EMAIL = typer.Argument(help="The user's e-mail address.")


@users_app.command("add")
def add(
    email: Annotated[str, _EMAIL],
    role: Annotated[
        Role | None, typer.Option(help="admin (acts) or auditor (reads) in the clinic.")
    ] = None,
    clinic: Annotated[str | None, _CLINIC] = None,
    operator: Annotated[
        bool, typer.Option("--operator", help="Runs the service: every clinic's counts.")
    ] = False,
    password_stdin: Annotated[bool, _STDIN] = False,
) -> None:
    """Add a user who signs in with EMAIL and a password: a member of a clinic, or an operator."""
    if role is None and not operator:
        with clean_errors():
            raise InputError("give --role admin|auditor (in --clinic), or --operator")
    password = _password(password_stdin)
    with _acting(clinic) as (session, actor, _clinic):
        user = create_user(session, actor, email, role, password, operator=operator)
    typer.echo(f"added {user.email} ({_roles(user)})")


@users_app.command("grant")
def grant(
    email: Annotated[str, _EMAIL],
    role: Annotated[Role, typer.Option(help="admin (acts) or auditor (reads) in the clinic.")],
    clinic: Annotated[str | None, _CLINIC] = None,
) -> None:
    """Make a user a member of a clinic with a role (or change their role there)."""
    with _acting(clinic) as (session, actor, found):
        user = grant_role(session, actor, email, found, role)
    typer.echo(f"{user.email}: {_roles(user)}")


@users_app.command("revoke")
def revoke(
    email: Annotated[str, _EMAIL],
    clinic: Annotated[str | None, _CLINIC] = None,
) -> None:
    """End a user's membership of a clinic: they no longer see its data."""
    with _acting(clinic) as (session, actor, found):
        user = revoke_role(session, actor, email, found)
    typer.echo(f"{user.email}: {_roles(user)}")


@users_app.command("list")
def list_command(clinic: Annotated[str | None, _CLINIC] = None) -> None:
    """List users with their clinics and roles (with --clinic: that clinic's members)."""
    with _acting(clinic) as (session, _actor, found):
        users = list_users(session)
    if clinic is not None:
        users = [user for user in users if user.membership(found.id) is not None]
    title = f"Users ({len(users)})" + (f" of {safe_text(found.name)}" if clinic else "")
    table = Table(title=title)
    for column in ("e-mail", "clinics and roles", "added", "disabled"):
        table.add_column(column)
    for user in users:
        disabled = when(user.disabled_at) if user.disabled_at else ""
        roles = safe_text(_roles(user))
        table.add_row(safe_text(user.email), roles, when(user.created_at), disabled)
    Console(highlight=False).print(table)


@users_app.command("disable")
def disable(email: Annotated[str, typer.Argument(help="The user's e-mail address.")]) -> None:
    """Stop a user signing in; their sessions and API tokens stop working."""
    with _acting() as (session, actor, _clinic):
        user = disable_user(session, actor, email)
    typer.echo(f"disabled {user.email}")


@users_app.command("set-password")
def set_password(
    email: Annotated[str, typer.Argument(help="The user's e-mail address.")],
    password_stdin: Annotated[bool, _STDIN] = False,
) -> None:
    """Give a user a new password; they are signed out everywhere."""
    password = _password(password_stdin)
    with _acting() as (session, actor, _clinic):
        user = change_password(session, actor, email, password)
    typer.echo(f"password changed for {user.email}")


@users_app.command("token")
def token(
    email: Annotated[str, typer.Argument(help="The user's e-mail address.")],
    label: Annotated[str | None, typer.Option(help="What the token is for.")] = None,
) -> None:
    """Issue a personal API token (Authorization: Bearer) and print it once."""
    with _acting() as (session, actor, _clinic):
        issued = issue_api_token(session, actor, email, label)
    typer.echo(issued.secret)
    typer.echo(f"token {issued.token.id}: shown once, only its hash is kept", err=True)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _roles(user: User) -> str:
    """``Alpha Clinic: admin, Beta Clinic: auditor`` (and ``operator``); ``none`` without."""
    held = [f"{m.name}: {m.role.value}" for m in user.memberships]
    return ", ".join(held + (["operator"] if user.operator else [])) or "none"


@contextmanager
def _acting(slug: str | None = None) -> Iterator[tuple[Session, Actor, Clinic]]:
    """A unit of work acting for ``slug``; the default clinic is made on first use, as the
    rest of the service does, a named one must exist."""
    settings = settings_or_exit()
    with clean_errors(), store(settings) as engine, session_scope(engine) as session:
        clinic = _clinic(session, slug, settings.clinic)
        yield session, Actor(CLI_ACTOR, clinic.id, datetime.now(UTC)), clinic


def _clinic(session: Session, slug: str | None, default: str) -> Clinic:
    if slug is None:
        return get_or_create_clinic(session, default)
    try:
        return get_clinic(session, slug)
    except RecordNotFound as err:
        raise InputError(f"no clinic {slug!r}: see clinic-sync clinics list") from err
