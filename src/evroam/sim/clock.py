"""Simulated time: a clock the simulator reads and sleeps on, faster than the wall clock or by hand.

* :class:`ScaledTime` runs ``speed`` times faster than real time while the simulator is busy (a
  transaction runs, a driver is about to plug in or out) and at ``idle_speed`` otherwise, so that one
  simulated hour of charging takes a second at ``speed=3600`` while the idle node keeps near real time.
* :class:`ManualTime` only moves when a test calls :meth:`ManualTime.advance`.

Both are :class:`SimTime`: ``now()`` (a UTC :class:`~evroam.core.types.DateTime`, so a ``SimTime`` is
also a :class:`~evroam.core.clock.Clock`), ``sleep(seconds)`` in *simulated* seconds, and
``set_busy(flag)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from evroam.core.types import DateTime

__all__ = ["ManualTime", "ScaledTime", "SimTime"]


class SimTime(Protocol):
    def now(self) -> DateTime:
        """The simulated time (UTC)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of simulated time."""
        ...

    def set_busy(self, busy: bool) -> None:
        """Whether something is going on (time may run faster while it is)."""
        ...


class ScaledTime:
    """Simulated time from ``start``, running ``speed`` times real time while busy.

    ``monotonic`` is the real-time source (seconds; ``time.monotonic`` by default).
    """

    def __init__(
        self,
        start: datetime,
        *,
        speed: float = 1.0,
        idle_speed: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed <= 0 or idle_speed <= 0:
            raise ValueError("time speeds must be positive")
        self.speed = speed
        self.idle_speed = idle_speed
        self._monotonic = monotonic
        self._anchor_sim = DateTime.from_datetime(start)
        self._anchor_real = monotonic()
        self._rate = idle_speed
        self._changed = asyncio.Event()

    @property
    def rate(self) -> float:
        """Simulated seconds per real second right now."""
        return self._rate

    def now(self) -> DateTime:
        elapsed = (self._monotonic() - self._anchor_real) * self._rate
        return DateTime.from_datetime(self._anchor_sim + timedelta(seconds=elapsed))

    def set_busy(self, busy: bool) -> None:
        rate = self.speed if busy else self.idle_speed
        if rate == self._rate:
            return
        self._anchor_sim = self.now()
        self._anchor_real = self._monotonic()
        self._rate = rate
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()  # sleepers recompute their real-time wait

    async def sleep(self, seconds: float) -> None:
        target = self.now() + timedelta(seconds=max(0.0, seconds))
        while True:
            remaining = (target - self.now()).total_seconds()
            if remaining <= 0:
                return
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining / self._rate)


class ManualTime:
    """Time that stands still until :meth:`advance` (tests). Sleepers wake in deadline order."""

    def __init__(self, start: datetime | str = "2026-01-05T08:00:00Z") -> None:
        self._now = DateTime.parse(start) if isinstance(start, str) else DateTime.from_datetime(start)
        self._sleepers: list[tuple[DateTime, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self.busy = False

    def now(self) -> DateTime:
        return self._now

    def set_busy(self, busy: bool) -> None:
        self.busy = busy

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        deadline = DateTime.from_datetime(self._now + timedelta(seconds=seconds))
        heapq.heappush(self._sleepers, (deadline, next(self._order), future))
        await future

    async def settle(self, rounds: int = 50) -> None:
        """Let woken tasks run (a few event-loop turns)."""
        for _ in range(rounds):
            await asyncio.sleep(0)

    async def advance(self, seconds: float) -> DateTime:
        """Move time forward, waking every sleeper whose deadline passes, in order; returns the new time."""
        target = DateTime.from_datetime(self._now + timedelta(seconds=seconds))
        await self.settle()
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, future = heapq.heappop(self._sleepers)
            if future.done():
                continue
            self._now = max(self._now, deadline)
            future.set_result(None)
            await self.settle()
        self._now = target
        await self.settle()
        return self._now
