"""One read shared by concurrent callers, never older than the caller's own start.

A value that every request needs fresh (the registration generation, the locations' change log) costs a
database round trip per request when read naively. :class:`SharedRead` lets the callers that wait at the
same time share one read, without giving any of them an answer older than its own start: a caller gets
the result of a read *sent after it called*. While one read is on its way, the callers that arrive meanwhile
wait for it to return and then share the next one. Under concurrent requests one round trip serves many;
alone, a caller pays one round trip, as before.

A failed read fails the callers that shared it (and only them); the next caller sends a new read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")

# the tasks reading for waiting callers (kept referenced until done)
_READS: set[asyncio.Task[None]] = set()


def _retrieved(future: asyncio.Future[Any]) -> None:
    """Mark a shared read's failure as seen: its callers may all have gone (cancelled)."""
    if not future.cancelled():
        future.exception()


class SharedRead(Generic[T]):
    """``await shared()``: the result of ``read()`` sent after this call began, shared by every caller
    waiting for the same read (one event loop)."""

    def __init__(self, read: Callable[[], Awaitable[T]]) -> None:
        self._read = read
        self._sent: asyncio.Future[T] | None = None  # the read on its way
        self._next: asyncio.Future[T] | None = None  # the read to send when that one is back

    async def __call__(self) -> T:
        if self._next is None:
            loop = asyncio.get_running_loop()
            self._next = loop.create_future()
            self._next.add_done_callback(_retrieved)
            task = loop.create_task(self._read_next(self._sent, self._next))
            _READS.add(task)
            task.add_done_callback(_READS.discard)
        return await asyncio.shield(self._next)

    async def _read_next(self, previous: asyncio.Future[T] | None, future: asyncio.Future[T]) -> None:
        try:
            if previous is not None:
                await asyncio.wait([previous])
            self._next = None  # who calls from now on needs a read sent after this one
            self._sent = future
            future.set_result(await self._read())
        except BaseException as exc:
            if self._next is future:
                self._next = None
            future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            if self._sent is future:
                self._sent = None
