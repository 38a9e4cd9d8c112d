"""What every command shares: one way to end on errors, the settings, and ``--clinic``.

Bad input or set-up ends in one clear line on stderr and exit status 2 — tracebacks
are for bugs (STYLE: one place per entry point turns errors into a message); :func:`fail`
lives in :mod:`sync.cli.failure`, for commands without a clinic, and is named here too.

Every command that acts for one clinic takes the same ``--clinic SLUG``
(:data:`ClinicOption`), defaulting to ``CLINIC_SYNC_CLINIC``. That default clinic is
made on first use, as a one-clinic install always had it (SPEC §2); any other slug
must name a clinic that exists, and one that does not answers the same one line
whoever asks (:func:`chosen_clinic`).
"""

from __future__ import annotations

from typing import Annotated

import typer
from sqlmodel import Session

from sync.cli.failure import fail
from sync.config import Settings, load_settings
from sync.errors import ClinicSyncError, InputError
from sync.store.clinics import Clinic, get_clinic, get_or_create_clinic
from sync.store.errors import RecordNotFound

__all__ = [
    "ClinicOption",
    "chosen_clinic",
    "chosen_slug",
    "fail",
    "no_such_clinic",
    "settings_or_exit",
]

ClinicOption = Annotated[
    str | None,
    typer.Option(
        "--clinic",
        metavar="SLUG",
        show_default=False,
        help="The clinic to act for (default: CLINIC_SYNC_CLINIC; `clinic-sync clinics list`).",
    ),
]
"""The ``--clinic`` option of every clinic command: ``clinic: ClinicOption = None``."""


def settings_or_exit() -> Settings:
    """The settings from the environment, or a clear exit when they do not validate."""
    try:
        return load_settings()
    except ClinicSyncError as err:
        fail(err)


def chosen_slug(settings: Settings, clinic: str | None) -> str:
    """The slug ``--clinic`` gave, else ``CLINIC_SYNC_CLINIC``."""
    return settings.clinic if clinic is None else clinic


def no_such_clinic(slug: str) -> InputError:
    """The one answer for a clinic that does not exist (or is not the caller's to see)."""
    return InputError(f"no clinic {slug!r}; `clinic-sync clinics list` shows them")


def chosen_clinic(
    session: Session, settings: Settings, clinic: str | None, *, create: bool = True
) -> Clinic:
    """The clinic a command acts for; :func:`no_such_clinic` when there is none.

    ``create`` makes the clinic ``CLINIC_SYNC_CLINIC`` names on first use, where the
    command always made it; any other slug is never created.
    """
    slug = chosen_slug(settings, clinic)
    if create and slug == settings.clinic:
        return get_or_create_clinic(session, slug)
    try:
        return get_clinic(session, slug)
    except RecordNotFound as err:
        raise no_such_clinic(slug) from err
