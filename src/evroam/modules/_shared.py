"""Helpers shared by the data-sharing modules (locations, tariffs): ownership, ids, stale counters,
PATCH application, and the cache of encoded wire objects the Sender lists splice together.

Nothing here knows a module or an OCPI version: the callers pass the converters and names.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from evroam.core.codec import encode
from evroam.core.errors import Forbidden, ValidationFailed, Violation
from evroam.model import Role
from evroam.modules.kit import OcpiAnswer
from evroam.ocpi.converters import converters
from evroam.registration.model import Partner
from evroam.store.port import Operations, PutOutcome, StoredObject

if TYPE_CHECKING:
    from evroam.core.clock import Clock
    from evroam.store.outbox import PartnerDirectory
    from evroam.store.port import Store

__all__ = [
    "DEFAULT_MAX_LIMIT",
    "STALE_MESSAGE",
    "PartyAdmin",
    "PartyPartners",
    "WireCache",
    "apply_patch",
    "check_url_id",
    "count_stale",
    "decode_each",
    "duplicates",
    "is_our_party",
    "is_party_scope",
    "partner_scopes",
    "party_scope",
    "patch_body",
    "patch_fields",
    "require_last_updated",
    "require_party",
    "splice_list",
    "stale_counts",
    "to_canonical",
    "token_owner",
    "wire_class",
    "write_answer",
]

log = logging.getLogger(__name__)

W = TypeVar("W", bound=msgspec.Struct)


# -- who may write what ------------------------------------------------------------------------------


def partner_owns(partner: Partner, country_code: str, party_id: str, role: Role | None = None) -> bool:
    """Whether ``country_code`` / ``party_id`` is one of the partner's parties (case-insensitive).

    With ``role``, only a party the partner holds in that role counts (or one whose role its
    credentials do not say, as in 2.1.1): one company may be the CPO on one platform and the eMSP on
    another, and each platform speaks only for its own role (see ``docs/registration.md``)."""
    cc, pid = country_code.casefold(), party_id.casefold()
    return any(
        r.country_code.casefold() == cc
        and r.party_id.casefold() == pid
        and (role is None or r.role is None or r.role == role)
        for r in partner.roles
    )


def is_our_party(parties: Iterable[tuple[str, str]], country_code: str, party_id: str) -> bool:
    """Whether ``country_code`` / ``party_id`` is one of ``parties`` (case-insensitive)."""
    key = (country_code.casefold(), party_id.casefold())
    return any((cc.casefold(), pid.casefold()) == key for cc, pid in parties)


class PartyAdmin:
    """Base of the modules' admin services, which manage the objects of our own ``parties``
    ``(country_code, party_id)``; ``partners`` tells which partners receive the pushes."""

    def __init__(
        self, store: Store, clock: Clock, partners: PartnerDirectory, parties: Sequence[tuple[str, str]]
    ) -> None:
        self._store = store
        self._clock = clock
        self._partners = partners
        self._parties = tuple(parties)

    @property
    def parties(self) -> tuple[tuple[str, str], ...]:
        return self._parties

    def _ours(self, country_code: str, party_id: str) -> bool:
        return is_our_party(self._parties, country_code, party_id)


def require_party(partner: Partner, country_code: str, party_id: str, role: Role | None = None) -> None:
    """Refuse (HTTP 403) a write or read under a party that is not the calling partner's (in ``role``).

    Callers check this first, before looking anything up: the answer must not tell a partner whether
    an object of another party exists."""
    if not partner_owns(partner, country_code, party_id, role):
        parties = ", ".join(str(r) for r in partner.roles) or "none"
        as_role = f" as {role.value}" if role is not None else ""
        raise Forbidden(
            f"{country_code}*{party_id} is not a party of partner {partner.name}{as_role} "
            f"(its parties: {parties})"
        )


def check_url_id(field: str, in_url: str, in_body: str | None) -> None:
    """2001 when the body names another object than the URL (ids compare case-insensitively)."""
    if in_body is not None and in_url.casefold() != str(in_body).casefold():
        raise ValidationFailed(
            [Violation(f"$.{field}", f"is {in_body!r} but the URL names {in_url!r}")],
            f"the body's {field} differs from the URL",
        )


def require_last_updated(patch: Any) -> None:
    """2001 when a PATCH body has no ``last_updated`` (required in every version by evroam)."""
    if getattr(patch, "last_updated", None) is None:
        raise ValidationFailed([Violation("$.last_updated", "a PATCH must carry last_updated")])


# -- stale updates -----------------------------------------------------------------------------------


def _stale_setting(module: str, partner_id: str | None = None) -> str:
    name = f"{module}.stale_updates"
    return name if partner_id is None else f"{name}.{partner_id}"


async def count_stale(ops: Operations, module: str, partner_id: str) -> None:
    """Count one ignored stale update (in total and for the partner), in the caller's transaction."""
    for name in (_stale_setting(module), _stale_setting(module, partner_id)):
        current = await ops.get_setting(name)
        await ops.set_setting(name, str(int(current or "0") + 1))


