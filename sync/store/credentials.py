"""Credentials: how each clinic signs in to a provider, and whether it must reconnect (SPEC §9).

The repository stores the secret exactly as it is handed in — a Fernet token made by
:class:`sync.secrets.SecretBox` — and never sees plain text. When a provider refuses a
grant (revoked, expired), :func:`mark_reconnect_required` records it with the reason;
the admin UI and health read it through :func:`get_credential` or :func:`list_credentials`,
and saving a new grant (:func:`save_credential`) makes the credential active again.
Disconnecting deletes it (:func:`delete_credential`); the audit trail keeps that it was.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from sync.store.errors import RecordNotFound
from sync.store.sources import Provider
from sync.store.tables import CredentialRow

__all__ = [
    "Credential",
    "CredentialKind",
    "CredentialState",
    "delete_credential",
    "get_credential",
    "list_credentials",
    "mark_reconnect_required",
    "replace_secret",
    "save_credential",
    "set_account",
]


class CredentialKind(enum.StrEnum):
    """What the secret is."""

    OAUTH = "oauth"
    """An authorised-user grant: client id and secret, refresh token."""
    SERVICE_ACCOUNT = "service_account"
    """A service-account key; ``account`` is the user it acts as (domain-wide delegation)."""
    PASSWORD = "password"  # noqa: S105 (the kind of secret, not a secret)
    """A user name (``account``) and password, for a CalDAV server at ``endpoint``."""


class CredentialState(enum.StrEnum):
    """Whether the credential still works, as far as the service last saw."""

    ACTIVE = "active"
    RECONNECT_REQUIRED = "reconnect_required"


@dataclass(frozen=True, slots=True)
class Credential:
    """A clinic's sign-in to one provider; ``secret`` is still encrypted."""

    id: int
    clinic_id: int
    provider: Provider
    kind: CredentialKind
    account: str
    endpoint: str | None
    secret: str
    state: CredentialState
    state_reason: str | None
    updated_at: datetime
    state_changed_at: datetime | None

    @property
    def needs_reconnect(self) -> bool:
        return self.state is CredentialState.RECONNECT_REQUIRED


def save_credential(
    session: Session,
    clinic_id: int,
    provider: Provider,
    kind: CredentialKind,
    *,
    account: str,
    secret: str,
    endpoint: str | None = None,
    now: datetime | None = None,
) -> Credential:
    """Store (or replace) the clinic's credential for ``provider``; it is active again."""
    moment = now or datetime.now(UTC)
    row = _find(session, clinic_id, provider) or CredentialRow(
        clinic_id=clinic_id,
        provider=provider.value,
        kind=kind.value,
        account=account,
        secret=secret,
        state=CredentialState.ACTIVE.value,
        created_at=moment,
        updated_at=moment,
    )
    row.kind, row.account, row.endpoint, row.secret = kind.value, account, endpoint, secret
    row.updated_at = moment
    if row.state != CredentialState.ACTIVE.value:
        row.state, row.state_reason = CredentialState.ACTIVE.value, None
        row.state_changed_at = moment
    session.add(row)
    session.flush()
    return _credential(row)


def get_credential(session: Session, clinic_id: int, provider: Provider) -> Credential | None:
    """The clinic's credential for ``provider``, or ``None`` when it never connected."""
    row = _find(session, clinic_id, provider)
    return None if row is None else _credential(row)


def list_credentials(session: Session, clinic_id: int | None = None) -> list[Credential]:
    """Every credential (of one clinic, or of all), oldest first."""
    query = select(CredentialRow).order_by(col(CredentialRow.id))
    if clinic_id is not None:
        query = query.where(CredentialRow.clinic_id == clinic_id)
    return [_credential(row) for row in session.exec(query)]


def mark_reconnect_required(
    session: Session,
    clinic_id: int,
    provider: Provider,
    reason: str,
    *,
    now: datetime | None = None,
) -> Credential:
    """Record that the provider refused the grant: the clinic must connect again."""
    row = _require(session, clinic_id, provider)
    moment = now or datetime.now(UTC)
    if row.state != CredentialState.RECONNECT_REQUIRED.value:
        row.state_changed_at = moment
    row.state, row.state_reason = CredentialState.RECONNECT_REQUIRED.value, reason
    session.add(row)
    session.flush()
    return _credential(row)


def set_account(session: Session, clinic_id: int, provider: Provider, account: str) -> None:
    """Name the account a grant signs in as, once the provider said (a Google e-mail)."""
    row = _require(session, clinic_id, provider)
    row.account = account
    session.add(row)
    session.flush()


def delete_credential(session: Session, clinic_id: int, provider: Provider) -> Credential | None:
    """Forget the clinic's credential for ``provider``: what was deleted, ``None`` if none."""
    row = _find(session, clinic_id, provider)
    if row is None:
        return None
    gone = _credential(row)
    session.delete(row)
    session.flush()
    return gone


def replace_secret(session: Session, credential_id: int, secret: str) -> None:
    """Swap the stored ciphertext (key rotation: same plain text, new key)."""
    row = session.get(CredentialRow, credential_id)
    if row is None:
        raise RecordNotFound(f"no credential with id {credential_id}")
    row.secret = secret
    session.add(row)
    session.flush()


def _find(session: Session, clinic_id: int, provider: Provider) -> CredentialRow | None:
    query = select(CredentialRow).where(
        CredentialRow.clinic_id == clinic_id, CredentialRow.provider == provider.value
    )
    return session.exec(query).first()


def _require(session: Session, clinic_id: int, provider: Provider) -> CredentialRow:
    row = _find(session, clinic_id, provider)
    if row is None:
        raise RecordNotFound(f"clinic {clinic_id} has no {provider.value} credential")
    return row


def _credential(row: CredentialRow) -> Credential:
    assert row.id is not None, "a stored credential has an id"
    return Credential(
        id=row.id,
        clinic_id=row.clinic_id,
        provider=Provider(row.provider),
        kind=CredentialKind(row.kind),
        account=row.account,
        endpoint=row.endpoint,
        secret=row.secret,
        state=CredentialState(row.state),
        state_reason=row.state_reason,
        updated_at=row.updated_at,
        state_changed_at=row.state_changed_at,
    )
