"""The request budget's token bucket: a pure rate limiter with an injected clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.budget import BURST_SECONDS, TokenBucket


class Clock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


steps = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=30, allow_nan=False),
        st.sampled_from(["take", "charge"]),
        st.floats(min_value=0, max_value=8, allow_nan=False),
    ),
    max_size=60,
)


@given(rate=st.floats(min_value=0.05, max_value=20), burst=st.floats(1, 50), script=steps)
def test_what_is_taken_never_exceeds_burst_plus_refill(
    rate: float, burst: float, script: list[tuple[float, str, float]]
) -> None:
    """Over any run, granted plus charged tokens ≤ capacity + rate × elapsed + the last debt."""
    clock = Clock()
    bucket = TokenBucket(rate, burst, clock=clock)
    start, spent = clock.now, 0.0
    for pause, action, cost in script:
        clock.now += pause
        if action == "take" and bucket.try_take(cost):
            spent += cost
        elif action == "charge":
            bucket.charge(cost)
            spent += cost
        debt = max(0.0, -bucket.available())
        assert spent <= burst + rate * (clock.now - start) + debt + 1e-6
        assert bucket.available() <= burst + 1e-9


@given(rate=st.floats(0.05, 20), debt=st.floats(0, 100), cost=st.floats(0.1, 5))
def test_waiting_the_wait_time_is_enough(rate: float, debt: float, cost: float) -> None:
    """After ``wait_time(cost)`` seconds a take of ``cost`` (up to the capacity) succeeds."""
    clock = Clock()
    bucket = TokenBucket(rate, 5.0, clock=clock)
    bucket.charge(5.0 + debt)
    clock.now += bucket.wait_time(cost) + 1e-6
    assert bucket.try_take(min(cost, 5.0))


def test_a_refused_take_takes_nothing() -> None:
    clock = Clock()
    bucket = TokenBucket(1.0, 2.0, clock=clock)
    assert not bucket.try_take(3.0)
    assert bucket.available() == pytest.approx(2.0)


def test_debt_holds_back_later_takes() -> None:
    """A poll that cost more than its token delays the next claims by the overshoot."""
    clock = Clock()
    bucket = TokenBucket(1.0, 1.0, clock=clock)
    assert bucket.try_take()
    bucket.charge(4.0)
    assert bucket.wait_time() == pytest.approx(5.0)
    clock.now += 4.9
    assert not bucket.try_take()
    clock.now += 0.2
    assert bucket.try_take()


def test_a_clock_stepping_back_mints_nothing() -> None:
    clock = Clock()
    bucket = TokenBucket(1.0, 3.0, clock=clock)
    bucket.charge(3.0)
    clock.now -= 100
    assert bucket.available() == pytest.approx(0.0)
    clock.now += 101
    assert bucket.available() == pytest.approx(1.0)


def test_per_minute_spreads_a_minute_and_bursts_briefly() -> None:
    """300 a minute is 5 a second, with a ten-second burst: 50 at once, then 5 a second."""
    clock = Clock()
    bucket = TokenBucket.per_minute(300, clock=clock)
    assert bucket.rate == pytest.approx(5.0)
    assert bucket.capacity == pytest.approx(5.0 * BURST_SECONDS)
    granted = sum(bucket.try_take() for _ in range(100))
    assert granted == 50
    clock.now += 60
    granted += sum(bucket.try_take() for _ in range(1000))
    assert granted == 50 + 50  # the bucket refilled to its capacity, not to a minute's worth


def test_a_tiny_budget_still_holds_one_token() -> None:
    assert TokenBucket.per_minute(1).capacity == 1.0


@pytest.mark.parametrize(("rate", "capacity"), [(0, 5), (-1, 5), (1, 0.5)])
def test_nonsense_is_refused(rate: float, capacity: float) -> None:
    with pytest.raises(ValueError, match="positive rate"):
        TokenBucket(rate, capacity)