async def stale_counts(ops: Operations, module: str, partner_ids: Iterable[str]) -> dict[str, int]:
    """``{"total": n, <partner_id>: n, ...}``: the ignored stale updates counted so far."""
    out = {"total": int(await ops.get_setting(_stale_setting(module)) or "0")}
    for partner_id in partner_ids:
        out[partner_id] = int(await ops.get_setting(_stale_setting(module, partner_id)) or "0")
    return out


# -- PATCH -------------------------------------------------------------------------------------------


def patch_fields(patch: msgspec.Struct) -> dict[str, Any]:
    """The fields a PATCH body sets (``None`` = left out: a PATCH cannot remove data)."""
    return {name: value for name in patch.__struct_fields__ if (value := getattr(patch, name)) is not None}


def apply_patch(
    current: W,
    patch: msgspec.Struct,
    to_wire: Callable[[W], Any],
    to_model: Callable[[Any], W],
) -> W:
    """``current`` (a canonical object) with a version's PATCH body applied.

    The patch is applied to the version's wire form of ``current``; only the canonical fields that this
    changes are then taken over, so canonical data the version cannot carry (e.g. 2.3.0-only fields
    under a 2.2.1 PATCH) is kept untouched.
    """
    changes = patch_fields(patch)
    if not changes:
        return current
    direct = _direct_changes(current, changes)
    if direct is not None:
        return msgspec.structs.replace(current, **direct)
    wire = to_wire(current)
    known = {name: value for name, value in changes.items() if name in wire.__struct_fields__}
    baseline = to_model(wire)
    patched = to_model(msgspec.structs.replace(wire, **known))
    changed = {
        name: getattr(patched, name)
        for name in patched.__struct_fields__
        if getattr(patched, name) != getattr(baseline, name)
    }
    return msgspec.structs.replace(current, **changed) if changed else current


def _direct_changes(current: msgspec.Struct, changes: dict[str, Any]) -> dict[str, Any] | None:
    """The canonical values of a PATCH made only of timestamps and enum members that the canonical
    object holds under the same name (e.g. an EVSE ``status`` + ``last_updated``); ``None`` otherwise.
    Saves the round trip through the version's converters on the hottest PATCH."""
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in current.__struct_fields__:
            return None
        held = getattr(current, name)
        if isinstance(value, datetime) and isinstance(held, datetime):
            out[name] = value
        elif isinstance(value, enum.Enum) and isinstance(held, enum.Enum) and isinstance(value.value, str):
            try:
                out[name] = type(held)(value.value)
            except ValueError:
                return None
        else:
            return None
    return out


# -- encoded wire objects ----------------------------------------------------------------------------


