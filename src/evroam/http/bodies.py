"""Reading request bodies without holding up the node: big bodies are decoded off the event loop.

A body of a few KiB decodes (and, when it is invalid, is walked for its violations) in well under a
millisecond, so it is done inline. A body above :data:`OFFLOAD_BYTES` is decoded in a worker thread:
msgspec is fast, but listing the problems of a large invalid body is Python work, and while it runs on
the event loop every other request of the node (``/healthz`` included) waits. The work itself is
bounded in :mod:`evroam.core.codec` (nesting depth, violations listed, time budget); this module only
keeps it off the loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

from evroam.core.codec import decode

__all__ = ["OFFLOAD_BYTES", "decode_body"]

#: Bodies larger than this (64 KiB) are decoded in a worker thread.
OFFLOAD_BYTES = 64 * 1024


async def decode_body(raw: bytes, tp: Any) -> Any:
    """``decode(raw, tp)``, in a worker thread when ``raw`` is larger than :data:`OFFLOAD_BYTES`."""
    if len(raw) <= OFFLOAD_BYTES:
        return decode(raw, tp)
    return await asyncio.to_thread(decode, raw, tp)
