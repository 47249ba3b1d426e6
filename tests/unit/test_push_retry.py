"""The push retry policy: pure, with an injected random source."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evroam.push.retry import Jitter, RetryPolicies, RetryPolicy
from tests.unit.kits import POLICIES

S = timedelta(seconds=1)


class Fixed:
    """A 'random' source that always returns the same value."""

    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


def test_backoff_doubles_from_base_and_stops_at_the_cap() -> None:
    policy = RetryPolicy(base=2 * S, factor=2, max_delay=60 * S, jitter=Jitter.NONE)

    delays = [policy.backoff(n).total_seconds() for n in range(1, 9)]

    assert delays == [2, 4, 8, 16, 32, 60, 60, 60]


def test_backoff_survives_absurd_attempt_numbers() -> None:
    policy = RetryPolicy(base=S, factor=10, max_delay=timedelta(hours=1))
    assert policy.backoff(10_000) == timedelta(hours=1)
    with pytest.raises(ValueError):
        policy.backoff(0)


def test_no_jitter_uses_the_backoff_itself() -> None:
    policy = RetryPolicy(base=3 * S, factor=3, max_delay=100 * S, jitter=Jitter.NONE)
    assert [policy.delay(n, Fixed(0.99)).total_seconds() for n in (1, 2, 3, 4, 5)] == [3, 9, 27, 81, 100]


def test_full_jitter_scales_the_backoff_by_the_random_draw() -> None:
    policy = RetryPolicy(base=2 * S, factor=2, max_delay=60 * S, jitter=Jitter.FULL)

    assert policy.delay(3, Fixed(0.0)) == timedelta(0)
    assert policy.delay(3, Fixed(0.5)) == 4 * S  # half of 8 s
    assert policy.delay(10, Fixed(0.25)) == 15 * S  # a quarter of the 60 s cap


@given(attempt=st.integers(1, 60), draw=st.floats(0.0, 1.0, exclude_max=True))
def test_full_jitter_stays_within_zero_and_the_capped_backoff(attempt: int, draw: float) -> None:
    policy = RetryPolicy(base=S, factor=2, max_delay=300 * S, jitter=Jitter.FULL)
    delay = policy.delay(attempt, Fixed(draw))
    assert timedelta(0) <= delay <= timedelta(seconds=min(2 ** (attempt - 1), 300))


@given(
    previous=st.floats(0.0, 1000.0),
    draw=st.floats(0.0, 1.0, exclude_max=True),
    attempt=st.integers(1, 30),
)
def test_decorrelated_jitter_stays_between_base_and_three_times_the_previous_delay(
    previous: float, draw: float, attempt: int
) -> None:
    policy = RetryPolicy(base=2 * S, max_delay=120 * S, jitter=Jitter.DECORRELATED)
    delay = policy.delay(attempt, Fixed(draw), timedelta(seconds=previous)).total_seconds()
    assert 2 <= delay <= min(max(previous, 2) * 3, 120) + 1e-9


def test_decorrelated_jitter_grows_from_base_without_a_previous_delay() -> None:
    policy = RetryPolicy(base=2 * S, max_delay=120 * S, jitter=Jitter.DECORRELATED)
    assert policy.delay(1, Fixed(0.0)) == 2 * S
    assert policy.delay(1, Fixed(0.5)) == 4 * S  # 2 + (6 - 2) / 2
    assert policy.delay(5, Fixed(0.5), previous=100 * S) == 61 * S  # between 2 and the 120 s cap


def test_delays_grow_on_average_with_a_real_random_source() -> None:
    policy = RetryPolicy(base=S, factor=2, max_delay=timedelta(hours=1), jitter=Jitter.FULL)
    rng = random.Random(7)
    means = [sum(policy.delay(n, rng).total_seconds() for _ in range(400)) / 400 for n in (1, 4, 8)]
    assert means[0] < means[1] < means[2]
    assert means[2] == pytest.approx(128 / 2, rel=0.15)


def test_parks_when_the_attempt_limit_is_reached() -> None:
    policy = RetryPolicy(base=S, max_attempts=3, jitter=Jitter.NONE)

    first, second, third = (policy.decide(n, Fixed(0.5)) for n in (1, 2, 3))

    assert (first.park, first.delay) == (False, S)
    assert (second.park, second.delay) == (False, 2 * S)
    assert third.park and third.delay is None and not third.report_error
    assert policy.decide(4, Fixed(0.5)).park


def test_retry_forever_keeps_retrying_at_the_cap_and_reports_errors() -> None:
    policy = RetryPolicy(base=S, max_delay=30 * S, max_attempts=2, retry_forever=True, jitter=Jitter.NONE)

    before = policy.decide(1, Fixed(0.5))
    at_limit = policy.decide(2, Fixed(0.5))
    long_after = policy.decide(500, Fixed(0.5))

    assert (before.delay, before.report_error) == (S, False)
    assert (at_limit.delay, at_limit.report_error) == (30 * S, True)
    assert (long_after.park, long_after.delay, long_after.report_error) == (False, 30 * S, True)


def test_no_limit_never_parks() -> None:
    policy = RetryPolicy(base=S, max_delay=10 * S, max_attempts=None)
    decision = policy.decide(10_000, Fixed(0.9))
    assert not decision.park and not decision.report_error


def test_cdrs_retry_forever_by_default_and_other_modules_park() -> None:
    assert RetryPolicies().per_module == {}  # the worker itself knows no module: the kits say
    policies = POLICIES
    assert policies.for_module("cdrs").retry_forever is True
    assert policies.for_module("locations").retry_forever is False
    assert policies.for_module("locations").max_attempts == policies.default.max_attempts

    custom = RetryPolicies(
        default=RetryPolicy(max_attempts=2), per_module={"tariffs": RetryPolicy(max_attempts=9)}
    )
    assert custom.for_module("tariffs").max_attempts == 9
    assert custom.for_module("cdrs").max_attempts == 2


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base": timedelta(0)},
        {"factor": 0.5},
        {"base": 10 * S, "max_delay": 5 * S},
        {"max_attempts": 0},
    ],
)
def test_nonsense_settings_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