class WireCache:
    """Encoded wire JSON of stored objects, per OCPI version.

    An entry is keyed by the object's kind and creation ``seq`` and remembers the document bytes it was
    rendered from: it is used only while the stored document is byte-for-byte the same, so a change
    made by any process (another worker on the same database) is never served stale. Clears itself
    when it grows past ``max_entries``.
    """

    def __init__(self, max_entries: int = 200_000) -> None:
        self._entries: dict[tuple[str, str, int], tuple[bytes, bytes]] = {}
        self._max = max_entries

    def __len__(self) -> int:
        return len(self._entries)

    def render(self, version: str, item: StoredObject, encode_wire: Callable[[bytes], bytes]) -> bytes:
        """The wire bytes of ``item`` for ``version``; ``encode_wire(document)`` renders a miss."""
        key = (version, item.kind, item.seq)
        found = self._entries.get(key)
        if found is not None and found[0] == item.payload:
            return found[1]
        data = encode_wire(item.payload)
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[key] = (item.payload, data)
        return data

    def clear(self) -> None:
        self._entries.clear()


def splice_list(
    cache: WireCache,
    version: str,
    items: Iterable[StoredObject],
    encode_wire: Callable[[bytes], bytes],
    *,
    skip: type[Exception] | tuple[type[Exception], ...] = (),
) -> msgspec.Raw:
    """A JSON array of the items' wire bytes, ready to be the envelope's ``data``.

    An item whose rendering raises one of ``skip`` (e.g. ``NotRepresentable`` in an older version)
    is left out and logged.
    """
    parts: list[bytes] = []
    for item in items:
        try:
            parts.append(cache.render(version, item, encode_wire))
        except skip as exc:
            log.warning("%s %s cannot be shown in OCPI %s: %s", item.kind, item.object_id, version, exc)
    return msgspec.Raw(b"[" + b",".join(parts) + b"]")


# -- imports -----------------------------------------------------------------------------------------


def decode_each(data: bytes, item_type: Any, what: str) -> tuple[list[Any | None], list[Violation]]:
    """Decode a JSON array item by item, so that the violations of *every* item are reported.

    Returns the decoded items (``None`` where an item is invalid) and the violations, whose paths
    start with the item's index (``$[3].evses[0].uid``).
    """
    from evroam.core.codec import decode
    from evroam.core.errors import InvalidJson

    try:
        raw_items: list[msgspec.Raw] = decode(data, list[msgspec.Raw])
    except ValidationFailed:
        raise ValidationFailed([Violation("$", f"expected a JSON array of {what} objects")]) from None
    except InvalidJson as exc:
        raise ValidationFailed([Violation("$", f"not valid JSON: {exc.message}")]) from None
    items: list[Any | None] = []
    violations: list[Violation] = []
    for i, raw in enumerate(raw_items):
        try:
            items.append(decode(bytes(raw), item_type))
        except ValidationFailed as exc:
            items.append(None)
            violations.extend(
                Violation(f"$[{i}]" + v.path.removeprefix("$"), v.message) for v in exc.violations
            )
    return items, violations


