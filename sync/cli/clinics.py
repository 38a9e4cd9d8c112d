"""``clinic-sync clinics``: the clinics one service runs — add, list, show, set, remove (SPEC §2).

A clinic's settings and policy live in the database (:mod:`sync.store.clinics`). Settings
are given as ``NAME=VALUE`` with the names of :class:`sync.clinics.model.ClinicSettings`
and read by :func:`sync.clinics.settings.read_setting`; a policy file must parse, with the
same ``file:line: problem`` errors as everywhere (:func:`sync.policy_file.load_policy`).
Everything a command is given is checked before anything is stored: a bad value stores
nothing. Each change is a line of the clinic's audit trail (SPEC §8). Names and other
stored text are shown literally (see :mod:`sync.cli.conflicts`).

These are the operator's commands: they take a clinic's slug as their argument, not
``--clinic``. The clinic ``CLINIC_SYNC_CLINIC`` names is made on first use, by ``set``
too, so a one-clinic install configures its clinic with no ``add`` first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlmodel import Session

from sync.cli.common import chosen_clinic, settings_or_exit
from sync.cli.conflicts import safe_text
from sync.cli.services import clean_errors, store, when
from sync.clinics.model import SETTING_NAMES, ClinicSettings
from sync.clinics.settings import read_name, read_setting, read_slug
from sync.errors import InputError
from sync.policy_file import checked_policy_text
from sync.store.audit import record_audit_event
from sync.store.clinics import (
    Clinic,
    ClinicContents,
    add_clinic,
    calendar_counts,
    clinic_contents,
    clinic_policy,
    list_clinics,
    policy_history,
    remove_clinic,
    rename_clinic,
    update_clinic_settings,
)
from sync.store.database import session_scope
from sync.usecases.policy_change import (
    PolicyChange,
    change_policy,
    propose_default,
    propose_text,
)

__all__ = ["clinics_app"]

ACTOR = "command line"
"""Who the audit trail and the policy history name for a change made here."""

clinics_app = typer.Typer(
    help="The clinics this service runs: add, list, show, set, remove.", no_args_is_help=True
)

_SETTINGS_HELP = "Clinic settings as NAME=VALUE, any of: " + ", ".join(SETTING_NAMES) + "."
_DEFAULT_POLICY = "default"

SlugArgument = Annotated[str, typer.Argument(help="The clinic's slug (`clinics list`).")]
PairsArgument = Annotated[
    list[str] | None, typer.Argument(metavar="NAME=VALUE", help=_SETTINGS_HELP, show_default=False)
]


@clinics_app.command("add")
def add(
    slug: Annotated[
        str, typer.Argument(help="Lower-case letters, digits and hyphens, at most 64.")
    ],
    name: Annotated[str, typer.Option("--name", help="The clinic's name, as people see it.")],
    pairs: PairsArgument = None,
    policy: Annotated[
        Path | None, typer.Option(help="Policy TOML (default: the built-in policy).")
    ] = None,
) -> None:
    """Add a clinic with its name, settings and (optionally) its own policy."""
    settings = settings_or_exit()
    with clean_errors():
        slug, name = read_slug(slug), read_name(name)
        changes = _read_pairs(pairs or [])
        text = None if policy is None else checked_policy_text(policy)
        now = datetime.now(UTC)
        with store(settings) as engine, session_scope(engine) as session:
            try:
                clinic = add_clinic(session, slug, name, _with(ClinicSettings(), changes), now=now)
            except ValueError as err:  # the slug is taken
                raise InputError(str(err)) from err
            if text is not None:
                _change_policy(session, clinic.id, text, policy, now)
            _record(session, clinic.id, "clinic.added", {"name": name, **_shown(changes)}, now)
    Console(highlight=False).print(safe_text(f"added clinic {slug} ({name})"))


@clinics_app.command("list")
def list_command() -> None:
    """Every clinic: slug, name, calendars, time zone, policy version, dry run."""
    settings = settings_or_exit()
    with clean_errors(), store(settings) as engine, session_scope(engine) as session:
        clinics = list_clinics(session)
        calendars = calendar_counts(session)
        policies = {c.id: clinic_policy(session, c.id) for c in clinics}
    table = Table(title="Clinics")
    for column in ("slug", "name", "calendars", "time zone", "policy", "dry run"):
        table.add_column(column, overflow="fold")
    for clinic in clinics:
        stored = policies[clinic.id]
        table.add_row(
            safe_text(clinic.slug),
            safe_text(clinic.name),
            str(calendars.get(clinic.id, 0)),
            safe_text(clinic.settings.time_zone),
            _policy_label(None if stored is None else (stored.version, stored.text)),
            "yes" if clinic.settings.dry_run else "no",
        )
    Console(highlight=False).print(table)


@clinics_app.command("show")
def show(slug: SlugArgument) -> None:
    """A clinic's settings, the policy version in force and the policy's history."""
    settings = settings_or_exit()
    with clean_errors(), store(settings) as engine, session_scope(engine) as session:
        clinic = chosen_clinic(session, settings, slug, create=False)
        history = policy_history(session, clinic.id)
    console = Console(highlight=False)
    in_force = None if not history else (history[0].version, history[0].text)
    console.print(_settings_table(clinic, _policy_label(in_force)))
    table = Table(title="Policy versions (newest first; the first is in force)")
    for column in ("version", "policy", "when", "by"):
        table.add_column(column, overflow="fold")
    for stored in history:
        label = "the built-in default" if stored.text is None else "the clinic's own"
        table.add_row(
            str(stored.version), label, when(stored.created_at), safe_text(stored.created_by or "—")
        )
    if not history:
        table.add_row("—", "the built-in default (never changed)", "—", "—")
    console.print(table)


@clinics_app.command("set")
def set_command(
    slug: SlugArgument,
    pairs: PairsArgument = None,
    name: Annotated[str | None, typer.Option("--name", help="A new name.")] = None,
    policy: Annotated[
        str | None,
        typer.Option(
            metavar="FILE|default",
            help="A new policy TOML, or `default` to go back to the built-in policy.",
        ),
    ] = None,
) -> None:
    """Change some of a clinic's settings, its name or its policy (all or nothing)."""
    settings = settings_or_exit()
    with clean_errors():
        changes = _read_pairs(pairs or [])
        new_name = None if name is None else read_name(name)
        text = _policy_text(policy)
        if not changes and new_name is None and policy is None:
            raise InputError(f"nothing to change: give NAME=VALUE, --name or --policy ({_names()})")
        now = datetime.now(UTC)
        with store(settings) as engine, session_scope(engine) as session:
            clinic = chosen_clinic(session, settings, slug)
            detail = _shown(changes)
            if changes:
                update_clinic_settings(session, clinic.id, changes, now=now)
            if new_name is not None:
                rename_clinic(session, clinic.id, new_name, now=now)
                detail["name"] = new_name
            if policy is not None:
                change = _change_policy(session, clinic.id, text, policy, now)
                detail["policy_version"] = change.version
            _record(session, clinic.id, "clinic.settings_changed", detail, now)
    Console(highlight=False).print(safe_text(f"{slug}: {_summary(detail)}"))


