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
  capped delay past the limit, and tell the caller to report every failure at error level;
* with ``escalate_after`` (CDRs by default), the error-level report depends on *how long* the job has
  been failing instead: the worker reports it once when it has failed for ``escalate_after``, again at
  twice, four times ... that time (:func:`escalation_level`), and keeps the state in the job's last
  error (:func:`undelivered_note` / :func:`parse_undelivered`), which ``evroam outbox list`` shows.

Nothing here reads a clock or a global random generator: the worker passes ``random.Random`` (or any
object with a ``random() -> float`` method) and adds the delay to its own clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

__all__ = [
    "DEFAULT_POLICY",
    "Decision",
    "Jitter",
    "RandomSource",
    "RetryPolicies",
    "RetryPolicy",
    "Undelivered",
    "escalation_level",
    "parse_undelivered",
    "strip_undelivered",
    "undelivered_note",
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
    escalate_after: timedelta | None = None
    """Report a job at error level once it has failed for this long (then at 2x, 4x ... that time),
    instead of per attempt; ``None``: no such escalation."""

    def __post_init__(self) -> None:
        if self.base <= timedelta(0):
            raise ValueError("base must be positive")
        if self.factor < 1:
            raise ValueError("factor must be at least 1")
        if self.max_delay < self.base:
            raise ValueError("max_delay must not be shorter than base")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1 (or None)")
        if self.escalate_after is not None and self.escalate_after <= timedelta(0):
            raise ValueError("escalate_after must be positive (or None)")

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


@dataclass(frozen=True, slots=True)
class RetryPolicies:
    """One policy per module, and a default for the others.

    By default every module parks after :attr:`RetryPolicy.max_attempts`; a module kit may ask for more
    (:class:`evroam.modules.kit.DeliveryTerms`: the CDRs module retries forever and is reported at error
    level once undelivered for an hour, then at 2, 4, 8 ... h); the node builds the policies from the kits.
    """

    default: RetryPolicy = DEFAULT_POLICY
    per_module: Mapping[str, RetryPolicy] = field(default_factory=dict)

    def for_module(self, module: str) -> RetryPolicy:
        return self.per_module.get(module, self.default)


# -- escalation of jobs that keep failing (pure) --------------------------------------------------------


def escalation_level(after: timedelta, failing_for: timedelta) -> int:
    """0 while ``failing_for < after``; then 1, and one more each time ``failing_for`` doubles
    (level ``k`` from ``after * 2 ** (k - 1)`` on)."""
    if after <= timedelta(0):
        raise ValueError("after must be positive")
    level = 0
    mark = after
    while failing_for >= mark:
        level += 1
        mark *= 2
    return level


@dataclass(frozen=True, slots=True)
class Undelivered:
    """Since when a job has been failing, and how many escalations were reported for it."""

    since: datetime
    level: int = 0


_UNDELIVERED = re.compile(r"^\[(?:UNDELIVERED for [^,\]]+ )?since (\S+?)(?:, escalation (\d+))?\] ")


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def undelivered_note(state: Undelivered, now: datetime, error: str) -> str:
    """A job's last error prefixed with its failing state, e.g.
    ``[UNDELIVERED for 2h 05m since 2026-03-01T10:00:00Z, escalation 2] <error>`` (once escalated) or
    ``[since 2026-03-01T10:00:00Z] <error>``; read back by :func:`parse_undelivered`."""
    since = state.since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if state.level < 1:
        return f"[since {since}] {error}"
    return f"[UNDELIVERED for {_duration(now - state.since)} since {since}, escalation {state.level}] {error}"


def parse_undelivered(text: str | None) -> Undelivered | None:
    """The state :func:`undelivered_note` wrote at the start of a last error, or ``None``."""
    if not text:
        return None
    found = _UNDELIVERED.match(text)
    if found is None:
        return None
    try:
        since = datetime.strptime(found.group(1), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    return Undelivered(since, int(found.group(2) or 0))


def strip_undelivered(text: str) -> str:
    """``text`` without the prefix :func:`undelivered_note` adds."""
    found = _UNDELIVERED.match(text)
    return text if found is None else text[found.end() :]