def duplicates(values: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The ``(path, key)`` pairs whose case-folded key was already seen earlier in ``values``."""
    seen: set[str] = set()
    out = []
    for path, key in values:
        folded = key.casefold()
        if folded in seen:
            out.append((path, key))
        seen.add(folded)
    return out


# -- who an object concerns (sessions, CDRs) ---------------------------------------------------------

_PARTY_SCOPE = "party:"


def party_scope(country_code: str, party_id: str) -> str:
    """The store ``partner_id`` under which one of *our* objects that concerns another party is kept
    (a session or CDR, scoped by the party that owns its token): ``party:<cc>*<pid>``, case-folded.

    It never collides with a partner id (those name where a received object came from), so a Sender
    list can select "ours, concerning these parties" with one indexed ``partners=`` filter.
    """
    return f"{_PARTY_SCOPE}{country_code.casefold()}*{party_id.casefold()}"


def is_party_scope(partner_id: str | None) -> bool:
    """Whether a stored ``partner_id`` is a :func:`party_scope` (one of our objects) rather than the id
    of the partner the object came from."""
    return partner_id is not None and partner_id.startswith(_PARTY_SCOPE)


def partner_scopes(partner: Partner, role: Role | None = None) -> list[str]:
    """The :func:`party_scope` of each of the partner's parties (in ``role``, see :func:`partner_owns`):
    what a Sender list may show it."""
    return list(
        dict.fromkeys(
            party_scope(r.country_code, r.party_id)
            for r in partner.roles
            if role is None or r.role is None or r.role == role
        )
    )


def token_owner(token: Any) -> tuple[str, str] | None:
    """``(country_code, party_id)`` of a CdrToken's owner, or ``None`` when it does not say (2.1.1)."""
    cc, pid = getattr(token, "country_code", None), getattr(token, "party_id", None)
    return (str(cc), str(pid)) if cc and pid else None


class PartyPartners:
    """A :class:`~evroam.store.outbox.PartnerDirectory` that narrows another one to the partners holding
    one party (``country_code`` / ``party_id``, case-insensitive; in ``role`` when given): a session or a
    CDR is pushed to the eMSP whose token it concerns, never to every partner that receives the module."""

    def __init__(self, inner: Any, country_code: str, party_id: str, role: Role | None = None) -> None:
        self._inner = inner
        self._party = (country_code, party_id)
        self._role = role

    async def receivers(self, ops: Operations, module: str) -> list[Any]:
        from evroam.registration.repository import PARTNER_KIND, decode_partner

        targets = await self._inner.receivers(ops, module)
        if not targets:
            return []
        partners: list[Partner] = [
            decode_partner(item.payload) for item in (await ops.find(PARTNER_KIND)).items
        ]
        holders = {partner.id for partner in partners if partner_owns(partner, *self._party, self._role)}
        # addressed to the party itself (OCPI-to), which matters when the partner is a hub reaching it
        cc, pid = self._party
        return [
            msgspec.structs.replace(target, country_code=cc, party_id=pid)
            for target in targets
            if target.partner_id in holders or target.via is not None  # a relay decides for itself
        ]

    async def target(self, ops: Operations, partner_id: str, module: str) -> Any:
        return await self._inner.target(ops, partner_id, module)


def patch_body(wire_object: Any, fields: Sequence[str]) -> dict[str, msgspec.Raw] | None:
    """The body of a pushed PATCH: the current values of ``fields`` of ``wire_object``, exactly as they
    would be encoded, plus ``last_updated``; ``None`` when a field has no wire name of the same spelling
    in this version (the pusher then PUTs the scope instead)."""
    rendered = msgspec.json.decode(encode(wire_object), type=dict[str, msgspec.Raw])
    if "last_updated" not in rendered or any(name not in rendered for name in fields):
        return None
    body = {name: rendered[name] for name in fields}
    body["last_updated"] = rendered["last_updated"]
    return body


# -- answers of the HTTP bindings ----------------------------------------------------------------------

DEFAULT_MAX_LIMIT = 500
"""The largest page the Sender list returns (``X-Limit``)."""

STALE_MESSAGE = "older than the stored object (last_updated): acknowledged and ignored"


def write_answer(outcome: PutOutcome) -> OcpiAnswer:
    """HTTP 201 for a created object, 200 for an update and for an ignored stale one."""
    if outcome is PutOutcome.CREATED:
        return OcpiAnswer(http_status=201)
    if outcome is PutOutcome.STALE:
        return OcpiAnswer(status_message=STALE_MESSAGE)
    return OcpiAnswer()


# -- pull specs of the modules the versions' converters know ------------------------------------------------


def wire_class(model: str) -> Callable[[str], Any]:
    """A :class:`~evroam.modules.kit.PullSpec`'s ``wire_type`` for objects the versions' converters know
    (``"Location"``): the version's wire class, ``None`` where the version has none."""

    def wire_type(version: str) -> Any:
        return converters(version).models.get(model)

    return wire_type


def to_canonical(method: str) -> Callable[[str, Any, str, str], Any]:
    """A :class:`~evroam.modules.kit.PullSpec`'s ``to_model`` through the versions' converters' ``method``
    (``"location_to_model"``)."""

    def convert(version: str, item: Any, country_code: str, party_id: str) -> Any:
        return getattr(converters(version), method)(item, country_code=country_code, party_id=party_id)

    return convert
