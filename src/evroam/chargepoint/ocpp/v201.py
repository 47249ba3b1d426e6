"""OCPP 2.0.1: one charger's connection, on the ``ocpp`` library's ``v201.ChargePoint``.

A TransactionEvent carries what 1.6 spreads over several messages: ``Started`` (or the first event of
a transaction this central system has not seen) starts it, with its id token decided like an
Authorize; its meter values are readings; ``Ended`` stops it. Each (transaction, ``seq_no``) is acted
on once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from ocpp.exceptions import NotImplementedError as OcppNotImplemented
from ocpp.exceptions import NotSupportedError, OCPPError
from ocpp.v201 import ChargePoint as _ChargePoint201
from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action

from evroam.core.types import DateTime

from ..port import ActiveLimit, Answer, LimitRequest
from ._routing import handles
from .central import CentralSystem, UnknownConnector
from .mapping import (
    OCPP201,
    Reading,
    active_limit_of,
    answer_of,
    authorization_status,
    charge_state_201,
    ocpp_time,
    parse_time,
    profile_201,
    reading_of,
    status_201,
    stop_reason_201,
)

__all__ = ["ChargerLink201", "token_type_of"]

log = logging.getLogger(__name__)


def token_type_of(id_token_type: str | None) -> str:
    """The OCPI token type of a 2.0.1 IdTokenEnumType (ISO 14443 / 15693 cards and local ids: RFID)."""
    return "RFID" if id_token_type in ("ISO14443", "ISO15693", "Local", "KeyCode") else "OTHER"


def _id_token(uid: str, token_type: str) -> dict[str, str]:
    return {"id_token": uid, "type": "ISO14443" if token_type == "RFID" else "Central"}


async def _answer(make: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return await make()
    except (OcppNotImplemented, NotSupportedError):
        return Answer.NOT_SUPPORTED
    except OCPPError as error:
        log.warning("OCPP: the charger answered a CALLERROR: %s", error)
        return Answer.REJECTED


def _energy(meter_values: list[Any] | None) -> Reading | None:
    """The last reading with an energy register among a TransactionEvent's meter values."""
    found: Reading | None = None
    for value in meter_values or ():
        reading = reading_of(value, version=OCPP201)
        if reading.energy is not None and (found is None or reading.at >= found.at):
            found = reading
    return found


