"""One Calendar v3 service per endpoint for the whole process; each client binds its transport.

``build("calendar", "v3", static_discovery=True)`` parses the packaged discovery document
and, when a collection (``service.events()``) is first built, renders each method's docs
from its schemas: about 1 MB of objects per service. Built per client and per thread, a
worker serving many clinics held that for every clinic it kept (4 threads: about 4 MB a
clinic). Nothing in the service belongs to a client but the transport it was built with,
and google-api-python-client lets any request go through any ``httplib2.Http``
(``request.execute(http=...)``: the documented way to share one service among threads,
https://googleapis.github.io/google-api-python-client/docs/thread_safety.html).

So the service and its collections are built once per endpoint (the last few endpoints
used are kept; a client keeps its own in use), over a transport that
refuses every request, and a :class:`BoundService` (what
:meth:`sync.sources.google.client.CalendarClient.service` gives) sets each request's
``http`` to the calling client's own, per-thread transport as the request is made. Making a
request reads the shared objects only; building a collection is done once, under a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from cachetools import LRUCache
from googleapiclient.discovery import build
from googleapiclient.http import HttpRequest

__all__ = ["BoundCollection", "BoundService", "UnboundRequest", "bound_service"]


class UnboundRequest(RuntimeError):
    """A request of the shared service was sent without a client's transport: a bug."""


class _Refusing:
    """The shared service's own transport: every request must bring a client's instead."""

    def request(self, uri: str, method: str = "GET", *args: Any, **kwargs: Any) -> Any:
        raise UnboundRequest(f"{method} {uri} was made without a client's transport")

    def close(self) -> None:
        """Nothing to close: it never connects."""


class _Shared:
    """The service of one endpoint and the collections built from it, built once."""

    def __init__(self, endpoint: str) -> None:
        refusing: Any = _Refusing()
        root: Any = build(
            "calendar",
            "v3",
            http=refusing,
            static_discovery=True,
            client_options={"api_endpoint": endpoint},
            cache_discovery=False,
        )
        self.root = root
        self.names = frozenset(root._resourceDesc.get("resources", {}))
        self._collections: dict[str, Any] = {}
        self._lock = threading.Lock()

    def collection(self, name: str) -> Any:
        with self._lock:
            found = self._collections.get(name)
            if found is None:
                found = self._collections[name] = getattr(self.root, name)()
            return found


_ENDPOINTS = 4
"""Endpoints whose service is kept (a process talks to one; tests start emulators)."""

_services: LRUCache[str, _Shared] = LRUCache(maxsize=_ENDPOINTS)
_services_lock = threading.Lock()


def _shared(endpoint: str) -> _Shared:
    with _services_lock:
        shared = _services.get(endpoint)
        if shared is None:
            shared = _services[endpoint] = _Shared(endpoint)
        return shared


def bound_service(endpoint: str, http: Any) -> BoundService:
    """The process's service for ``endpoint`` (built on first use), its requests sent
    through ``http``."""
    return BoundService(_shared(endpoint), http)


class BoundService:
    """The shared service as one transport sees it: ``service.events()`` and so on."""

    __slots__ = ("_shared", "http")

    def __init__(self, shared: _Shared, http: Any) -> None:
        self._shared = shared
        self.http = http
        """The transport every request made from this goes through."""

    def __getattr__(self, name: str) -> Callable[[], BoundCollection]:
        if name not in self._shared.names:
            raise AttributeError(name)
        return lambda: BoundCollection(self._shared.collection(name), self.http)


class BoundCollection:
    """A collection of the shared service whose requests go through one transport."""

    __slots__ = ("_collection", "http")

    def __init__(self, collection: Any, http: Any) -> None:
        self._collection = collection
        self.http = http

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._collection, name)
        if not callable(method):
            return method  # type: ignore[no-any-return]
        http = self.http

        def bound(*args: Any, **kwargs: Any) -> Any:
            made = method(*args, **kwargs)
            if isinstance(made, HttpRequest):
                made.http = http
            return made

        return bound
