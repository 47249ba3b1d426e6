"""The charger registry: which charge point ids may connect, with which password, and where they are.

Each charger is a stored document (kind ``ocpp_charger``): its id, the OCPI location it belongs to,
the map from its OCPP connectors to the location's EVSEs and connectors, the scrypt hash of its HTTP
Basic password (never the password), and what the central system saw of it: the protocol version it
spoke, its BootNotification, when it connected and disconnected, its last heartbeat.

The evse map's keys are OCPP numbers: ``N`` is connector ``N`` of a 1.6 charger or EVSE ``N`` of a
2.0.1 one; ``N.C`` is connector ``C`` of 2.0.1 EVSE ``N`` (when an EVSE has several connectors).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import msgspec

from evroam.core.clock import Clock
from evroam.core.codec import decoder_for, encode
from evroam.core.passwords import hash_password as _hash
from evroam.core.passwords import verify_password
from evroam.core.types import DateTime
from evroam.store.port import ObjectKey, Operations, Store

__all__ = [
    "CHARGER_KIND",
    "ChargerRecord",
    "ChargerRegistry",
    "EvseTarget",
    "RegistryError",
    "hash_password",
    "parse_evse_map",
    "verify_password",
]

CHARGER_KIND = "ocpp_charger"
SCOPE = ("ZZ", "OCPP")
"""The country_code / party_id of the central system's own documents (not OCPI objects)."""

_ID = re.compile(r"^[A-Za-z0-9._:*+-]{1,48}$")
_KEY = re.compile(r"^[1-9][0-9]{0,3}(\.[1-9][0-9]{0,3})?$")


class RegistryError(ValueError):
    """A charger id, evse map or password that cannot be registered."""


class EvseTarget(msgspec.Struct, frozen=True):
    """Where an OCPP connector is in OCPI: the EVSE's uid and the connector's id."""

    evse_uid: str
    connector_id: str


class ChargerRecord(msgspec.Struct, kw_only=True):
    id: str
    location_id: str
    evse_map: dict[str, EvseTarget]
    password_hash: str | None = None
    created: DateTime
    protocol: str | None = None
    """The OCPP version of its last connection (``ocpp1.6`` / ``ocpp2.0.1``)."""
    connected: bool = False
    connected_at: DateTime | None = None
    disconnected_at: DateTime | None = None
    last_seen: DateTime | None = None
    vendor: str | None = None
    model: str | None = None
    serial_number: str | None = None
    firmware_version: str | None = None
    booted_at: DateTime | None = None

    def target(self, number: int, connector: int | None = None) -> EvseTarget | None:
        """The OCPI EVSE and connector of OCPP connector (1.6) / EVSE (2.0.1) ``number`` (and 2.0.1
        ``connector``), or ``None`` when unmapped."""
        if connector is not None:
            found = self.evse_map.get(f"{number}.{connector}")
            if found is not None:
                return found
        return self.evse_map.get(str(number))

    def number_of(self, evse_uid: str, connector_id: str | None = None) -> tuple[int, int | None] | None:
        """The OCPP connector (1.6) / EVSE and connector (2.0.1) of an OCPI EVSE (and connector)."""
        for key, target in sorted(self.evse_map.items()):
            if target.evse_uid.casefold() != evse_uid.casefold():
                continue
            if connector_id is not None and target.connector_id.casefold() != connector_id.casefold():
                continue
            number, _, sub = key.partition(".")
            return int(number), int(sub) if sub else None
        return None

    def evse_uids(self) -> list[str]:
        return sorted({t.evse_uid for t in self.evse_map.values()})


def parse_evse_map(items: list[str] | tuple[str, ...]) -> dict[str, EvseTarget]:
    """``CONNECTOR=EVSE_UID/CONNECTOR_ID`` items (``CONNECTOR``: ``N`` or ``N.C``) as an evse map."""
    out: dict[str, EvseTarget] = {}
    for item in items:
        key, sep, target = item.partition("=")
        uid, slash, connector = target.partition("/")
        key = key.strip()
        if not sep or not slash or not uid.strip() or not connector.strip() or not _KEY.match(key):
            raise RegistryError(
                f"--evse-map {item!r}: expected CONNECTOR=EVSE_UID/CONNECTOR_ID (CONNECTOR: N or N.C)"
            )
        if key in out:
            raise RegistryError(f"--evse-map: connector {key} is mapped twice")
        out[key] = EvseTarget(uid.strip(), connector.strip())
    if not out:
        raise RegistryError("a charger needs at least one --evse-map CONNECTOR=EVSE_UID/CONNECTOR_ID")
    return out


def hash_password(password: str) -> str:
    """The stored form of a charger's password (:func:`evroam.core.passwords.hash_password`)."""
    if len(password) < 8:
        raise RegistryError("a charger password has at least 8 characters (OCPP: 16 to 40 recommended)")
    return _hash(password)


def _key(charger_id: str) -> ObjectKey:
    return ObjectKey(CHARGER_KIND, *SCOPE, charger_id)


_decoder = decoder_for(ChargerRecord)


class ChargerRegistry:
    """The registered chargers in the node's store."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def add(
        self,
        charger_id: str,
        *,
        location_id: str,
        evse_map: Mapping[str, EvseTarget],
        password: str | None,
        replace: bool = False,
    ) -> ChargerRecord:
        """Register a charger (``replace``: overwrite one of that id, keeping what was seen of it)."""
        if not _ID.match(charger_id):
            raise RegistryError(
                f"charge point id {charger_id!r}: 1 to 48 characters of letters, digits and ._:*+-"
            )
        existing = await self.get(charger_id)
        if existing is not None and not replace:
            raise RegistryError(f"charger {charger_id} is registered already (use --replace)")
        now = self._clock.now()
        record = ChargerRecord(
            id=charger_id,
            location_id=location_id,
            evse_map=dict(evse_map),
            password_hash=None if password is None else hash_password(password),
            created=now if existing is None else existing.created,
        )
        if existing is not None:
            for name in ("protocol", "vendor", "model", "serial_number", "firmware_version", "booted_at"):
                setattr(record, name, getattr(existing, name))
            record.disconnected_at = existing.disconnected_at
            record.last_seen = existing.last_seen
        await self.save(record)
        return record

    async def get(self, charger_id: str, ops: Operations | None = None) -> ChargerRecord | None:
        stored = await (ops or self._store).get(_key(charger_id))
        return None if stored is None else _decoder.decode(stored.payload)

    async def save(self, record: ChargerRecord, ops: Operations | None = None) -> None:
        await (ops or self._store).put(_key(record.id), encode(record), self._clock.now(), check_stale=False)

    async def remove(self, charger_id: str) -> bool:
        return await self._store.delete(_key(charger_id))

    async def all(self) -> list[ChargerRecord]:
        page = await self._store.find(CHARGER_KIND, country_code=SCOPE[0], party_id=SCOPE[1])
        return [_decoder.decode(item.payload) for item in page.items]
