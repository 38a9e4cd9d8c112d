"""The Calendar client's HTTP transport: httplib2, with one TLS context for the process.

httplib2 builds an ``ssl.SSLContext`` for every HTTPS connection it opens and loads its CA
bundle into it: about 0.8 MB each (``_build_ssl_context``, measured by RSS over 100 of
them). A :class:`~sync.sources.google.client.CalendarClient` opens a connection per
thread, and a worker keeps a client per clinic (the services LRU of
:mod:`sync.worker.clinics`), so against Google proper every kept clinic cost about 3.3 MB
at 4 threads, some 100 MB at the LRU's 32 clinics. The emulator is plain HTTP, which is
why ``bench/many_clinics.py`` never showed it.

A context holds settings and trust anchors, nothing of a connection, a request or its
credentials (those travel in each request's headers, per client), and Python's ``ssl``
makes one to be shared by many connections and threads. So :class:`TlsHttp` opens its
HTTPS connections over one context per set of TLS settings (CA bundle, validation, TLS
version bounds), built by httplib2's own builder so it is the context each connection
had. A connection with a client certificate keeps a context of its own: the certificate
would be loaded into it.
"""

from __future__ import annotations

import http.client
import threading
from typing import Any
from urllib.parse import urlsplit

import httplib2

__all__ = ["SharedContextConnection", "TlsHttp", "shared_context"]

_contexts: dict[tuple[object, ...], Any] = {}
_contexts_lock = threading.Lock()


def shared_context(
    disable_validation: bool,
    ca_certs: str,
    maximum_version: object = None,
    minimum_version: object = None,
) -> Any:
    """The process's one context for these TLS settings (httplib2's, built on first use)."""
    key = (disable_validation, ca_certs, maximum_version, minimum_version)
    with _contexts_lock:
        context = _contexts.get(key)
        if context is None:
            context = _contexts[key] = httplib2._build_ssl_context(  # type: ignore[attr-defined]
                disable_validation,
                ca_certs,
                maximum_version=maximum_version,
                minimum_version=minimum_version,
            )
        return context


class SharedContextConnection(httplib2.HTTPSConnectionWithTimeout):
    """httplib2's HTTPS connection over the process's shared context.

    It sets what httplib2's ``__init__`` sets, taking the context from
    :func:`shared_context` instead of building one (tests pin it to httplib2's own).
    """

    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        key_file: str | None = None,
        cert_file: str | None = None,
        timeout: float | None = None,
        proxy_info: Any = None,
        ca_certs: str | None = None,
        disable_ssl_certificate_validation: bool = False,
        tls_maximum_version: object = None,
        tls_minimum_version: object = None,
        key_password: str | None = None,
    ) -> None:
        if key_file or cert_file:
            super().__init__(
                host,
                port,
                key_file=key_file,
                cert_file=cert_file,
                timeout=timeout,
                proxy_info=proxy_info,
                ca_certs=ca_certs,
                disable_ssl_certificate_validation=disable_ssl_certificate_validation,
                tls_maximum_version=tls_maximum_version,
                tls_minimum_version=tls_minimum_version,
                key_password=key_password,
            )
            return
        self.disable_ssl_certificate_validation = disable_ssl_certificate_validation
        self.ca_certs = ca_certs or httplib2.CA_CERTS
        self.proxy_info = proxy_info
        if proxy_info and not isinstance(proxy_info, httplib2.ProxyInfo):
            self.proxy_info = proxy_info("https")
        context = shared_context(
            disable_ssl_certificate_validation,
            self.ca_certs,
            tls_maximum_version,
            tls_minimum_version,
        )
        https = http.client.HTTPSConnection
        https.__init__(self, host, port=port, timeout=timeout, context=context)
        self.key_file = key_file
        self.cert_file = cert_file
        self.key_password = key_password


class TlsHttp(httplib2.Http):
    """An ``httplib2.Http`` whose HTTPS connections share the process's TLS context."""

    def request(self, uri: str, *args: Any, **kwargs: Any) -> Any:
        """httplib2's ``request``; an HTTPS connection it opens is a shared-context one
        unless the caller names a connection type (its sixth argument, or by name)."""
        named = len(args) >= 5 or kwargs.get("connection_type") is not None
        if not named and urlsplit(uri).scheme.lower() == "https":
            kwargs["connection_type"] = SharedContextConnection
        return super().request(uri, *args, **kwargs)
