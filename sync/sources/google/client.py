"""Building the Calendar v3 client: endpoint, credentials, scopes, connections, batches (SPEC §9).

- The service is google-api-python-client's ``build("calendar", "v3",
  static_discovery=True)`` with ``client_options={"api_endpoint": ...}``, so the same code
  talks to Google or to the emulator (:mod:`sync.emulator`) over loopback.
- Credentials (https://developers.google.com/calendar/api/auth, least privilege):
  ``calendar.events`` to read events and, later, write flags, and
  ``calendar.calendarlist.readonly`` to discover calendars, ``calendar.events.freebusy`` to
  ask freebusy.query when a calendar is busy (for the free slots a flag offers). ``oauth`` reads an
  authorized-user JSON file (a clinic's own account); ``service_account`` a key file, with
  ``subject`` for domain-wide delegation; ``none`` sends no credentials (the emulator).
- httplib2 is not thread-safe
  (https://googleapis.github.io/google-api-python-client/docs/thread_safety.html): each
  thread gets its own ``Http`` (:class:`~sync.sources.google.transport.TlsHttp`: its HTTPS
  connections share the process's TLS context, about 0.8 MB each otherwise). The service
  object and its collections are the process's, one per endpoint
  (:mod:`sync.sources.google.discovery`): each request made through
  :meth:`CalendarClient.service` or :meth:`CalendarClient.resource` is bound to the calling
  thread's ``Http`` of this client, so a client costs its transports, not a parsed
  discovery document (about 1 MB) per thread.
- ``new_batch_http_request()`` posts to Google's batch URL whatever the endpoint, so batches
  are built with ``batch_uri`` derived from the endpoint
  (https://developers.google.com/calendar/api/guides/batch).

- Every HTTP request passes the worker's :class:`~sync.worker.budget.RequestBudget` at the
  transport when one is attached (:meth:`CalendarClient.meter`): list pages, event reads,
  flag writes, push channels and token refreshes alike, and a batch as many requests as
  it has parts (https://developers.google.com/calendar/api/guides/batch), so the budget
  counts what Google counts.

Nothing here connects until a request is executed.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from google.auth.exceptions import GoogleAuthError
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account
from google_auth_httplib2 import AuthorizedHttp  # type: ignore[import-untyped]
from googleapiclient.http import BatchHttpRequest

from sync.sources.google.discovery import BoundCollection, BoundService, bound_service
from sync.sources.google.errors import CredentialsError
from sync.sources.google.transport import TlsHttp
from sync.worker.budget import RequestBudget

__all__ = [
    "DEFAULT_ENDPOINT",
    "SCOPES",
    "CalendarClient",
    "ClientConfig",
    "GoogleAuth",
    "MeteredHttp",
    "batch_uri_for",
]

DEFAULT_ENDPOINT = "https://www.googleapis.com/calendar/v3/"
SCOPES = (
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
    "https://www.googleapis.com/auth/calendar.events.freebusy",
)


class GoogleAuth(enum.StrEnum):
    """How requests to Google are authorised."""

    NONE = "none"
    OAUTH = "oauth"
    SERVICE_ACCOUNT = "service_account"


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Where the Calendar API is and how to authenticate to it."""

    endpoint: str = DEFAULT_ENDPOINT
    auth: GoogleAuth = GoogleAuth.OAUTH
    credentials_file: Path | None = None
    subject: str | None = None
    timeout: float = 30.0


def batch_uri_for(endpoint: str) -> str:
    """The batch URL that belongs to ``endpoint``: its origin plus ``/batch/calendar/v3``."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}/batch/calendar/v3"


class CalendarClient:
    """The Calendar v3 service over one set of credentials, a transport per thread."""

    def __init__(self, config: ClientConfig, credentials: Any | None = None) -> None:
        """``credentials`` (a stored grant, already loaded) win over the configured file."""
        self.config = config
        self._credentials = credentials if credentials is not None else _load_credentials(config)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[Any] = []
        self._budget: RequestBudget | None = None
        self._metered_as: str | None = None

    @property
    def account(self) -> str:
        """The Google account requests are made as: the budget's key for this client."""
        email = getattr(self._credentials, "service_account_email", None)
        return self.config.subject or email or "default"

    def meter(self, budget: RequestBudget, account: str | None = None) -> None:
        """Send every request of this client through ``budget`` (before the first one),
        counted for ``account`` (by default :attr:`account`)."""
        self._budget = budget
        self._metered_as = account

    @property
    def batch_uri(self) -> str:
        """Where this client's batch requests go."""
        return batch_uri_for(self.config.endpoint)

    def service(self) -> BoundService:
        """The shared calendar service, its requests sent through the calling thread's
        transport of this client (opened on first use)."""
        service: BoundService | None = getattr(self._local, "service", None)
        if service is None:
            service = self._local.service = bound_service(self.config.endpoint, self._open())
        return service

    def resource(self, name: str) -> BoundCollection:
        """The ``name`` collection (``events``, ``calendarList``…) for the calling thread."""
        collection: BoundCollection = getattr(self.service(), name)()
        return collection

    def new_batch(self, callback: Callable[..., None] | None = None) -> BatchHttpRequest:
        """An empty batch request posted to the endpoint's own batch URL."""
        return BatchHttpRequest(callback=callback, batch_uri=self.batch_uri)

    def close(self) -> None:
        """Close every connection any thread opened."""
        with self._lock:
            opened, self._opened = self._opened, []
        for http in opened:
            http.close()

    def _open(self) -> Any:
        http = self._http()
        with self._lock:
            self._opened.append(http)
        return http

    def _http(self) -> Any:
        http: Any = TlsHttp(timeout=int(self.config.timeout))
        if self._budget is not None:
            http = MeteredHttp(http, self._budget, self._metered_as or self.account)
        if self._credentials is None:
            return http
        return AuthorizedHttp(self._credentials, http=http)


class MeteredHttp:
    """An ``httplib2.Http`` whose every request first takes its place in a budget."""

    def __init__(self, http: Any, budget: RequestBudget, account: str) -> None:
        self._http = http
        self._budget = budget
        self._account = account

    def request(self, uri: str, method: str = "GET", *args: Any, **kwargs: Any) -> Any:
        body = kwargs.get("body", args[0] if args else None)
        self._budget.acquire(self._account, _parts(body))
        return self._http.request(uri, method, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._http, name)


def _parts(body: object) -> int:
    """How many requests Google counts in a request with ``body``: a batch's parts, else 1."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if not isinstance(text, str):
        return 1
    return max(1, text.count("Content-Type: application/http"))


def _load_credentials(config: ClientConfig) -> Any:
    if config.auth is GoogleAuth.NONE:
        return None
    path = config.credentials_file
    if path is None:
        raise CredentialsError(f"CLINIC_SYNC_GOOGLE_CREDENTIALS must name a file for {config.auth}")
    try:
        if config.auth is GoogleAuth.OAUTH:
            return user_credentials.Credentials.from_authorized_user_file(  # type: ignore[no-untyped-call]
                str(path), list(SCOPES)
            )
        account = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            str(path), scopes=SCOPES
        )
        return account.with_subject(config.subject) if config.subject else account
    except OSError as err:
        raise CredentialsError(f"{path}: cannot be read ({err.strerror or err})") from err
    except (ValueError, KeyError, GoogleAuthError) as err:
        raise CredentialsError(f"{path}: not usable {config.auth} credentials ({err})") from err
