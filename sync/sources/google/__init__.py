"""Google Calendar behind the calendar-source port (SPEC §9).

Modules, one concept each: ``client`` (building the google-api-python-client service,
credentials and scopes, one HTTP connection per thread, batch requests), ``retry``
(backoff on rate limits and outages), ``errors`` (Google's HTTP errors translated into
:mod:`sync.errors`), ``mapping`` (event JSON to provider-neutral records) and ``source``
(:class:`GoogleCalendarSource`, full and incremental sync); signing in: ``oauth`` (the
installed-app flow, service accounts, client secrets), ``web_oauth`` (the browser's
web-server flow) and ``grants`` (the stored grant). Importing this package builds
no client and opens no connection.
"""

from __future__ import annotations

from sync.sources.google.client import CalendarClient, ClientConfig, GoogleAuth
from sync.sources.google.retry import RetryPolicy
from sync.sources.google.source import GoogleCalendarSource

__all__ = ["CalendarClient", "ClientConfig", "GoogleAuth", "GoogleCalendarSource", "RetryPolicy"]
