"""The client's transport: HTTPS connections of every client and thread share one TLS
context (httplib2 built one per connection, about 0.8 MB each), and verify as before."""

from __future__ import annotations

import ipaddress
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httplib2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sync.sources.google.client import CalendarClient, ClientConfig, GoogleAuth
from sync.sources.google.transport import SharedContextConnection, TlsHttp
from tests.loopback import serving


@dataclass(frozen=True)
class _Pki:
    ca: Path
    """A CA bundle holding the test CA only."""
    cert: Path
    key: Path
    """The loopback server's certificate (for 127.0.0.1) and key."""


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificate(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[str, Any], *, ca: bool
) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer[0]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        address = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
        builder = builder.add_extension(x509.SubjectAlternativeName([address]), critical=False)
    return builder.sign(issuer[1], hashes.SHA256())


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> _Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("test CA", ca_key, ("test CA", ca_key), ca=True)
    leaf = _certificate("127.0.0.1", key, ("test CA", ca_key), ca=False)
    paths = _Pki(folder / "ca.pem", folder / "cert.pem", folder / "key.pem")
    paths.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.cert.write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + paths.ca.read_bytes())
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def _ok(base: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    return Handler


@pytest.fixture
def https_server(pki: _Pki) -> Iterator[str]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.cert, pki.key)
    with serving(_ok, tls=context) as base:
        yield base


def _in_threads(work: Callable[[], Any], count: int) -> list[Any]:
    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(work())) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_every_transport_and_thread_connects_over_one_tls_context(
    pki: _Pki, https_server: str
) -> None:
    """Two clinics' transports, each opened in two threads as a client does, reach the
    server over four connections and one context: with httplib2's own connections that
    was four contexts, each holding the CA bundle."""
    opened: list[TlsHttp] = []
    lock = threading.Lock()

    def get() -> int:
        http = TlsHttp(timeout=10, ca_certs=str(pki.ca))
        with lock:
            opened.append(http)
        response, content = http.request(f"{https_server}/calendars", "GET")
        assert content == b"ok"
        return int(response.status)

    try:
        assert _in_threads(get, 4) == [200] * 4
        connections = [c for http in opened for c in http.connections.values()]
        assert len(connections) == 4
        assert all(type(c) is SharedContextConnection for c in connections)
        assert len({id(c._context) for c in connections}) == 1
    finally:
        for http in opened:
            http.close()


def test_a_client_still_verifies_the_server_certificate(https_server: str) -> None:
    """The shared context is httplib2's own: a server whose certificate no trusted CA
    signed is refused, for every client."""
    clients = [
        CalendarClient(ClientConfig(endpoint=f"{https_server}/", auth=GoogleAuth.NONE))
        for _ in range(2)
    ]
    try:
        for client in clients:
            http = client.service().http
            assert isinstance(http, TlsHttp)
            with pytest.raises(ssl.SSLCertVerificationError):
                http.request(f"{https_server}/calendars", "GET")
    finally:
        for client in clients:
            client.close()


def _own_and_shared(**arguments: Any) -> tuple[Any, Any]:
    own = httplib2.HTTPSConnectionWithTimeout("www.googleapis.com", **arguments)
    shared = SharedContextConnection("www.googleapis.com", **arguments)
    return own, shared


def _settings(context: ssl.SSLContext) -> tuple[object, ...]:
    return (
        context.protocol,
        context.verify_mode,
        context.check_hostname,
        context.minimum_version,
        context.maximum_version,
        context.options,
        context.cert_store_stats(),
    )


@pytest.mark.parametrize(
    "arguments",
    [
        {"timeout": 30},
        {"timeout": 5, "disable_ssl_certificate_validation": True},
        {"tls_minimum_version": "TLSv1_2", "tls_maximum_version": "TLSv1_3"},
        {"proxy_info": httplib2.proxy_info_from_environment},
    ],
)
def test_a_shared_context_connection_is_httplib2s_connection_but_for_its_context(
    arguments: dict[str, Any],
) -> None:
    """It sets what httplib2's connection sets (pinned against this httplib2), and its
    context has the settings and trust anchors httplib2 would have given it."""
    own, shared = _own_and_shared(**arguments)
    assert {k: v for k, v in vars(shared).items() if k != "_context"} == {
        k: v for k, v in vars(own).items() if k != "_context"
    }
    assert _settings(shared._context) == _settings(own._context)
    assert SharedContextConnection("calendar.example", **arguments)._context is shared._context


def test_a_connection_with_a_client_certificate_keeps_a_context_of_its_own(pki: _Pki) -> None:
    """A client certificate is loaded into its connection's context, so that one is never
    the shared one."""
    with_certificate = SharedContextConnection(
        "www.googleapis.com", cert_file=str(pki.cert), key_file=str(pki.key)
    )
    plain = SharedContextConnection("www.googleapis.com")
    assert with_certificate._context is not plain._context
