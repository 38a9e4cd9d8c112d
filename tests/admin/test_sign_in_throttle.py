"""Sign-in throttling that a stranger cannot turn against an account's owner (SPEC §8).

Wrong passwords on an account make each next attempt wait longer, up to a cap, but never
lock the right password out; the per-address cap counts the client address that the
trusted proxies (``CLINIC_SYNC_TRUSTED_PROXIES``) name, and an X-Forwarded-For from any
other peer is ignored. Through uvicorn on loopback, with the test's own clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import select

from sync.accounts.throttle import Throttle, account_wait, address_wait
from sync.config import Settings
from sync.store.database import session_scope
from sync.store.tables import LoginAttemptRow
from sync.web.app import create_app
from sync.web.server import WebServer
from tests.admin.conftest import ADMIN, AUDITOR, PASSWORD, Accounts, Clock, csrf_of

WRONG = "not the password"
T0 = datetime(2030, 1, 1, tzinfo=UTC)


def _attempt(
    server: WebServer, email: str, password: str, forwarded: str | None = None
) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    with httpx.Client(base_url=server.url, headers=headers) as web:
        form = web.get("/admin/login")
        data = {"email": email, "password": password, "csrf_token": csrf_of(form.text)}
        return web.post("/admin/login", data=data)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _serve(settings: Settings, engine: Engine, clock: Clock, **values: object) -> WebServer:
    tuned = settings.model_copy(update=values)
    app = create_app(tuned, engine, clock=clock)
    return WebServer(app, forwarded_allow_ips=tuned.trusted_proxies)


@pytest.fixture
def throttled(settings: Settings, engine: Engine, clock: Clock) -> Iterator[WebServer]:
    with _serve(settings, engine, clock) as server:
        yield server


def test_the_wait_doubles_with_each_wrong_password_up_to_the_cap() -> None:
    throttle = Throttle(
        free_failures=3, delay=timedelta(seconds=2), max_delay=timedelta(seconds=60)
    )
    failures = [T0 + timedelta(seconds=i) for i in range(10)]
    waits = [account_wait(throttle, failures[:n], failures[n - 1]) for n in range(1, 11)]
    assert waits == [None, None, 2, 4, 8, 16, 32, 60, 60, 60]
    assert account_wait(throttle, failures, failures[-1] + timedelta(seconds=60)) is None


def test_an_address_waits_until_its_oldest_counted_failure_leaves_the_window() -> None:
    throttle = Throttle(address_max_failures=3, window=timedelta(minutes=15))
    failures = [T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)]
    assert address_wait(throttle, failures[:2], T0 + timedelta(minutes=3)) is None
    assert address_wait(throttle, failures, T0 + timedelta(minutes=3)) == 12 * 60
    assert address_wait(throttle, failures, T0 + timedelta(minutes=15)) is None


def test_an_attackers_wrong_passwords_do_not_keep_the_owner_out_after_the_wait(
    throttled: WebServer, accounts: Accounts, clock: Clock
) -> None:
    """Thirty wrong passwords from thirty addresses, each one as soon as it may: the
    owner's right password waits at most the cap, then signs in."""
    for n in range(30):
        answer = _attempt(throttled, ADMIN, WRONG, forwarded=f"198.51.100.{n}")
        if answer.status_code == 429:  # refused unchecked: the wait does not grow
            clock.now += timedelta(seconds=int(answer.headers["retry-after"]))
            answer = _attempt(throttled, ADMIN, WRONG, forwarded=f"198.51.100.{n}")
        assert answer.status_code == 401, n
    owner = _attempt(throttled, ADMIN, PASSWORD, forwarded="203.0.113.7")
    assert owner.status_code == 429
    wait = int(owner.headers["retry-after"])
    assert 0 < wait <= 60
    clock.now += timedelta(seconds=wait)
    assert _attempt(throttled, ADMIN, PASSWORD, forwarded="203.0.113.7").status_code == 303


def test_a_success_starts_the_count_again(
    throttled: WebServer, accounts: Accounts, clock: Clock
) -> None:
    for _ in range(5):
        assert _attempt(throttled, ADMIN, WRONG).status_code == 401
    assert _attempt(throttled, ADMIN, PASSWORD).status_code == 429
    clock.now += timedelta(seconds=2)
    assert _attempt(throttled, ADMIN, PASSWORD).status_code == 303
    assert _attempt(throttled, ADMIN, WRONG).status_code == 401  # no wait after a success


def _clients(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        return list(session.exec(select(LoginAttemptRow.client).order_by(LoginAttemptRow.id)))


def test_forwarded_addresses_count_only_from_a_trusted_proxy(
    settings: Settings, engine: Engine, clock: Clock, accounts: Accounts
) -> None:
    """Behind the trusted proxy (loopback here) each client has its own per-address cap."""
    tuned = {"login_address_max_failures": 3, "login_max_failures": 100}
    with _serve(settings, engine, clock, trusted_proxies="127.0.0.1", **tuned) as server:
        for _ in range(3):
            assert _attempt(server, AUDITOR, WRONG, "192.0.2.1").status_code == 401
        assert _attempt(server, ADMIN, PASSWORD, "192.0.2.1").status_code == 429
        assert _attempt(server, ADMIN, PASSWORD, "192.0.2.2").status_code == 303
    assert _clients(engine) == ["192.0.2.1"] * 3 + ["192.0.2.2"]


def test_a_forwarded_address_from_an_untrusted_peer_is_ignored(
    settings: Settings, engine: Engine, clock: Clock, accounts: Accounts
) -> None:
    """A client naming itself another address in X-Forwarded-For is still counted at its own."""
    tuned = {"login_address_max_failures": 3, "login_max_failures": 100}
    with _serve(settings, engine, clock, trusted_proxies="10.0.0.1", **tuned) as server:
        for n in range(3):
            assert _attempt(server, AUDITOR, WRONG, f"192.0.2.{n}").status_code == 401
        assert _attempt(server, ADMIN, PASSWORD, "192.0.2.99").status_code == 429
    assert set(_clients(engine)) == {"127.0.0.1"}


def test_the_trusted_proxies_setting_is_read_from_its_variable_and_its_older_name() -> None:
    assert Settings(_env_file=None, trusted_proxies="10.0.0.0/8").trusted_proxies == "10.0.0.0/8"  # type: ignore[call-arg]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLINIC_SYNC_FORWARDED_ALLOW_IPS", "192.168.0.0/16")
        assert Settings(_env_file=None).trusted_proxies == "192.168.0.0/16"  # type: ignore[call-arg]
        patch.setenv("CLINIC_SYNC_TRUSTED_PROXIES", "172.16.0.0/12")
        assert Settings(_env_file=None).trusted_proxies == "172.16.0.0/12"  # type: ignore[call-arg]
