"""OCPP 1.6J: one charger's connection, on the ``ocpp`` library's ``v16.ChargePoint``.

Incoming CALLs are handed to the :class:`~.central.CentralSystem`; outgoing ones are its
:class:`~.central.Link` calls. A CALLERROR answer is ``NOT_SUPPORTED`` for NotImplemented /
NotSupported, else ``REJECTED``; no answer within the response timeout raises ``TimeoutError``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from ocpp.exceptions import NotImplementedError as OcppNotImplemented
from ocpp.exceptions import NotSupportedError, OCPPError
from ocpp.v16 import ChargePoint as _ChargePoint16
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

from evroam.core.types import DateTime

from ..port import ActiveLimit, Answer, LimitRequest
from ._routing import handles
from .central import CentralSystem, UnknownConnector
from .mapping import (
    OCPP16,
    active_limit_of,
    answer_of,
    authorization_status,
    charge_state_16,
    ocpp_time,
    parse_time,
    profile_16,
    reading_of,
    status_16,
    stop_reason_16,
)

__all__ = ["ChargerLink16"]

log = logging.getLogger(__name__)

_TOKEN_TYPE = "RFID"


async def _answer(make: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return await make()
    except (OcppNotImplemented, NotSupportedError):
        return Answer.NOT_SUPPORTED
    except OCPPError as error:
        log.warning("OCPP: the charger answered a CALLERROR: %s", error)
        return Answer.REJECTED


class ChargerLink16(_ChargePoint16):  # type: ignore[misc]  # the ocpp library ships no types
    """One OCPP 1.6J charger connected to the central system."""

    protocol = OCPP16

    def __init__(self, charger_id: str, connection: Any, central: CentralSystem, *, timeout: float) -> None:
        super().__init__(charger_id, connection, response_timeout=timeout)
        self.central = central

    # -- charger -> central ------------------------------------------------------------------------

    @handles(Action.boot_notification)
    async def on_boot(self, charge_point_vendor: str, charge_point_model: str, **extra: Any) -> Any:
        now = await self.central.boot(
            self.id,
            vendor=charge_point_vendor,
            model=charge_point_model,
            serial_number=extra.get("charge_point_serial_number") or extra.get("charge_box_serial_number"),
            firmware_version=extra.get("firmware_version"),
        )
        return call_result.BootNotification(
            current_time=ocpp_time(now), interval=self.central.heartbeat, status="Accepted"
        )

    @handles(Action.heartbeat)
    async def on_heartbeat(self, **_: Any) -> Any:
        now = await self.central.heartbeat_from(self.id)
        return call_result.Heartbeat(current_time=ocpp_time(now))

    @handles(Action.status_notification)
    async def on_status(self, connector_id: int, error_code: str, status: str, **extra: Any) -> Any:
        stamp = extra.get("timestamp")
        at = parse_time(stamp) if stamp else DateTime.from_datetime(self.central.now())
        await self.central.status(self.id, connector_id, None, status, status_16(status), at)
        return call_result.StatusNotification()

    @handles(Action.authorize)
    async def on_authorize(self, id_tag: str, **_: Any) -> Any:
        decision = await self.central.authorize(self.id, id_tag, _TOKEN_TYPE)
        return call_result.Authorize(
            id_tag_info={"status": authorization_status(decision.outcome, version=OCPP16)}
        )

    @handles(Action.start_transaction)
    async def on_start(
        self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **_: Any
    ) -> Any:
        at = parse_time(timestamp)
        try:
            tx, decision = await self.central.transaction_started(
                self.id,
                number=connector_id,
                connector=None,
                id_tag=id_tag,
                token_type=_TOKEN_TYPE,
                meter_start=Decimal(meter_start) / 1000,
                at=at,
                start_key=f"{connector_id}|{at.to_json()}|{meter_start}|{id_tag.casefold()}",
            )
        except UnknownConnector as exc:
            raise NotSupportedError(str(exc)) from None
        return call_result.StartTransaction(
            transaction_id=int(tx.ocpp_id),
            id_tag_info={"status": authorization_status(decision.outcome, version=OCPP16)},
        )

    @handles(Action.meter_values)
    async def on_meter_values(self, connector_id: int, meter_value: list[Any], **extra: Any) -> Any:
        transaction_id = extra.get("transaction_id")
        if transaction_id is not None:
            state = charge_state_16(self.central.status_of(self.id, connector_id))
            for value in meter_value:
                await self.central.reading(
                    self.id, str(transaction_id), reading_of(value, version=OCPP16), state=state
                )
        return call_result.MeterValues()

    @handles(Action.stop_transaction)
    async def on_stop(self, meter_stop: int, timestamp: str, transaction_id: int, **extra: Any) -> Any:
        readings = [reading_of(v, version=OCPP16) for v in extra.get("transaction_data") or ()]
        await self.central.transaction_stopped(
            self.id,
            str(transaction_id),
            at=parse_time(timestamp),
            meter_stop=Decimal(meter_stop) / 1000,
            reason=stop_reason_16(extra.get("reason")),
            readings=readings,
        )
        id_tag = extra.get("id_tag")
        if id_tag is None:
            return call_result.StopTransaction()
        return call_result.StopTransaction(id_tag_info={"status": "Accepted"})

    @handles(Action.data_transfer)
    async def on_data_transfer(self, vendor_id: str, **_: Any) -> Any:
        return call_result.DataTransfer(status="UnknownVendorId")

    @handles(Action.diagnostics_status_notification)
    async def on_diagnostics(self, **_: Any) -> Any:
        return call_result.DiagnosticsStatusNotification()

    @handles(Action.firmware_status_notification)
    async def on_firmware(self, **_: Any) -> Any:
        return call_result.FirmwareStatusNotification()

    # -- central -> charger (the Link) -------------------------------------------------------------

    async def _call(self, payload: Any) -> Any:
        return await self.call(payload, suppress=False)

    async def remote_start(
        self, number: int, connector: int | None, id_tag: str, remote_id: int, token_type: str
    ) -> Answer:
        async def go() -> Answer:
            result = await self._call(call.RemoteStartTransaction(id_tag=id_tag, connector_id=number))
            return answer_of(result.status)

        answer: Answer = await _answer(go)
        return answer

    async def remote_stop(self, ocpp_id: str) -> Answer:
        async def go() -> Answer:
            result = await self._call(call.RemoteStopTransaction(transaction_id=int(ocpp_id)))
            return answer_of(result.status)

        answer: Answer = await _answer(go)
        return answer

    async def reserve(
        self, number: int | None, id_tag: str, expiry: DateTime, reservation: int, token_type: str
    ) -> Answer:
        async def go() -> Answer:
            result = await self._call(
                call.ReserveNow(
                    connector_id=0 if number is None else number,
                    expiry_date=ocpp_time(expiry),
                    id_tag=id_tag,
                    reservation_id=reservation,
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
            result = await self._call(call.UnlockConnector(connector_id=number))
            return answer_of(result.status)

        answer: Answer = await _answer(go)
        return answer

    async def set_profile(
        self, number: int, request: LimitRequest, profile_id: int, ocpp_id: str | None
    ) -> Answer:
        profile = profile_16(
            request.limit,
            profile_id=profile_id,
            transaction_id=None if ocpp_id is None else int(ocpp_id),
            now=self.central.now(),
        )

        async def go() -> Answer:
            result = await self._call(
                call.SetChargingProfile(connector_id=number, cs_charging_profiles=profile)
            )
            return answer_of(result.status)

        answer: Answer = await _answer(go)
        return answer

    async def clear_profile(self, profile_id: int) -> Answer:
        async def go() -> Answer:
            result = await self._call(call.ClearChargingProfile(id=profile_id))
            return Answer.ACCEPTED if result.status == "Accepted" else Answer.UNKNOWN

        answer: Answer = await _answer(go)
        return answer

    async def composite(self, number: int, duration: int, transaction_id: str) -> ActiveLimit | Answer:
        async def go() -> ActiveLimit | Answer:
            result = await self._call(call.GetCompositeSchedule(connector_id=number, duration=duration))
            if result.status != "Accepted":
                return Answer.REJECTED
            schedule = dict(result.charging_schedule or {})
            if schedule and not schedule.get("start_schedule") and result.schedule_start:
                schedule["start_schedule"] = result.schedule_start
            found = active_limit_of(
                schedule,
                transaction_id=transaction_id,
                duration=duration,
                now=self.central.now(),
            )
            return found if found is not None else Answer.REJECTED

        outcome: ActiveLimit | Answer = await _answer(go)
        return outcome

    async def close(self) -> None:
        await self._connection.close()
