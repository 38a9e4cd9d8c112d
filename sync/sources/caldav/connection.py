"""Building a CalDAV client and source from a clinic's stored credential (SPEC §9).

``clinic-sync connect caldav`` stores the server URL (``endpoint``), the user name
(``account``) and the password encrypted (:mod:`sync.secrets`); this module turns that
back into a :class:`CalDavSource`. Nothing connects until the source makes a request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from caldav.davclient import DAVClient
from sqlmodel import Session

from sync.secrets import SecretBox
from sync.sources.caldav.errors import CalDavSetupError
from sync.sources.caldav.source import CalDavSource
from sync.store.credentials import get_credential
from sync.store.sources import Provider

__all__ = ["caldav_client", "stored_caldav_source"]


def caldav_client(url: str, username: str, password: str, *, timeout: float = 30.0) -> DAVClient:
    """A client for the CalDAV server at ``url`` (HTTP Basic or Digest, as the server asks)."""
    return DAVClient(url=url, username=username, password=password, timeout=int(timeout))


def stored_caldav_source(
    session: Session,
    clinic_id: int,
    box: SecretBox,
    *,
    timeout: float = 30.0,
    scan_days_back: int = 180,
    scan_days_ahead: int = 365,
    default_zone: str = "UTC",
    now: Callable[[], datetime] | None = None,
) -> CalDavSource:
    """The clinic's CalDAV account as a source; :class:`CalDavSetupError` if none is stored."""
    stored = get_credential(session, clinic_id, Provider.CALDAV)
    if stored is None or not stored.endpoint:
        raise CalDavSetupError("no CalDAV account is connected: run `clinic-sync connect caldav`")
    client = caldav_client(
        stored.endpoint, stored.account, box.decrypt(stored.secret), timeout=timeout
    )
    return CalDavSource(
        client,
        scan_days_back=scan_days_back,
        scan_days_ahead=scan_days_ahead,
        default_zone=default_zone,
        now=now,
    )
