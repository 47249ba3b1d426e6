"""Which stores the current task holds an open transaction on (shared by the implementations)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["check_no_transaction", "inside_transaction"]

_OPEN: ContextVar[tuple[object, ...]] = ContextVar("evroam_store_open_transactions", default=())


def check_no_transaction(store: object, what: str) -> None:
    """Raise when the current task has an open transaction on ``store``."""
    if any(open_store is store for open_store in _OPEN.get()):
        raise RuntimeError(
            f"{what} while this task has an open transaction on the store: use the transaction"
        )


@contextmanager
def inside_transaction(store: object) -> Iterator[None]:
    """Mark ``store`` as having an open transaction in the current task for the duration."""
    token = _OPEN.set((*_OPEN.get(), store))
    try:
        yield
    finally:
        _OPEN.reset(token)