class ChargerLink201(_ChargePoint201):  # type: ignore[misc]  # the ocpp library ships no types
    """One OCPP 2.0.1 charging station connected to the central system."""

    protocol = OCPP201

    def __init__(self, charger_id: str, connection: Any, central: CentralSystem, *, timeout: float) -> None:
        super().__init__(charger_id, connection, response_timeout=timeout)
        self.central = central
        self._evse_of: dict[str, dict[str, Any]] = {}
        """The EVSE of transactions begun before their id token came (they have no session yet)."""

    # -- charger -> central ------------------------------------------------------------------------

    @handles(Action.boot_notification)
    async def on_boot(self, charging_station: dict[str, Any], reason: str, **_: Any) -> Any:
        now = await self.central.boot(
            self.id,
            vendor=charging_station.get("vendor_name"),
            model=charging_station.get("model"),
            serial_number=charging_station.get("serial_number"),
            firmware_version=charging_station.get("firmware_version"),
        )
        return call_result.BootNotification(
            current_time=ocpp_time(now), interval=self.central.heartbeat, status="Accepted"
        )

    @handles(Action.heartbeat)
    async def on_heartbeat(self, **_: Any) -> Any:
        now = await self.central.heartbeat_from(self.id)
        return call_result.Heartbeat(current_time=ocpp_time(now))

    @handles(Action.status_notification)
    async def on_status(
        self, timestamp: str, connector_status: str, evse_id: int, connector_id: int, **_: Any
    ) -> Any:
        await self.central.status(
            self.id,
            evse_id,
            connector_id,
            connector_status,
            status_201(connector_status),
            parse_time(timestamp),
        )
        return call_result.StatusNotification()

    @handles(Action.authorize)
    async def on_authorize(self, id_token: dict[str, Any], **_: Any) -> Any:
        decision = await self.central.authorize(
            self.id, str(id_token["id_token"]), token_type_of(id_token.get("type"))
        )
        return call_result.Authorize(
            id_token_info={"status": authorization_status(decision.outcome, version=OCPP201)}
        )

    @handles(Action.meter_values)
    async def on_meter_values(self, evse_id: int, meter_value: list[Any], **_: Any) -> Any:
        return call_result.MeterValues()  # outside a transaction: nothing for OCPI

    @handles(Action.transaction_event)
    async def on_transaction_event(
        self,
        event_type: str,
        timestamp: str,
        trigger_reason: str,
        seq_no: int,
        transaction_info: dict[str, Any],
        **extra: Any,
    ) -> Any:
        ocpp_id = str(transaction_info["transaction_id"])
        at = parse_time(timestamp)
        meter_values = extra.get("meter_value") or []
        id_token = extra.get("id_token")
        tx = await self.central.find(self.id, ocpp_id)
        if tx is not None and seq_no in tx.seq_nos:
            return call_result.TransactionEvent()  # sent again: acted on already
        info: dict[str, Any] | None = None
        if tx is None:
            evse = extra.get("evse") or self._evse_of.get(ocpp_id)
            if evse is None:
                log.warning("OCPP: %s sent transaction %s without its EVSE: ignored", self.id, ocpp_id)
                return call_result.TransactionEvent()
            if id_token is None and transaction_info.get("remote_start_id") is None:
                # begun before authorization (cable first): the session waits for the id token
                self._evse_of[ocpp_id] = evse
                return call_result.TransactionEvent()
            self._evse_of.pop(ocpp_id, None)
            start = _energy(meter_values)
            uid = "" if id_token is None else str(id_token["id_token"])  # "": a remote start's
            try:
                tx, decision = await self.central.transaction_started(
                    self.id,
                    number=int(evse["id"]),
                    connector=evse.get("connector_id"),
                    id_tag=uid,
                    token_type=token_type_of(None if id_token is None else id_token.get("type")),
                    meter_start=Decimal(0) if start is None else start.energy or Decimal(0),
                    at=at,
                    ocpp_id=ocpp_id,
                    remote_id=transaction_info.get("remote_start_id"),
                    offline=bool(extra.get("offline")),
                )
            except UnknownConnector as exc:
                raise NotSupportedError(str(exc)) from None
            info = {"status": authorization_status(decision.outcome, version=OCPP201)}
        state = charge_state_201(transaction_info.get("charging_state"))
        readings = [reading_of(v, version=OCPP201) for v in meter_values]
        if event_type == "Ended":
            stop = _energy(meter_values)
            await self.central.transaction_stopped(
                self.id,
                ocpp_id,
                at=at,
                meter_stop=None if stop is None else stop.energy,
                reason=stop_reason_201(transaction_info.get("stopped_reason")),
                readings=readings,
                seq_no=seq_no,
            )
        else:
            readings = readings or [_nothing(at)]
            for index, reading in enumerate(readings):
                last = index == len(readings) - 1
                await self.central.reading(
                    self.id, ocpp_id, reading, state=state, seq_no=seq_no if last else None
                )
        if info is None and id_token is not None and event_type != "Ended":
            decision = await self.central.authorize(
                self.id, str(id_token["id_token"]), token_type_of(id_token.get("type"))
            )
            info = {"status": authorization_status(decision.outcome, version=OCPP201)}
        if info is None:
            return call_result.TransactionEvent()
        return call_result.TransactionEvent(id_token_info=info)

    @handles(Action.notify_event)
    async def on_notify_event(self, **_: Any) -> Any:
        return call_result.NotifyEvent()

    @handles(Action.notify_report)
    async def on_notify_report(self, **_: Any) -> Any:
        return call_result.NotifyReport()

    @handles(Action.security_event_notification)
    async def on_security_event(self, **_: Any) -> Any:
        return call_result.SecurityEventNotification()

    @handles(Action.firmware_status_notification)
    async def on_firmware(self, **_: Any) -> Any:
        return call_result.FirmwareStatusNotification()

    @handles(Action.data_transfer)
    async def on_data_transfer(self, vendor_id: str, **_: Any) -> Any:
        return call_result.DataTransfer(status="UnknownVendorId")

    # -- central -> charger (the Link) -------------------------------------------------------------

    async def _call(self, payload: Any) -> Any:
        return await self.call(payload, suppress=False)

    async def remote_start(
        self, number: int, connector: int | None, id_tag: str, remote_id: int, token_type: str
    ) -> Answer:
        async def go() -> Answer:
            result = await self._call(
                call.RequestStartTransaction(
                    id_token=_id_token(id_tag, token_type), remote_start_id=remote_id, evse_id=number
                )
            )
            return answer_of(result.status)

        answer: Answer = await _answer(go)
        return answer

    async def remote_stop(self, ocpp_id: str) -> Answer:
        async def go() -> Answer:
            result = await self._call(call.RequestStopTransaction(transaction_id=ocpp_id))
            return answer_of(result.status)

        answer: Answer = await _answer(go)
        return answer

    async def reserve(
        self, number: int | None, id_tag: str, expiry: DateTime, reservation: int, token_type: str
    ) -> Answer:
        async def go() -> Answer:
            result = await self._call(
                call.ReserveNow(
                    id=reservation,
                    expiry_date_time=ocpp_time(expiry),
                    id_token=_id_token(id_tag, token_type),
                    evse_id=number,
                )
            )
            return answer_of(result.status)

        answer: Answer = await _answer(go)
        return answer

    async def cancel_reservation(self, reservation: int) -> Answer:
        async def go() -> Answer:
            result = await self._call(call.CancelReservation(reservation_id=reservation))
            return Answer.ACCEPTED if result.status == "Accepted" else Answer.UNKNOWN

        answer: Answer = await _answer(go)
        return answer

    async def unlock(self, number: int, connector: int | None) -> Answer:
        async def go() -> Answer:
            result = await self._call(call.UnlockConnector(evse_id=number, connector_id=connector or 1))
            return answer_of(result.status)

        answer: Answer = await _answer(go)
        return answer

    async def set_profile(
        self, number: int, request: LimitRequest, profile_id: int, ocpp_id: str | None
    ) -> Answer:
        profile = profile_201(
            request.limit, profile_id=profile_id, transaction_id=ocpp_id, now=self.central.now()
        )

        async def go() -> Answer:
            result = await self._call(call.SetChargingProfile(evse_id=number, charging_profile=profile))
            return answer_of(result.status)

        answer: Answer = await _answer(go)
        return answer

    async def clear_profile(self, profile_id: int) -> Answer:
        async def go() -> Answer:
            result = await self._call(call.ClearChargingProfile(charging_profile_id=profile_id))
            return Answer.ACCEPTED if result.status == "Accepted" else Answer.UNKNOWN

        answer: Answer = await _answer(go)
        return answer

    async def composite(self, number: int, duration: int, transaction_id: str) -> ActiveLimit | Answer:
        async def go() -> ActiveLimit | Answer:
            result = await self._call(call.GetCompositeSchedule(duration=duration, evse_id=number))
            if result.status != "Accepted":
                return Answer.REJECTED
            found = active_limit_of(
                result.schedule,
                transaction_id=transaction_id,
                duration=duration,
                now=self.central.now(),
            )
            return found if found is not None else Answer.REJECTED

        outcome: ActiveLimit | Answer = await _answer(go)
        return outcome

    async def close(self) -> None:
        await self._connection.close()


def _nothing(at: DateTime) -> Reading:
    """A reading without a register (records a ``seq_no`` only)."""
    return Reading(at=at)
