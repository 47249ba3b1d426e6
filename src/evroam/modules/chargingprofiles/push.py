"""The charging profiles pusher: the CPO's result POSTs and ActiveChargingProfile PUTs, from the outbox.

Rows are written by :class:`~evroam.modules.chargingprofiles.receiver.ProfileReceiver` in the
transaction that decided them (module ``chargingprofiles``, method ``PUT`` = "send the current state"):

* ``result:{request id}`` — POST the request's result (ChargingProfileResult, ActiveChargingProfileResult
  or ClearProfileResult, in the request's OCPI version) to its ``response_url``;
* ``active:{session id}`` — PUT the session's current ActiveChargingProfile to the partner's
  chargingprofiles SENDER endpoint (``{url}/{session_id}``); pending updates of one session coalesce.

These go to URLs the partner gave (a response URL, its Sender interface), not to a RECEIVER endpoint of
the module, so the pusher tells the worker where the partner is (:meth:`ProfilePusher.target`).
"""

from __future__ import annotations

from typing import Any

import msgspec

from evroam.model.chargingprofiles import (
    ActiveChargingProfileResult,
    ChargingProfileResult,
    ClearProfileResult,
)
from evroam.modules.kit import Delivery, Outgoing, Skip
from evroam.ocpi.converters import VersionConverters
from evroam.ocpi.table import InterfaceRole
from evroam.registration.model import Partner, PartnerStatus
from evroam.registration.repository import PARTNER_KIND, decode_partner
from evroam.store.outbox import ObjectChange, PartnerTarget
from evroam.store.port import Operations

from .convert import MODULE, profile_converters
from .records import Direction, RequestType, load_record, load_session_profiles, save_record

__all__ = ["ProfilePusher"]


def _target(partner: Partner) -> PartnerTarget | None:
    if partner.status != PartnerStatus.REGISTERED or partner.version is None or partner.token is None:
        return None
    endpoint = partner.endpoint(MODULE, InterfaceRole.SENDER.value)
    own = next((role for role in partner.roles if role.role != "CPO"), None)
    return PartnerTarget(
        partner_id=partner.id,
        name=partner.name,
        version=partner.version,
        url="" if endpoint is None else endpoint.url,
        token=partner.token,
        token_encoding=partner.token_encoding,
        country_code=None if own is None else own.country_code,
        party_id=None if own is None else own.party_id,
    )


class ProfilePusher:
    """:class:`~evroam.modules.kit.Pusher` of the ``chargingprofiles`` module."""

    module = MODULE

    async def target(self, ops: Operations, partner_id: str) -> PartnerTarget | None:
        """The partner's token and version, and its chargingprofiles SENDER endpoint (``url`` empty
        when it lists none: a response URL needs none)."""
        for item in (await ops.find(PARTNER_KIND, partners=[partner_id])).items:
            partner: Partner = decode_partner(item.payload)
            if partner.id == partner_id:
                return _target(partner)
        return None

    async def prepare(
        self,
        ops: Operations,
        conv: VersionConverters,
        target: PartnerTarget,
        change: ObjectChange,
        delivery: Delivery,
    ) -> Outgoing | Skip:
        kind, _, key = change.object_id.partition(":")
        if kind == "result":
            record = await load_record(ops, Direction.RECEIVED, key)
            if record is None or record.result is None:
                return Skip(f"no decided charging profile request {key}")
            result: Any
            if record.type is RequestType.SET:
                result = ChargingProfileResult(result=record.result)
            elif record.type is RequestType.GET:
                result = ActiveChargingProfileResult(result=record.result, profile=record.active)
            else:
                result = ClearProfileResult(result=record.result)
            body = profile_converters(record.version).result_out(record.type, result)
            return Outgoing("POST", (), body, None, record.response_url)
        if kind == "active":
            state = await load_session_profiles(ops, change.country_code, change.party_id, key)
            if state is None or state.active is None:
                return Skip(f"no active charging profile known for session {key}")
            if not target.url:
                return Skip(f"partner {target.name} lists no chargingprofiles SENDER endpoint")
            return Outgoing("PUT", (key,), profile_converters(conv.version).active_out(state.active))
        return Skip(f"unknown charging profile job {change.object_id!r}")

    async def acknowledged(
        self, ops: Any, target: PartnerTarget, change: ObjectChange, outgoing: Outgoing, response: Any
    ) -> None:
        """A result the sender acknowledged: noted on the request's record."""
        kind, _, key = change.object_id.partition(":")
        if kind != "result":
            return
        async with ops.transaction() as tx:
            record = await load_record(tx, Direction.RECEIVED, key, for_update=True)
            if record is not None:
                await save_record(tx, msgspec.structs.replace(record, result_posted=True))
