"""How long a sign-in must wait: a growing delay per account, a cap per client address (SPEC §8).

Pure decisions from the times of earlier failures; :mod:`sync.accounts.login` reads them
from the ``login_attempts`` table and records each attempt.

*Per account* the first ``free_failures`` wrong passwords cost nothing; after that each
further attempt must wait ``delay`` after the last failure, doubling with every failure,
up to ``max_delay``. The wait never becomes a lockout: once it has passed, the correct
password signs in, so someone guessing at an account cannot keep its owner out for
longer than ``max_delay``. An attempt refused for waiting is not checked and not counted,
so it does not make the wait longer. A success starts the count again.

*Per client address* (the address the trusted proxies name,
``CLINIC_SYNC_TRUSTED_PROXIES``): ``address_max_failures`` failures, on any accounts,
within ``window`` stop that address until the oldest of them leaves the window.

The ``limits`` library was considered: its counters live in process memory or Redis and
follow the wall clock, while these must be shared by every web process of one database
and follow the app's clock (tests step it), which the attempts table gives for free.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["Throttle", "account_wait", "address_wait"]


@dataclass(frozen=True, slots=True)
class Throttle:
    """The limits of sign-in attempts (the defaults of ``CLINIC_SYNC_LOGIN_*``)."""

    free_failures: int = 5
    delay: timedelta = timedelta(seconds=2)
    max_delay: timedelta = timedelta(seconds=60)
    address_max_failures: int = 50
    window: timedelta = timedelta(minutes=15)


def account_wait(throttle: Throttle, failures: Sequence[datetime], now: datetime) -> int | None:
    """Seconds the next attempt on an account must wait, given its failures since its last
    success within the window (oldest first); ``None``: it may try now."""
    extra = len(failures) - throttle.free_failures
    if extra < 0:
        return None
    wait = min(throttle.delay * (2 ** min(extra, 32)), throttle.max_delay)
    return _seconds_until(failures[-1] + wait, now)


def address_wait(throttle: Throttle, failures: Sequence[datetime], now: datetime) -> int | None:
    """Seconds a client address must wait, given its failures within the window (oldest
    first); ``None``: it may try now."""
    if len(failures) < throttle.address_max_failures:
        return None
    oldest_counted = failures[-throttle.address_max_failures]
    return _seconds_until(oldest_counted + throttle.window, now)


def _seconds_until(free_at: datetime, now: datetime) -> int | None:
    if free_at <= now:
        return None
    return max(1, math.ceil((free_at - now).total_seconds()))
