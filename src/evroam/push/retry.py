"""The push retry policy: pure functions of the attempt number and an injected random source.

After a failed delivery the worker asks :meth:`RetryPolicy.decide` what to do with the job:

* retry after a delay: exponential backoff ``base * factor ** (attempt - 1)``, capped at
  ``max_delay``, with jitter so that many jobs failing together (a partner that went down) do not
  come back together:

  - ``FULL`` jitter: a uniform delay in ``[0, backoff]``;
  - ``DECORRELATED`` jitter: a uniform delay in ``[base, 3 * previous delay]`` (capped), which
    spreads retries while still growing; without a previous delay it starts from ``base``;
  - ``NONE``: exactly the backoff (tests, debugging);

* park the job once ``max_attempts`` attempts failed (``max_attempts=None``: never);
* or, with ``retry_forever`` (for CDRs, which must never be given up silently), keep retrying at the
  capped delay past the limit, and tell the caller to report every failure at error level.

Nothing here reads a clock or a global random generator: the worker passes ``random.Random`` (or any
object with a ``random() -> float`` method) and adds the delay to its own clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Protocol

__all__ = [
    "DEFAULT_POLICY",
    "Decision",
    "Jitter",
    "RandomSource",
    "RetryPolicies",
    "RetryPolicy",
]


class RandomSource(Protocol):
    """What the policy needs from a random generator (``random.Random`` has it)."""

    def random(self) -> float:
        """A float in ``[0.0, 1.0)``."""
        ...


class Jitter(StrEnum):
    FULL = "full"
    DECORRELATED = "decorrelated"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do after a failed attempt: retry after ``delay``, or park (``delay is None``).

    ``report_error`` asks the caller to log the failure at error level (a retry-forever job past its
    attempt limit).
    """

    delay: timedelta | None
    report_error: bool = False

    @property
    def park(self) -> bool:
        return self.delay is None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter and an attempt limit. All durations are ``timedelta``."""

    base: timedelta = timedelta(seconds=2)
    factor: float = 2.0
    max_delay: timedelta = timedelta(minutes=15)
    jitter: Jitter = Jitter.FULL
    max_attempts: int | None = 20
    """Park after this many failed attempts; ``None`` never parks (nor reports)."""
    retry_forever: bool = False
    """Past ``max_attempts``, keep retrying at ``max_delay`` and report each failure at error level."""

    def __post_init__(self) -> None:
        if self.base <= timedelta(0):
            raise ValueError("base must be positive")
        if self.factor < 1:
            raise ValueError("factor must be at least 1")
        if self.max_delay < self.base:
            raise ValueError("max_delay must not be shorter than base")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1 (or None)")

    def backoff(self, attempt: int) -> timedelta:
        """The un-jittered delay after failed attempt number ``attempt`` (1 = the first attempt)."""
        if attempt < 1:
            raise ValueError("attempts are counted from 1")
        cap = self.max_delay.total_seconds()
        seconds = self.base.total_seconds()
        # grow step by step so that a huge attempt number cannot overflow a float power
        for _ in range(attempt - 1):
            seconds *= self.factor
            if seconds >= cap:
                return self.max_delay
        return min(timedelta(seconds=seconds), self.max_delay)

    def delay(self, attempt: int, rng: RandomSource, previous: timedelta | None = None) -> timedelta:
        """The jittered delay after failed attempt ``attempt``; ``previous`` is the last delay used."""
        ceiling = self.backoff(attempt)
        if self.jitter is Jitter.NONE:
            return ceiling
        if self.jitter is Jitter.FULL:
            return timedelta(seconds=ceiling.total_seconds() * rng.random())
        low = self.base.total_seconds()
        last = low if previous is None else max(previous.total_seconds(), low)
        high = min(last * 3, self.max_delay.total_seconds())
        return timedelta(seconds=low + (high - low) * rng.random())

    def decide(self, attempt: int, rng: RandomSource, previous: timedelta | None = None) -> Decision:
        """After failed attempt ``attempt`` (1-based): retry after a delay, or park."""
        if self.max_attempts is None or attempt < self.max_attempts:
            return Decision(self.delay(attempt, rng, previous))
        if self.retry_forever:
            return Decision(self.max_delay, report_error=True)
        return Decision(None)


DEFAULT_POLICY = RetryPolicy()


def _default_per_module() -> dict[str, RetryPolicy]:
    # a CDR is money: never given up silently
    return {"cdrs": RetryPolicy(retry_forever=True)}


@dataclass(frozen=True, slots=True)
class RetryPolicies:
    """One policy per module, and a default for the others.

    By default every module parks after :attr:`RetryPolicy.max_attempts`, except ``"cdrs"``, which
    retries forever and reports each failure past the limit at error level.
    """

    default: RetryPolicy = DEFAULT_POLICY
    per_module: Mapping[str, RetryPolicy] = field(default_factory=_default_per_module)

    def for_module(self, module: str) -> RetryPolicy:
        return self.per_module.get(module, self.default)
