"""Injected clock and id providers. Logic never calls ``datetime.now()`` or ``uuid4()`` itself."""

from __future__ import annotations

import itertools
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Protocol

from evroam.core.types import DateTime

__all__ = ["Clock", "FixedClock", "IdGenerator", "SequentialIds", "SystemClock", "UuidIds"]


class Clock(Protocol):
    def now(self) -> DateTime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> DateTime:
        return DateTime.from_datetime(datetime.now(UTC))


class FixedClock:
    """A clock that only moves when told to (tests, golden files, simulations)."""

    def __init__(self, start: datetime | str = "2026-01-01T00:00:00Z") -> None:
        self._now = DateTime.parse(start) if isinstance(start, str) else DateTime.from_datetime(start)

    def now(self) -> DateTime:
        return self._now

    def set(self, value: datetime | str) -> None:
        self._now = DateTime.parse(value) if isinstance(value, str) else DateTime.from_datetime(value)

    def advance(self, delta: timedelta | float) -> DateTime:
        """Move forward by a timedelta or a number of seconds; returns the new time."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        self._now = DateTime.from_datetime(self._now + step)
        return self._now


class IdGenerator(Protocol):
    def new_id(self) -> str:
        """A new unique identifier (at most 36 characters)."""
        ...

    def new_token(self) -> str:
        """A new secret credentials token (printable ASCII, at most 64 characters)."""
        ...


class UuidIds:
    """Random UUID ids and URL-safe random tokens."""

    def new_id(self) -> str:
        return str(uuid.uuid4())

    def new_token(self) -> str:
        return secrets.token_urlsafe(32)


class SequentialIds:
    """Predictable ids for tests: ``<prefix>-000001``, ``<prefix>-000002`` ..."""

    def __init__(self, prefix: str = "id") -> None:
        self._prefix = prefix
        self._counter = itertools.count(1)

    def new_id(self) -> str:
        return f"{self._prefix}-{next(self._counter):06d}"

    def new_token(self) -> str:
        return f"token-{self._prefix}-{next(self._counter):06d}"
