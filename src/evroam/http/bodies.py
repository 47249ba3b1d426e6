"""Reading request bodies without holding up the node: big bodies are decoded off the event loop.

A body of a few KiB decodes (and, when it is invalid, is walked for its violations) in well under a
millisecond, so it is done inline. A body above :data:`OFFLOAD_BYTES` is decoded in a worker thread:
msgspec is fast, but listing the problems of a large invalid body is Python work, and while it runs on
the event loop every other request of the node (``/healthz`` included) waits. The work itself is
bounded in :mod:`evroam.core.codec` (nesting depth, violations listed, time budget); this module only
keeps it off the loop.

How large a body may be at all is :data:`MAX_BODY_BYTES` (``EVROAM_MAX_BODY_BYTES``, read by
:func:`max_body_bytes_from_env`); the server refuses a larger one with HTTP 413 while reading it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from evroam.core.codec import decode

__all__ = ["MAX_BODY_BYTES", "MAX_BODY_ENV", "OFFLOAD_BYTES", "decode_body", "max_body_bytes_from_env"]

#: Bodies larger than this (64 KiB) are decoded in a worker thread.
OFFLOAD_BYTES = 64 * 1024

#: The largest request body a node accepts by default (4 MiB; a Location with 16,000 EVSEs is 1.2 MB).
MAX_BODY_BYTES = 4 * 1024 * 1024

MAX_BODY_ENV = "EVROAM_MAX_BODY_BYTES"


def max_body_bytes_from_env(environ: Mapping[str, str]) -> int:
    """``EVROAM_MAX_BODY_BYTES`` (a whole number of bytes, at least 1), else :data:`MAX_BODY_BYTES`;
    ``ValueError`` names a bad value."""
    text = environ.get(MAX_BODY_ENV, "").strip()
    if not text:
        return MAX_BODY_BYTES
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{MAX_BODY_ENV} must be a whole number of bytes, not {text!r}") from None
    if value < 1:
        raise ValueError(f"{MAX_BODY_ENV} must be at least 1, not {value}")
    return value


async def decode_body(raw: bytes, tp: Any) -> Any:
    """``decode(raw, tp)``, in a worker thread when ``raw`` is larger than :data:`OFFLOAD_BYTES`."""
    if len(raw) <= OFFLOAD_BYTES:
        return decode(raw, tp)
    return await asyncio.to_thread(decode, raw, tp)
