"""``clinic-sync doctor``: is this installation ready to sync? (SPEC §2 operators, §9).

Runs every check even when an earlier one fails, prints them as a table with what to
fix, and exits 1 when any failed:

- configuration: the settings validate, and ``CLINIC_SYNC_SECRET_KEY`` opens a
  :class:`~sync.secrets.SecretBox` exactly as the worker builds it; a former process
  setting that is now the clinic's (:data:`sync.clinics.settings.MOVED_VARIABLES`) and
  still set is a warning, with the ``clinics set`` command that replaces it;
- database: reachable, and migrated to the revision this code ships; while it is not,
  the checks that read it are not run and name the same fix (``clinic-sync db upgrade``
  on an empty database), instead of failing with errors that point elsewhere;
- policy: the clinic's stored policy parses (SPEC §3);
- credentials: the clinic's stored Google grant is present, decryptable with
  ``CLINIC_SYNC_SECRET_KEY`` and not marked "reconnect" (or a credentials file is set);
- Google API: one cheap ``calendarList.list`` call (``maxResults=1``) within
  ``CLINIC_SYNC_DOCTOR_TIMEOUT_SECONDS`` (the emulator answers it too).

The clinic is ``--clinic`` (default ``CLINIC_SYNC_CLINIC``); warnings do not fail.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httplib2
import typer
from google_auth_httplib2 import AuthorizedHttp, Request  # type: ignore[import-untyped]
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sync.bootstrap import secret_box
from sync.cli.common import ClinicOption, chosen_clinic, chosen_slug, fail, no_such_clinic
from sync.clinics.profile import load_profile
from sync.clinics.settings import (
    MOVED_POLICY,
    MOVED_VARIABLES,
    moved_variables_set,
    process_variables,
)
from sync.config import Settings, load_settings
from sync.errors import ClinicSyncError
from sync.policy_file import load_policy
from sync.sources.google.grants import GOOGLE_TOKEN_URI, load_google_credentials
from sync.store.clinics import get_clinic
from sync.store.credentials import get_credential
from sync.store.database import database_name, make_engine, session_scope
from sync.store.errors import RecordNotFound, StoreError
from sync.store.migrate import current_revision, head_revision
from sync.store.sources import Provider

__all__ = ["Check", "doctor", "run_checks"]

_KEY_COMMAND = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


@dataclass(frozen=True, slots=True)
class Check:
    """One check: whether it passed, what was found, and what to do when it did not."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    warning: bool = False
    """Worth fixing, but the installation runs as it is (does not fail ``doctor``)."""


def doctor(clinic: ClinicOption = None) -> None:
    """Check configuration, database, the clinic's policy, credentials and Google.

    Exits 1 if anything fails (warnings do not).
    """
    _known_clinic_or_exit(clinic)
    checks = run_checks(clinic=clinic)
    table = Table(title="clinic-sync doctor")
    for column in ("", "check", "found", "to fix"):
        table.add_column(column, overflow="fold")
    for check in checks:
        # Found text can carry a clinic's name or a policy's brackets: shown literally.
        table.add_row(_mark(check), check.name, escape(check.detail), escape(check.fix))
    Console().print(table)
    if not all(check.ok for check in checks):
        raise typer.Exit(code=1)


def _mark(check: Check) -> str:
    if not check.ok:
        return "[red]✗[/]"
    return "[yellow]![/]" if check.warning else "[green]✓[/]"


def _known_clinic_or_exit(clinic: str | None) -> None:
    """An unknown ``--clinic`` ends in one line, like every clinic command's.

    Only when the database answers: without one, the checks below say what to fix. The
    clinic ``CLINIC_SYNC_CLINIC`` names is made on first use, so it is never unknown.
    """
    try:
        settings = load_settings()
    except ClinicSyncError:
        return
    if clinic is None or clinic == settings.clinic:
        return
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            get_clinic(session, clinic)
    except RecordNotFound:
        fail(no_such_clinic(clinic))
    except StoreError:
        return
    finally:
        engine.dispose()


