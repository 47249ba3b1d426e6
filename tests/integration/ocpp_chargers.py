"""Chargers for the OCPP tests and the benchmark: the ``ocpp`` library's own ChargePoint classes (1.6 and
2.0.1) over real WebSockets, answering the central system's calls and recording them.

Each charger accepts what the central system asks (remote start / stop, charging profiles, unlock,
reservations) and keeps the requests in ``received`` (action name -> list of payload dicts), so a test
can see what arrived; the test drives what the charger sends itself (StartTransaction ...).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections import defaultdict
from typing import Any

from ocpp.routing import on
from ocpp.v16 import ChargePoint as Cp16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v201 import ChargePoint as Cp201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201
from websockets.asyncio.client import ClientConnection, connect

__all__ = ["Charger16", "Charger201", "basic", "open_charger"]


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class _Recording:
    received: dict[str, list[dict[str, Any]]]
    arrived: asyncio.Event

    def _record(self, action: str, payload: dict[str, Any]) -> None:
        self.received[action].append(payload)
        self.arrived.set()

    async def wait_for(self, action: str, count: int = 1, within: float = 30) -> dict[str, Any]:
        """The ``count``-th request of ``action`` the charger received (waits for it)."""
        async with asyncio.timeout(within):
            while len(self.received[action]) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.received[action][count - 1]


class Charger16(Cp16, _Recording):  # type: ignore[misc]
    def __init__(self, charger_id: str, connection: ClientConnection) -> None:
        super().__init__(charger_id, connection, response_timeout=30)
        self.received = defaultdict(list)
        self.arrived = asyncio.Event()

    @on(Action16.remote_start_transaction)
    async def on_remote_start(self, **payload: Any) -> Any:
        self._record("RemoteStartTransaction", payload)
        return result16.RemoteStartTransaction(status="Accepted")

    @on(Action16.remote_stop_transaction)
    async def on_remote_stop(self, **payload: Any) -> Any:
        self._record("RemoteStopTransaction", payload)
        return result16.RemoteStopTransaction(status="Accepted")

    @on(Action16.set_charging_profile)
    async def on_set_profile(self, **payload: Any) -> Any:
        self._record("SetChargingProfile", payload)
        return result16.SetChargingProfile(status="Accepted")

    @on(Action16.clear_charging_profile)
    async def on_clear_profile(self, **payload: Any) -> Any:
        self._record("ClearChargingProfile", payload)
        return result16.ClearChargingProfile(status="Accepted")

    @on(Action16.unlock_connector)
    async def on_unlock(self, **payload: Any) -> Any:
        self._record("UnlockConnector", payload)
        return result16.UnlockConnector(status="Unlocked")

    @on(Action16.reserve_now)
    async def on_reserve(self, **payload: Any) -> Any:
        self._record("ReserveNow", payload)
        return result16.ReserveNow(status="Accepted")

    @on(Action16.cancel_reservation)
    async def on_cancel(self, **payload: Any) -> Any:
        self._record("CancelReservation", payload)
        return result16.CancelReservation(status="Accepted")


class Charger201(Cp201, _Recording):  # type: ignore[misc]
    def __init__(self, charger_id: str, connection: ClientConnection) -> None:
        super().__init__(charger_id, connection, response_timeout=30)
        self.received = defaultdict(list)
        self.arrived = asyncio.Event()

    @on(Action201.request_start_transaction)
    async def on_remote_start(self, **payload: Any) -> Any:
        self._record("RequestStartTransaction", payload)
        return result201.RequestStartTransaction(status="Accepted")

    @on(Action201.request_stop_transaction)
    async def on_remote_stop(self, **payload: Any) -> Any:
        self._record("RequestStopTransaction", payload)
        return result201.RequestStopTransaction(status="Accepted")

    @on(Action201.set_charging_profile)
    async def on_set_profile(self, **payload: Any) -> Any:
        self._record("SetChargingProfile", payload)
        return result201.SetChargingProfile(status="Accepted")

    @on(Action201.clear_charging_profile)
    async def on_clear_profile(self, **payload: Any) -> Any:
        self._record("ClearChargingProfile", payload)
        return result201.ClearChargingProfile(status="Accepted")

    @on(Action201.unlock_connector)
    async def on_unlock(self, **payload: Any) -> Any:
        self._record("UnlockConnector", payload)
        return result201.UnlockConnector(status="Unlocked")


@contextlib.asynccontextmanager
async def open_charger(
    url: str, charger_id: str, password: str, *, version: str = "1.6", ssl: Any = None, cls: Any = None
) -> Any:
    """A charger of ``version`` connected to ``url`` (``ws://HOST:PORT/ocpp/``), running its receive loop."""
    protocol = "ocpp1.6" if version == "1.6" else "ocpp2.0.1"
    cls = cls or (Charger16 if version == "1.6" else Charger201)
    async with connect(
        url + charger_id,
        subprotocols=[protocol],  # type: ignore[list-item]
        additional_headers={"Authorization": basic(charger_id, password)},
        open_timeout=20,
        ssl=ssl,
    ) as ws:
        charger = cls(charger_id, ws)
        loop = asyncio.create_task(charger.start())
        try:
            yield charger
        finally:
            loop.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await loop
