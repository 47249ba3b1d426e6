"""What the oicp kit keeps in the store: the connection per role, its state, the OICP sessions
(Hubject's SessionID and what belongs to it), and on the EMP side the CDRs and pricing received."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from urllib.parse import urlsplit

import msgspec

from evroam.core.codec import decode, encode
from evroam.oicp.tls import TlsFiles
from evroam.store.outbox import RELAY_KIND, Relay
from evroam.store.port import ObjectKey, Operations

__all__ = [
    "CONNECTION_KIND",
    "HUB_PARTNER_ID",
    "Connection",
    "ConnectionState",
    "EmpCdr",
    "OicpSession",
    "delete_connection",
    "load_connection",
    "load_session",
    "load_state",
    "save_connection",
    "save_session",
    "save_state",
]

CONNECTION_KIND = "oicp_connection"
STATE_KIND = "oicp_state"
SESSION_KIND = "oicp_session"
CDR_KIND = "oicp_cdr"
PRICING_KIND = "oicp_pricing"
#: The outbox relay (and partner id of its rows) of a CPO's connection to the hub.
HUB_PARTNER_ID = "oicp:hub"
#: The modules whose changes a CPO's connection relays to the hub.
RELAYED = ("locations", "sessions", "cdrs", "tariffs")


class Connection(msgspec.Struct, frozen=True, kw_only=True):
    """One connection to the hub (``evroam oicp connect``)."""

    role: str
    """``"CPO"`` (an OperatorID) or ``"EMP"`` (a ProviderID)."""
    hub_url: str
    id: str
    """Our OperatorID / ProviderID, spelt as registered at Hubject."""
    name: str
    cert: str
    key: str
    ca: str
    public_url: str | None = None
    """Where the hub reaches our OICP endpoints (registered with the hub)."""
    hotline: str = "+4930000000"
    """CPO: ``HotlinePhoneNumber`` of every EVSE (OICP requires it, OCPI has none)."""
    hub_names: tuple[str, ...] = ()
    """Names the hub's client certificate carries (subject CN or alt name); none given: the host name
    of ``hub_url``. Our endpoints answer only a caller whose certificate is the hub's."""
    hub_fingerprints: tuple[str, ...] = ()
    """SHA-256 fingerprints (hex) of the hub's client certificates; when given, they decide alone."""

    @property
    def tls(self) -> TlsFiles:
        return TlsFiles(cert=self.cert, key=self.key, ca=self.ca)

    @property
    def expected_hub_names(self) -> tuple[str, ...]:
        """The names a caller's certificate must carry to be the hub (``hub_names`` or the hub's host)."""
        if self.hub_names:
            return self.hub_names
        host = urlsplit(self.hub_url).hostname
        return (host,) if host else ()


class ConnectionState(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What ``evroam oicp status`` shows: the last push and pull, errors, what the hub holds."""

    last_push: datetime | None = None
    last_push_operation: str | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    last_pull: datetime | None = None
    """EMP: the time of the last EVSE data pull (the next one's ``LastCall``)."""
    pushed: dict[str, list[str]] = msgspec.field(default_factory=dict)
    """CPO: the EvseIDs pushed per location (``cc/pid/location``)."""
    refused: int = 0


class OicpSession(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One Hubject session as we know it (key: the SessionID)."""

    id: str
    role: str
    evse_id: str | None = None
    identification: bytes | None = None
    """The OICP Identification, JSON."""
    provider_id: str | None = None
    operator_id: str | None = None
    transaction_id: str | None = None
    """CPO: the charger's transaction (= our OCPI session id)."""
    reservation: bool = False
    notifications: list[str] = msgspec.field(default_factory=list)
    progress_at: datetime | None = None
    """CPO: when the last Progress notification was sent (the node's clock: they are spaced by it)."""
    cdr_sent: bool = False


class EmpCdr(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A CDR the EMP received (pushed by the hub or pulled), with the price it computed."""

    session_id: str
    cdr: bytes
    """The OICP CDR as received, JSON."""
    received: datetime
    source: str
    """``"push"`` (E15) or ``"pull"`` (E10)."""
    currency: str | None = None
    price_excl_vat: Decimal | None = None
    product_id: str | None = None
    pricing_note: str | None = None


def _key(kind: str, object_id: str) -> ObjectKey:
    return ObjectKey(kind, "", "", object_id)


async def load_connection(ops: Operations, role: str) -> Connection | None:
    found = await ops.get(_key(CONNECTION_KIND, role.upper()))
    return None if found is None else decode(found.payload, Connection)


async def save_connection(ops: Operations, connection: Connection, now: datetime) -> None:
    """Store the connection; a CPO's also gets its outbox relay (the modules' changes go to the hub)."""
    await ops.put(_key(CONNECTION_KIND, connection.role), encode(connection), now, check_stale=False)
    if connection.role == "CPO":
        relay = Relay(
            partner_id=HUB_PARTNER_ID, name="OICP hub", modules=RELAYED, via="oicp", url=connection.hub_url
        )
        await ops.put(_key(RELAY_KIND, HUB_PARTNER_ID), encode(relay), now, check_stale=False)


async def delete_connection(ops: Operations, role: str) -> bool:
    if role.upper() == "CPO":
        await ops.delete(_key(RELAY_KIND, HUB_PARTNER_ID))
    return await ops.delete(_key(CONNECTION_KIND, role.upper()))


async def load_state(ops: Operations, role: str) -> ConnectionState:
    found = await ops.get(_key(STATE_KIND, role.upper()))
    return ConnectionState() if found is None else decode(found.payload, ConnectionState)


async def save_state(ops: Operations, role: str, state: ConnectionState, now: datetime) -> None:
    await ops.put(_key(STATE_KIND, role.upper()), encode(state), now, check_stale=False)


async def load_session(ops: Operations, role: str, session_id: str) -> OicpSession | None:
    found = await ops.get(_key(SESSION_KIND, f"{role}:{session_id}"))
    return None if found is None else decode(found.payload, OicpSession)


async def save_session(ops: Operations, session: OicpSession, now: datetime) -> None:
    await ops.put(_key(SESSION_KIND, f"{session.role}:{session.id}"), encode(session), now, check_stale=False)


async def load_emp_cdr(ops: Operations, session_id: str) -> EmpCdr | None:
    found = await ops.get(_key(CDR_KIND, session_id))
    return None if found is None else decode(found.payload, EmpCdr)


async def save_emp_cdr(ops: Operations, cdr: EmpCdr) -> None:
    await ops.put(_key(CDR_KIND, cdr.session_id), encode(cdr), cdr.received, check_stale=False)


async def list_emp_cdrs(ops: Operations) -> list[EmpCdr]:
    page = await ops.find(CDR_KIND)
    return [decode(item.payload, EmpCdr) for item in page.items]


async def load_pricing(ops: Operations) -> bytes | None:
    found = await ops.get(_key(PRICING_KIND, "all"))
    return None if found is None else found.payload


async def save_pricing(ops: Operations, payload: bytes, now: datetime) -> None:
    await ops.put(_key(PRICING_KIND, "all"), payload, now, check_stale=False)
