"""What the chargers sent and the central system acknowledged, kept in the node's store.

Every transaction is a document (kind ``ocpp_transaction``, id = the OCPI session id): the charger,
its OCPP transaction id, where it runs, the port's :class:`~evroam.chargepoint.TransactionStarted`,
every reading taken, the 2.0.1 sequence numbers seen, and the stop once it came. It is written before
the charger's CALL is answered, so a node that restarts takes every open transaction up again
(:meth:`OcpiSink.resume <evroam.chargepoint.sink.OcpiSink.resume>`) and a message repeated by the
charger finds what it already did:

* ``ocpp_txid`` documents map a charger's OCPP transaction id to the session id (2.0.1 ids are the
  charger's; 1.6 ids are ours: the session number);
* ``ocpp_start`` documents map a 1.6 StartTransaction's content (connector, timestamp, meterStart,
  idTag) to the transaction it made: a StartTransaction sent again gets the same transactionId;
* the session numbers come from the setting ``ocpp.last_transaction``.
"""

from __future__ import annotations

import hashlib

import msgspec

from evroam.core.clock import Clock
from evroam.core.codec import decoder_for, encode
from evroam.store.port import ObjectKey, Operations, Store

from ..port import MeterValues, TransactionStarted, TransactionStopped
from .registry import SCOPE

__all__ = ["TX_KIND", "Journal", "TransactionRecord"]

TX_KIND = "ocpp_transaction"
TXID_KIND = "ocpp_txid"
START_KIND = "ocpp_start"
COUNTER = "ocpp.last_transaction"


class TransactionRecord(msgspec.Struct, kw_only=True):
    session_id: str
    charger_id: str
    ocpp_id: str
    """The transaction id on the wire (1.6: the session number; 2.0.1: the charger's)."""
    number: int
    """OCPP connector (1.6) or EVSE (2.0.1)."""
    connector: int | None = None
    """2.0.1: the connector of the EVSE."""
    id_tag: str
    started: TransactionStarted
    readings: list[MeterValues] = msgspec.field(default_factory=list)
    stopped: TransactionStopped | None = None
    seq_nos: list[int] = msgspec.field(default_factory=list)
    offline: bool = False
    """Reported by the charger after the fact (it ran while the charger was offline)."""
    announced: bool = False
    """Its start was handed to the listeners (the session exists); a restart announces it otherwise."""

    def has_reading_at(self, reading: MeterValues) -> bool:
        return any(r.at == reading.at for r in self.readings)


class _Pointer(msgspec.Struct):
    session_id: str


_tx = decoder_for(TransactionRecord)
_pointer = decoder_for(_Pointer)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


class Journal:
    """The transactions of the node's chargers in its store."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    @property
    def store(self) -> Store:
        return self._store

    async def next_number(self, ops: Operations) -> int:
        """A new session number (inside the caller's store transaction)."""
        last = await ops.get_setting(COUNTER)
        number = (int(last) if last else 0) + 1
        await ops.set_setting(COUNTER, str(number))
        return number

    async def save(self, record: TransactionRecord, ops: Operations | None = None) -> None:
        await (ops or self._store).put(
            ObjectKey(TX_KIND, *SCOPE, record.session_id),
            encode(record),
            self._clock.now(),
            check_stale=False,
        )

    async def get(self, session_id: str, ops: Operations | None = None) -> TransactionRecord | None:
        stored = await (ops or self._store).get(ObjectKey(TX_KIND, *SCOPE, session_id))
        return None if stored is None else _tx.decode(stored.payload)

    async def by_ocpp_id(
        self, charger_id: str, ocpp_id: str, ops: Operations | None = None
    ) -> TransactionRecord | None:
        stored = await (ops or self._store).get(
            ObjectKey(TXID_KIND, *SCOPE, _digest(f"{charger_id.casefold()}|{ocpp_id}"))
        )
        if stored is None:
            return None
        return await self.get(_pointer.decode(stored.payload).session_id, ops)

    async def index(
        self, record: TransactionRecord, ops: Operations, *, start_key: str | None = None
    ) -> None:
        """Point the charger's OCPP transaction id (and the 1.6 start's content) at ``record``."""
        now = self._clock.now()
        pointer = encode(_Pointer(record.session_id))
        key = _digest(f"{record.charger_id.casefold()}|{record.ocpp_id}")
        await ops.put(ObjectKey(TXID_KIND, *SCOPE, key), pointer, now, check_stale=False)
        if start_key is not None:
            await ops.put(
                ObjectKey(START_KIND, *SCOPE, _digest(f"{record.charger_id.casefold()}|{start_key}")),
                pointer,
                now,
                check_stale=False,
            )

    async def by_start(self, charger_id: str, start_key: str) -> TransactionRecord | None:
        stored = await self._store.get(
            ObjectKey(START_KIND, *SCOPE, _digest(f"{charger_id.casefold()}|{start_key}"))
        )
        if stored is None:
            return None
        return await self.get(_pointer.decode(stored.payload).session_id)

    async def open_transactions(self) -> list[TransactionRecord]:
        """Every transaction not stopped yet (oldest first)."""
        out: list[TransactionRecord] = []
        offset = 0
        while True:
            page = await self._store.find(
                TX_KIND, country_code=SCOPE[0], party_id=SCOPE[1], offset=offset, limit=500
            )
            for item in page.items:
                record = _tx.decode(item.payload)
                if record.stopped is None:
                    out.append(record)
            offset += len(page.items)
            if not page.items or offset >= page.total:
                return out
