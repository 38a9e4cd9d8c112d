"""A tiny HTTP server on a loopback port for tests that need a peer (token endpoints, feeds)."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def serving(
    handler: Callable[[str], type[BaseHTTPRequestHandler]],
    tls: ssl.SSLContext | None = None,
) -> Iterator[str]:
    """Serve ``handler(base_url)`` on a free loopback port (over TLS with ``tls``, a server
    context); yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "http" if tls is None else "https"
    base = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    server.RequestHandlerClass = handler(base)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
