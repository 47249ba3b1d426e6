"""The evroam test kit: fakes and helpers for testing code that uses evroam, and evroam itself.

* storage: :class:`MemoryStore`, the in-memory store (the same port as SQLite / PostgreSQL);
* time and ids: :class:`FixedClock` (moves only when told), :class:`ManualTime` (simulated time with
  sleepers, for the simulator and the push worker), :class:`SequentialIds` (``t-000001``, ...);
* a fake partner behind ``httpx.MockTransport``: :class:`FakePartner` (Sender lists and a Receiver in
  one), :class:`FakeSender`, :class:`FakeReceiver`, :class:`ReceivedRequest`;
* an OICP hub like Hubject's, checking every message against Hubject's OpenAPI, with mutual TLS:
  :class:`OicpTestHub` (``evroam oicp test-hub``; docs/oicp.md);
* real nodes over real sockets: :class:`NodePair` (a CPO and an eMSP, registered with each other),
  :class:`NodeProcess`, :func:`free_port`, :func:`wait_until`, :func:`stop_all`, and the errors they
  raise, :class:`NodeFailure` and :class:`WaitTimeout`.

pytest fixtures live in :mod:`evroam.testing.pytest`; this package does not need pytest.
See ``docs/testing.md``.
"""

from evroam.core.clock import FixedClock, SequentialIds
from evroam.sim import ManualTime
from evroam.store import MemoryStore
from evroam.testing.nodes import (
    NodeFailure,
    NodePair,
    NodeProcess,
    WaitTimeout,
    free_port,
    stop_all,
    wait_until,
)
from evroam.testing.oicp_hub import OicpTestHub
from evroam.testing.partner import FakePartner, FakeReceiver, FakeSender, ReceivedRequest

__all__ = [
    "FakePartner",
    "FakeReceiver",
    "FakeSender",
    "FixedClock",
    "ManualTime",
    "MemoryStore",
    "NodeFailure",
    "NodePair",
    "NodeProcess",
    "OicpTestHub",
    "ReceivedRequest",
    "SequentialIds",
    "WaitTimeout",
    "free_port",
    "stop_all",
    "wait_until",
]
