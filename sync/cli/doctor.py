"""``clinic-sync doctor``: is this installation ready to sync? (SPEC §2 operators, §9).

Runs every check even when an earlier one fails, prints them as a table with what to
fix, and exits 1 when any failed:

- configuration: the settings validate, ``CLINIC_SYNC_SECRET_KEY`` opens a
  :class:`~sync.secrets.SecretBox` exactly as the worker builds it, and the policy file
  loads (SPEC §3);
- database: reachable, and migrated to the revision this code ships; while it is not,
  the checks that read it are not run and name the same fix (``clinic-sync db upgrade``
  on an empty database), instead of failing with errors that point elsewhere;
- credentials: the clinic's stored Google grant is present, decryptable with
  ``CLINIC_SYNC_SECRET_KEY`` and not marked "reconnect" (or a credentials file is set);
- Google API: one cheap ``calendarList.list`` call (``maxResults=1``) within
  ``CLINIC_SYNC_DOCTOR_TIMEOUT_SECONDS`` (the emulator answers it too).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httplib2
import typer
from google_auth_httplib2 import AuthorizedHttp, Request  # type: ignore[import-untyped]
from rich.console import Console
from rich.table import Table

from sync.bootstrap import secret_box
from sync.clinics.profile import open_profile
from sync.config import Settings, load_settings
from sync.errors import ClinicSyncError
from sync.policy_file import load_policy
from sync.sources.google.grants import GOOGLE_TOKEN_URI, load_google_credentials
from sync.store.clinics import get_or_create_clinic
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


def doctor() -> None:
    """Check configuration, database, credentials and Google; exit 1 if anything fails."""
    checks = run_checks()
    table = Table(title="clinic-sync doctor")
    for column in ("", "check", "found", "to fix"):
        table.add_column(column, overflow="fold")
    for check in checks:
        mark = "[green]✓[/]" if check.ok else "[red]✗[/]"
        table.add_row(mark, check.name, check.detail, check.fix)
    Console().print(table)
    if not all(check.ok for check in checks):
        raise typer.Exit(code=1)


def run_checks(*, token_uri: str = GOOGLE_TOKEN_URI) -> list[Check]:
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
    if not checks[-1].ok:
        checks.append(_not_checked("policy", checks[-1]))
    else:
        checks.append(_guarded("policy", lambda: _policy(settings)))
    later: list[tuple[str, Callable[[], Check]]] = [
        ("credentials", lambda: _credentials(settings)),
        ("Google API", lambda: _google_api(settings, token_uri)),
    ]
    database = checks[2]
    if not database.ok and _uses_stored_grant(settings):
        return checks + [_not_checked(name, database) for name, _ in later]
    return checks + [_guarded(name, step) for name, step in later]


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
    "policy": "fix the policy file at the line named, or unset CLINIC_SYNC_POLICY",
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


def _policy(settings: Settings) -> Check:
    """The clinic's stored policy parses (the shipped default for a clinic not made yet)."""
    engine = make_engine(settings.database_url)
    try:
        profile = open_profile(engine, slug=settings.clinic)
    except RecordNotFound:
        policy = load_policy(None)
        return Check("policy", True, f"{policy.name} (default): {len(policy.rules)} rule(s)")
    finally:
        engine.dispose()
    policy, version = profile.policy, profile.policy_version
    which = f"version {version}" if version else "default"
    return Check("policy", True, f"{policy.name} ({which}): {len(policy.rules)} rule(s)")


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


def _credentials(settings: Settings) -> Check:
    if settings.google_auth == "none":
        return Check("credentials", True, "none needed (CLINIC_SYNC_GOOGLE_AUTH=none)")
    if settings.google_credentials is not None:
        found = settings.google_credentials.is_file()
        fix = "" if found else "point CLINIC_SYNC_GOOGLE_CREDENTIALS at an existing file"
        return Check("credentials", found, f"file {settings.google_credentials}", fix)
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            clinic_id = get_or_create_clinic(session, settings.clinic).id
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


def _google_api(settings: Settings, token_uri: str) -> Check:
    url = settings.google_api_endpoint.rstrip("/") + "/users/me/calendarList?maxResults=1"
    http = httplib2.Http(timeout=int(max(1, settings.doctor_timeout_seconds)))
    try:
        return _call_calendar_list(settings, token_uri, http, url)
    finally:
        http.close()


def _call_calendar_list(settings: Settings, token_uri: str, http: Any, url: str) -> Check:
    client: Any = http
    if settings.google_auth != "none" and settings.google_credentials is None:
        client = AuthorizedHttp(_stored_credentials(settings, token_uri, http), http=http)
    try:
        response, body = client.request(url, "GET")
    except (httplib2.HttpLib2Error, OSError) as err:
        fix = "check the network and CLINIC_SYNC_GOOGLE_API_ENDPOINT"
        return Check("Google API", False, f"{url}: {err}", fix)
    if int(response.status) != 200:
        detail = f"HTTP {response.status}: {_reason(body)}"
        return Check("Google API", False, detail, "check the account's access")
    return Check("Google API", True, f"{settings.google_api_endpoint} answered calendarList")


def _stored_credentials(settings: Settings, token_uri: str, http: Any) -> Any:
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            clinic_id = get_or_create_clinic(session, settings.clinic).id
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