def run_checks(*, clinic: str | None = None, token_uri: str = GOOGLE_TOKEN_URI) -> list[Check]:
    """Every check, in order; later checks are skipped (failed) without settings."""
    try:
        settings = load_settings()
    except ClinicSyncError as err:
        return [Check("settings", False, str(err), "fix the CLINIC_SYNC_* variable named")]
    steps: list[tuple[str, Callable[[], Check]]] = [
        ("settings", lambda: Check("settings", True, "valid")),
        ("secret key", lambda: _secret_key(settings)),
        ("database", lambda: _database(settings)),
    ]
    checks = [_guarded(name, step) for name, step in steps]
    moved = _moved_settings(chosen_slug(settings, clinic))
    database = checks[-1]
    if not database.ok:
        checks.append(_not_checked("policy", database))
    else:
        checks.append(_guarded("policy", lambda: _policy(settings, clinic)))
    later: list[tuple[str, Callable[[], Check]]] = [
        ("credentials", lambda: _credentials(settings, clinic)),
        ("Google API", lambda: _google_api(settings, clinic, token_uri)),
    ]
    if not database.ok and _uses_stored_grant(settings):
        return checks + [_not_checked(name, database) for name, _ in later] + moved
    return checks + [_guarded(name, step) for name, step in later] + moved


def _moved_settings(slug: str) -> list[Check]:
    """A warning for each former process setting still set, with what replaces it."""
    variables = process_variables()
    return [_moved(name, variables[name], slug) for name in moved_variables_set(variables)]


def _moved(variable: str, value: str, slug: str) -> Check:
    if variable == MOVED_POLICY:
        what = "the clinic's stored policy"
        command = f"clinic-sync clinics set {slug} --policy {shlex.quote(value)}"
    else:
        what = "a clinic setting"
        command = (
            f"clinic-sync clinics set {slug} {shlex.quote(f'{MOVED_VARIABLES[variable]}={value}')}"
        )
    detail = f"{variable} is now {what}: `{command}`"
    fix = f"unset {variable}: it is no longer read"
    return Check("moved setting", True, detail, fix, warning=True)


def _uses_stored_grant(settings: Settings) -> bool:
    return settings.google_auth != "none" and settings.google_credentials is None


def _not_checked(name: str, database: Check) -> Check:
    return Check(name, False, "not checked: needs the database", f"first: {database.fix}")


def _guarded(name: str, step: Callable[[], Check]) -> Check:
    try:
        return step()
    except (ClinicSyncError, StoreError) as err:
        return Check(name, False, str(err), _FIXES.get(name, "see the message"))


_FIXES = {
    "policy": "fix the policy at the line named and store it with `clinic-sync clinics set "
    "SLUG --policy FILE`, or go back to the default with `--policy default`",
    "database": "check CLINIC_SYNC_DATABASE_URL and that the server is up",
    "secret key": f"set CLINIC_SYNC_SECRET_KEY to a Fernet key: `{_KEY_COMMAND}`",
    "credentials": "set CLINIC_SYNC_SECRET_KEY to the key the secrets were stored with",
    "Google API": "run `clinic-sync connect google` again, or check the network",
}


def _secret_key(settings: Settings) -> Check:
    if settings.secret_key is None and not _uses_stored_grant(settings):
        return Check("secret key", True, "not set (no stored Google grant to decrypt)")
    box = secret_box(settings)  # raises SecretKeyError as the worker would
    return Check("secret key", True, f"{box.key_count} Fernet key(s)")


def _policy(settings: Settings, clinic: str | None) -> Check:
    """The clinic's stored policy parses (the shipped default for a clinic not made yet)."""
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            try:
                chosen = get_clinic(session, chosen_slug(settings, clinic))
            except RecordNotFound:
                policy = load_policy(None)
                rules = len(policy.rules)
                return Check("policy", True, f"{policy.name} (default): {rules} rule(s)")
            profile = load_profile(session, chosen)
    finally:
        engine.dispose()
    policy, version = profile.policy, profile.policy_version
    which = f"version {version}" if version else "default"
    detail = f"{chosen.name}: {policy.name} ({which}), {len(policy.rules)} rule(s)"
    return Check("policy", True, detail)