@clinics_app.command("remove")
def remove(
    slug: SlugArgument,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a clinic with its calendars, bookings, conflicts and audit trail."""
    settings = settings_or_exit()
    console = Console(highlight=False)
    with clean_errors(), store(settings) as engine:
        with session_scope(engine) as session:
            clinic = chosen_clinic(session, settings, slug, create=False)
            contents = clinic_contents(session, clinic.id)
        what = safe_text(f"clinic {clinic.slug} ({clinic.name}): {_contents(contents)}")
        if not yes:
            console.print(Text.assemble("This deletes ", what, " for good."))
            typer.confirm("Delete it?", abort=True)
        with session_scope(engine) as session:
            remove_clinic(session, clinic.id)
    console.print(Text.assemble("removed ", what))


def _change_policy(
    session: Session, clinic_id: int, text: str | None, path: object, now: datetime
) -> PolicyChange:
    """The policy change every editor makes: stored as the next version, audited."""
    proposal = propose_default() if text is None else propose_text(text, str(path))
    return change_policy(session, clinic_id, proposal, by=ACTOR, how=ACTOR, now=now)


def _policy_text(policy: str | None) -> str | None:
    """The checked text of ``--policy FILE``; ``None`` for no change or the default."""
    if policy is None or policy == _DEFAULT_POLICY:
        return None
    return checked_policy_text(Path(policy))


def _read_pairs(pairs: Sequence[str]) -> dict[str, object]:
    """``NAME=VALUE`` pairs read as the clinic settings they name (the first bad one raises)."""
    changes: dict[str, object] = {}
    for pair in pairs:
        setting, equals, text = pair.partition("=")
        if not equals:
            raise InputError(f"{pair!r} is not NAME=VALUE ({_names()})")
        changes[setting.strip()] = read_setting(setting.strip(), text)
    return changes


def _names() -> str:
    return "settings: " + ", ".join(SETTING_NAMES)


def _with(settings: ClinicSettings, changes: Mapping[str, object]) -> ClinicSettings:
    values = _values(settings)
    values.update(changes)
    return ClinicSettings(**values)


def _values(settings: ClinicSettings) -> dict[str, Any]:
    """Each setting's value as it is (``asdict`` would take the opening hours apart)."""
    return {field.name: getattr(settings, field.name) for field in fields(settings)}


def _shown(changes: Mapping[str, object]) -> dict[str, object]:
    """Settings as text people read (and JSON can hold): domains joined, flags as words."""
    return {name: _text(value) for name, value in changes.items()}


def _text(value: object) -> str:
    if isinstance(value, frozenset):
        return ",".join(sorted(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _record(
    session: Session, clinic_id: int, action: str, detail: Mapping[str, object], now: datetime
) -> None:
    record_audit_event(session, clinic_id, ACTOR, action, detail=detail, at=now)


def _summary(detail: Mapping[str, object]) -> str:
    return ", ".join(f"{key}={value}" for key, value in detail.items())


def _policy_label(stored: tuple[int, str | None] | None) -> str:
    if stored is None:
        return "default"
    version, text = stored
    return f"v{version}" + (" (back to the default)" if text is None else "")


def _settings_table(clinic: Clinic, policy: str) -> Table:
    table = Table(title=safe_text(f"{clinic.name} ({clinic.slug})"))
    table.add_column("setting")
    table.add_column("value", overflow="fold")
    table.add_row("name", safe_text(clinic.name))
    for setting, value in _values(clinic.settings).items():
        table.add_row(setting, safe_text(_text(value) or "—"))
    table.add_row("policy", policy)
    return table


def _contents(contents: ClinicContents) -> str:
    return (
        f"{contents.calendars} calendar(s), {contents.bookings} booking(s), "
        f"{contents.conflicts} conflict(s), {contents.audit_events} audit record(s)"
    )
