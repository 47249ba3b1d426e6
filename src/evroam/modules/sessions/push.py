"""Pushing our sessions: the push worker's :class:`~evroam.push.worker.Pusher` of module ``sessions``.

* a PUT row (the creation) sends the session's current state: ``PUT {sessions}/{cc}/{pid}/{id}``;
* PATCH rows (later changes) go out as one PATCH with the current values of the changed fields and
  ``last_updated``, and only the charging periods added since the first pending change (its patch
  carries ``"charging_periods": N``, the number of periods before it): OCPI appends the periods of a
  PATCH. A field the partner's version spells differently (2.1.1) makes it a PUT of the whole session.

The worker delivers one session's rows in order, as one group: a PATCH never reaches the partner
before the PUT that created the session there (a pending PUT covers the later PATCHes: one PUT of
the latest state). A partner answering a PATCH with "unknown object" gets the whole session (PUT).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from evroam.core.codec import encode
from evroam.model.common import NotRepresentable
from evroam.modules.kit import Delivery, Outgoing, Skip
from evroam.modules.locations import LOCATIONS
from evroam.ocpi.converters import VersionConverters
from evroam.store.outbox import ObjectChange, PartnerTarget
from evroam.store.port import Operations

from .._shared import token_owner
from .repository import load_session

__all__ = ["SessionPusher", "periods_before"]


def periods_before(change: ObjectChange) -> int | None:
    """The ``"charging_periods"`` count a PATCH row recorded (periods held before it), if any."""
    if change.patch is None:
        return None
    value = msgspec.json.decode(change.patch).get("charging_periods")
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


@dataclass(frozen=True)
class SessionPusher:
    """Sessions: PUT of the current session, PATCH of changed fields and new charging periods."""

    module: str = "sessions"

    async def addressee(self, ops: Operations, change: ObjectChange) -> tuple[str, str] | None:
        """The eMSP of the session's token: the ``OCPI-to`` of the push (through a hub it matters)."""
        session = await load_session(ops, change.country_code, change.party_id, change.object_id)
        return None if session is None else token_owner(session.cdr_token)

    async def prepare(
        self,
        ops: Operations,
        conv: VersionConverters,
        target: PartnerTarget,
        change: ObjectChange,
        delivery: Delivery,
    ) -> Outgoing | Skip:
        session = await load_session(ops, change.country_code, change.party_id, change.object_id)
        if session is None:
            return Skip(f"not sent: session {change.object_id} is no longer stored")
        location = None
        if not conv.carries_owner("Session") and session.location is None:
            location = await LOCATIONS.lookups.load_location(
                ops, session.country_code, session.party_id, session.location_id
            )
        try:
            wire_session = conv.session_from_model(session, location)
        except NotRepresentable as exc:
            return Skip(f"not sent: not representable in OCPI {conv.version}: {exc}")
        path = (str(session.country_code), str(session.party_id), str(session.id))
        if delivery.method == "PATCH":
            body = _patch_body(wire_session, delivery.fields, periods_before(change))
            if body is not None:
                return Outgoing("PATCH", path, body)
        return Outgoing("PUT", path, wire_session)


def _patch_body(wire_session: Any, fields: tuple[str, ...], since: int | None) -> dict[str, Any] | None:
    """The PATCH body, or ``None`` when it cannot be made (the caller then PUTs the whole session)."""
    rendered = msgspec.json.decode(encode(wire_session), type=dict[str, msgspec.Raw])
    if "last_updated" not in rendered:
        return None
    body: dict[str, Any] = {}
    for name in fields:
        if name == "charging_periods":
            continue
        if name not in rendered:
            return None
        body[name] = rendered[name]
    if "charging_periods" in fields:
        if since is None:
            return None
        periods = msgspec.json.decode(rendered.get("charging_periods", b"[]"), type=list[msgspec.Raw])
        if len(periods) < since:  # fewer periods than before the change: only a PUT says that
            return None
        if periods[since:]:
            body["charging_periods"] = periods[since:]
    body["last_updated"] = rendered["last_updated"]
    return body