def _database(settings: Settings) -> Check:
    engine = make_engine(settings.database_url)
    try:
        revision = current_revision(engine)
    finally:
        engine.dispose()
    head = head_revision()
    if revision is None:
        return Check(
            "database",
            False,
            f"{database_name(settings.database_url)} is empty (no clinic-sync tables)",
            "run `clinic-sync db upgrade`",
        )
    if revision != head:
        return Check(
            "database",
            False,
            f"at revision {revision}, code needs {head}",
            "run `clinic-sync db upgrade`",
        )
    return Check("database", True, f"reachable, at revision {head}")


def _credentials(settings: Settings, clinic: str | None) -> Check:
    if settings.google_auth == "none":
        return Check("credentials", True, "none needed (CLINIC_SYNC_GOOGLE_AUTH=none)")
    if settings.google_credentials is not None:
        found = settings.google_credentials.is_file()
        fix = "" if found else "point CLINIC_SYNC_GOOGLE_CREDENTIALS at an existing file"
        return Check("credentials", found, f"file {settings.google_credentials}", fix)
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            clinic_id = chosen_clinic(session, settings, clinic).id
            stored = get_credential(session, clinic_id, Provider.GOOGLE)
            if stored is None:
                return Check(
                    "credentials",
                    False,
                    "no Google account connected",
                    "run `clinic-sync connect google`",
                )
            if stored.needs_reconnect:
                return Check(
                    "credentials",
                    False,
                    f"Google refused the grant: {stored.state_reason}",
                    "run `clinic-sync connect google` again",
                )
            secret_box(settings).decrypt(stored.secret)
    finally:
        engine.dispose()
    return Check(
        "credentials",
        True,
        f"{stored.kind.value} grant for {stored.account or 'the clinic'}, decryptable",
    )


def _google_api(settings: Settings, clinic: str | None, token_uri: str) -> Check:
    url = settings.google_api_endpoint.rstrip("/") + "/users/me/calendarList?maxResults=1"
    http = httplib2.Http(timeout=int(max(1, settings.doctor_timeout_seconds)))
    try:
        return _call_calendar_list(settings, clinic, token_uri, http, url)
    finally:
        http.close()


def _call_calendar_list(
    settings: Settings, clinic: str | None, token_uri: str, http: Any, url: str
) -> Check:
    client: Any = http
    if settings.google_auth != "none" and settings.google_credentials is None:
        credentials = _stored_credentials(settings, clinic, token_uri, http)
        client = AuthorizedHttp(credentials, http=http)
    try:
        response, body = client.request(url, "GET")
    except (httplib2.HttpLib2Error, OSError) as err:
        fix = "check the network and CLINIC_SYNC_GOOGLE_API_ENDPOINT"
        return Check("Google API", False, f"{url}: {err}", fix)
    if int(response.status) != 200:
        detail = f"HTTP {response.status}: {_reason(body)}"
        return Check("Google API", False, detail, "check the account's access")
    return Check("Google API", True, f"{settings.google_api_endpoint} answered calendarList")


def _stored_credentials(settings: Settings, clinic: str | None, token_uri: str, http: Any) -> Any:
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            clinic_id = chosen_clinic(session, settings, clinic).id
            box = secret_box(settings)
            return load_google_credentials(
                session, clinic_id, box, request=Request(http), token_uri=token_uri
            )
    finally:
        engine.dispose()


def _reason(body: bytes) -> str:
    try:
        return str(json.loads(body)["error"]["message"])[:200]
    except (ValueError, KeyError, TypeError):
        return body[:200].decode("utf-8", "replace")
