"""The OCPI <-> OICP loss report: what of an object survives the way to the other protocol, and why not.

Pure and I/O-free. Each ``report_*`` function takes one object, converts it with evroam's own converters
(:mod:`evroam.oicp.convert`) and then walks **every field present in the input** (for an OCPI object, the
canonical object's fields that are set, recursively; for an OICP message, every key present in the
parsed JSON) and classifies it by comparing the input with what the converter produced:

* ``carried``: the value arrives unchanged (``target`` names where);
* ``changed``: it arrives truncated, rounded, split or approximated (``reason`` says how);
* ``dropped``: it does not arrive (``reason`` says why);
* ``supplied`` (target side only): a field the other protocol requires that the input has no source for.

A field the rules below do not know raises :class:`UnmappedField`: a new field can never be lost
silently. Identifier remarks (eMI3 EVSE IDs, OperatorID <-> party, DIN IDs) are the object's ``notes``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

import msgspec

from evroam.core.types import CiString, DateTime
from evroam.model.cdrs import CDR
from evroam.model.enums import ConnectorFormat, PowerType, Status, TariffDimensionType, WhitelistType
from evroam.model.locations import EVSE, Connector, Location
from evroam.model.sessions import Session
from evroam.model.tariffs import Tariff
from evroam.model.tokens import Token
from evroam.oicp import codec
from evroam.oicp import messages as m
from evroam.oicp.convert import (
    OperatorProfile,
    charge_detail_record,
    evse_records,
    identification_of,
    locations_of,
    plug_of,
    pricing_record_of,
    progress_notification,
    status_from_oicp,
    status_to_oicp,
    tariff_of,
    token_of,
)
from evroam.oicp.ids import (
    EVCO_ID,
    SESSION_ID,
    evse_operator,
    normalize_id,
    party_of_operator,
    party_of_provider,
)

__all__ = [
    "REPORT_VERSION",
    "Entry",
    "Fate",
    "LossReport",
    "ObjectReport",
    "UnmappedField",
    "profile_for",
    "report_authorize_remote_start",
    "report_authorize_start",
    "report_cdr",
    "report_evse_data",
    "report_evse_status",
    "report_identification",
    "report_location",
    "report_oicp_cdr",
    "report_pricing_product",
    "report_session",
    "report_tariff",
    "report_token",
]

#: The version of the ``--json`` structure (:meth:`LossReport.as_dict`).
REPORT_VERSION = 1


class Fate(StrEnum):
    CARRIED = "carried"
    CHANGED = "changed"
    DROPPED = "dropped"
    SUPPLIED = "supplied"


@dataclass(frozen=True, slots=True)
class Entry:
    """One field of the input (or, ``supplied``, of the output) and what became of it."""

    field: str
    fate: Fate
    target: str | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"field": self.field, "fate": self.fate.value, "target": self.target, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class ObjectReport:
    """The analysis of one object: ``protocol`` and ``kind`` of the input, the direction, every field."""

    protocol: str
    kind: str
    id: str
    direction: str
    entries: tuple[Entry, ...]
    notes: tuple[str, ...] = ()

    def count(self, fate: Fate) -> int:
        return sum(1 for e in self.entries if e.fate is fate)

    def fate_of(self, path: str) -> Entry | None:
        """The entry that covers input field ``path`` (itself or a parent field), if any."""
        for entry in self.entries:
            if entry.fate is not Fate.SUPPLIED and _covers(entry.field, path):
                return entry
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "kind": self.kind,
            "id": self.id,
            "direction": self.direction,
            "fields": [e.as_dict() for e in self.entries],
            "notes": list(self.notes),
            "counts": {f.value: self.count(f) for f in Fate},
        }


def _covers(entry_field: str, path: str) -> bool:
    return path == entry_field or path.startswith(entry_field + ".") or path.startswith(entry_field + "[")


@dataclass(frozen=True, slots=True)
class LossReport:
    """Every analysed object, with totals; :meth:`as_dict` is the documented ``--json`` structure."""

    objects: tuple[ObjectReport, ...]

    def totals(self) -> dict[str, int]:
        out = {"objects": len(self.objects)}
        for fate in Fate:
            out[fate.value] = sum(o.count(fate) for o in self.objects)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "report_version": REPORT_VERSION,
            "objects": [o.as_dict() for o in self.objects],
            "totals": self.totals(),
        }

    def text(self) -> str:
        """The human form: one block per object (changed, dropped and supplied fields with their
        reasons, then the notes) and a summary line."""
        lines: list[str] = []
        for obj in self.objects:
            lines.append(f"{obj.protocol} {obj.kind} {obj.id} ({obj.direction})")
            for e in obj.entries:
                if e.fate is Fate.CARRIED:
                    continue
                target = f" -> {e.target}" if e.target and e.target != e.field else ""
                lines.append(f"  {e.fate.value:<8} {e.field}{target}: {e.reason}")
            for note in obj.notes:
                lines.append(f"  note     {note}")
            lines.append(
                f"  ({obj.count(Fate.CARRIED)} carried, {obj.count(Fate.CHANGED)} changed, "
                f"{obj.count(Fate.DROPPED)} dropped, {obj.count(Fate.SUPPLIED)} supplied)"
            )
        t = self.totals()
        lines.append(
            f"{t['objects']} objects: {t['carried']} fields carried, {t['changed']} changed, "
            f"{t['dropped']} dropped ({t['supplied']} supplied on the other side)"
        )
        return "\n".join(lines)


class UnmappedField(Exception):
    """A field present in the input that the report neither maps nor names as dropped."""

    def __init__(self, kind: str, path: str) -> None:
        super().__init__(f"{kind}: field {path!r} is unknown to the loss report (add a rule for it)")
        self.kind = kind
        self.path = path


# -- the walk --------------------------------------------------------------------------------------------

Handler = Callable[[Any, str, Any, tuple[int, ...]], Iterable[Entry]]
Gate = Callable[[Any, tuple[int, ...]], str | None]
DESCEND = object()
"""Rule for a container: its members are walked (a list's items get ``[]`` in the rule's pattern)."""


def _items(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, msgspec.Struct):
        for f in msgspec.structs.fields(node):
            value = getattr(node, f.name)
            if value is None or (f.default is not msgspec.NODEFAULT and value == f.default):
                continue
            yield f.encode_name, value
    elif isinstance(node, Mapping):
        for key, value in node.items():
            if value is not None:
                yield str(key), value


def _walk(
    kind: str,
    rules: Mapping[str, Any],
    gates: Mapping[str, Gate],
    node: Any,
    ctx: Any,
    path: str,
    pattern: str,
    idx: tuple[int, ...],
    quiet: bool,
) -> Iterator[Entry]:
    gate = gates.get(pattern)
    if gate is not None and not quiet:
        reason = gate(ctx, idx)
        if reason is not None:
            for key, _ in _items(node):
                yield Entry(f"{path}.{key}" if path else key, Fate.DROPPED, None, reason)
            quiet = True
    for key, value in _items(node):
        p = f"{path}.{key}" if path else key
        pat = f"{pattern}.{key}" if pattern else key
        if pat not in rules:
            raise UnmappedField(kind, p)
        rule = rules[pat]
        if rule is not DESCEND:
            if not quiet:
                yield from rule(ctx, p, value, idx)
            continue
        if isinstance(value, list | tuple | Mapping) and not value:
            if not quiet:
                yield Entry(p, Fate.CARRIED, None, "empty: nothing to carry")
            continue
        if isinstance(value, list | tuple):
            for i, item in enumerate(value):
                ip, ipat = f"{p}[{i}]", pat + "[]"
                item_rule = rules.get(ipat)
                if item_rule is None and isinstance(item, msgspec.Struct | Mapping):
                    yield from _walk(kind, rules, gates, item, ctx, ip, ipat, (*idx, i), quiet)
                elif item_rule is None or item_rule is DESCEND:
                    raise UnmappedField(kind, ip)
                elif not quiet:
                    yield from item_rule(ctx, ip, item, (*idx, i))
        else:
            yield from _walk(kind, rules, gates, value, ctx, p, pat, idx, quiet)


def _analyse(
    kind: str, rules: Mapping[str, Any], node: Any, ctx: Any, gates: Mapping[str, Gate] | None = None
) -> list[Entry]:
    return list(_walk(kind, rules, gates or {}, node, ctx, "", "", (), False))


# -- comparing -------------------------------------------------------------------------------------------


def _show(value: Any) -> str:
    if isinstance(value, StrEnum):
        return repr(value.value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    text = repr(str(value)) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _plain(value: Any) -> Any:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, bool):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            return value
    return value


def _same(a: Any, b: Any) -> bool:
    x, y = _plain(a), _plain(b)
    if isinstance(x, Decimal) and isinstance(y, str):
        y = _decimal(y)
    if isinstance(y, Decimal) and isinstance(x, str):
        x = _decimal(x)
    return bool(x == y)


def _decimal(value: Any) -> Decimal | Any:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return value


def _entry(path: str, target: str, value: Any, out: Any, how: str | None = None) -> Entry:
    if _same(value, out):
        return Entry(path, Fate.CARRIED, target)
    return Entry(path, Fate.CHANGED, target, how or f"{_show(value)} becomes {_show(out)}")


def _drop(reason: str) -> Handler:
    def rule(ctx: Any, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
        return [Entry(path, Fate.DROPPED, None, reason)]

    return rule


def _carry(target: str, read: Callable[[Any, tuple[int, ...]], Any], missing: str) -> Handler:
    """Carried to ``target`` (``{0}``, ``{1}``: the list indices) if ``read`` finds the same value there."""

    def rule(ctx: Any, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
        out = read(ctx, idx)
        if out is None:
            return [Entry(path, Fate.DROPPED, None, missing)]
        return [_entry(path, target.format(*idx), value, out)]

    return rule


def _truncating(target: str, read: Callable[[Any, tuple[int, ...]], Any], limit: int, what: str) -> Handler:
    """Like :func:`_carry` for a string field that the target caps at ``limit`` characters."""

    def rule(ctx: Any, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
        out = read(ctx, idx)
        tgt = target.format(*idx)
        if out is None:
            return [Entry(path, Fate.DROPPED, None, "not written by the converter")]
        if _same(value, out):
            return [Entry(path, Fate.CARRIED, tgt)]
        if len(str(value)) > limit and str(value).startswith(str(out)):
            return [
                Entry(
                    path, Fate.CHANGED, tgt, f"{what} is {len(str(value))} characters: truncated to {limit}"
                )
            ]
        return [Entry(path, Fate.CHANGED, tgt, f"{_show(value)} becomes {_show(out)}")]

    return rule


def _supplied(target: str, reason: str) -> Entry:
    return Entry(target, Fate.SUPPLIED, target, reason)


_PROFILE = "mandatory in OICP, no OCPI source: taken from the connection's operator profile"
_NO_OICP = "no OICP field"
_NO_OCPI = "no OCPI field"
_MONEY = "OICP CDRs carry no money (prices come from Hubject's contract and pricing data)"
_STAMP = "OICP carries no per-object timestamp (Hubject sets lastUpdate)"


def profile_for(country_code: str, party_id: str, name: str | None = None) -> OperatorProfile:
    """The profile used when no OICP connection is configured: the owner's party as the OperatorID."""
    operator = f"{country_code.upper()}*{party_id.upper()}"
    return OperatorProfile(operator_id=operator, operator_name=name or operator)


def _id_note_evse(evse_id: str, operator_id: str | None = None) -> str:
    operator = evse_operator(evse_id)
    if operator is None:
        return f"EvseID {evse_id!r} is no eMI3 or DIN EVSE ID"
    if evse_id.startswith("+") or operator.startswith("+") or operator[:1].isdigit():
        return f"EvseID {evse_id!r} is a DIN ID (operator {operator}): no OCPI party form"
    cc, pid = operator[:2], operator[2:]
    note = f"EvseID {evse_id!r} is an eMI3 ID of OperatorID {cc}*{pid} = party {cc}/{pid}"
    if operator_id is not None and normalize_id(operator_id) != operator:
        note += f", not under the OperatorID {operator_id} (Hubject answers 018)"
    return note


def _operator_note(operator_id: str) -> str:
    try:
        cc, pid = party_of_operator(operator_id)
    except ValueError:
        return f"OperatorID {operator_id!r} is a DIN ID: no OCPI party form (map it by configuration)"
    return f"OperatorID {operator_id!r} = OCPI party {cc}/{pid}"


# -- OCPI Location -> OICP EvseDataRecord ----------------------------------------------------------------


@dataclass
class _LocationCtx:
    location: Location
    profile: OperatorProfile
    records: list[m.EvseDataRecord | None]
    why_not: list[str | None]
    back: list[EVSE | None]
    plug_at: list[list[int | None]]
    any_record: m.EvseDataRecord | None = None
    shared_point: m.EvseDataRecord | None = None
    gone: str | None = None


def _rec(ctx: _LocationCtx) -> m.EvseDataRecord:
    """A record of the location (its location-level fields are the same in every record); the walk
    reaches location-level rules only when there is one (else the object's gate drops them all)."""
    assert ctx.any_record is not None
    return ctx.any_record


def _loc_gate(ctx: _LocationCtx, idx: tuple[int, ...]) -> str | None:
    return ctx.gone


def _evse_gate(ctx: _LocationCtx, idx: tuple[int, ...]) -> str | None:
    return ctx.why_not[idx[0]]


def _address(ctx: _LocationCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    r = _rec(ctx)
    street, number = r.Address.Street, r.Address.HouseNum
    target = "Address.Street + Address.HouseNum"
    if f"{street} {number}".strip() == str(value).strip():
        return [Entry(path, Fate.CARRIED, target)]
    if not number:
        return [
            Entry(path, Fate.CHANGED, target, f"no house number found: Street {street!r}, HouseNum empty")
        ]
    return [Entry(path, Fate.CHANGED, target, f"split into Street {street!r} and HouseNum {number!r}")]


def _coordinate(axis: str) -> Handler:
    def rule(ctx: _LocationCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
        r = ctx.records[idx[0]] if idx else ctx.shared_point
        if r is None:
            return [
                Entry(path, Fate.DROPPED, None, "every EVSE has its own coordinates (one point per record)")
            ]
        dd = r.GeoCoordinates.DecimalDegree
        assert dd is not None
        out = dd.Latitude if axis == "latitude" else dd.Longitude
        target = f"GeoCoordinates.DecimalDegree.{axis.capitalize()}"
        if _same(value, out):
            return [Entry(path, Fate.CARRIED, target)]
        return [Entry(path, Fate.CHANGED, target, f"OICP has at most 6 decimals: {value} rounded to {out}")]

    return rule


def _time_zone(ctx: _LocationCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    offset = _rec(ctx).Address.TimeZone
    if offset is None:
        return [Entry(path, Fate.DROPPED, None, f"{value!r} is no known IANA zone")]
    return [
        Entry(
            path,
            Fate.CHANGED,
            "Address.TimeZone",
            f"the IANA zone becomes the offset {offset} of the moment of conversion (it changes with DST)",
        )
    ]


def _parking_type(ctx: _LocationCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    if _rec(ctx).AccessibilityLocation is None:
        return [Entry(path, Fate.DROPPED, None, f"OICP AccessibilityLocation has no value for {value}")]
    return [Entry(path, Fate.CARRIED, "AccessibilityLocation")]


def _name(ctx: _LocationCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    r = _rec(ctx)
    return [
        _entry(
            path,
            "ChargingStationNames[0].value",
            value,
            r.ChargingStationNames[0].value,
            "OICP names are at most 150 characters: truncated",
        )
    ]


def _operator_name(ctx: _LocationCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    if value == ctx.profile.operator_name:
        return [Entry(path, Fate.CARRIED, "OperatorEvseData.OperatorName")]
    return [
        Entry(
            path,
            Fate.DROPPED,
            None,
            f"OperatorName is the connection profile's {ctx.profile.operator_name!r}",
        )
    ]


def _owner(ctx: _LocationCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    operator = normalize_id(ctx.profile.operator_id)
    party = f"{ctx.location.country_code}{ctx.location.party_id}".upper()
    if operator == party:
        return [Entry(path, Fate.CARRIED, "OperatorEvseData.OperatorID")]
    return [
        Entry(path, Fate.CHANGED, "OperatorEvseData.OperatorID", f"pushed under {ctx.profile.operator_id}")
    ]


def _opening_regular(ctx: _LocationCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    r = _rec(ctx)
    days = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    written = {(t.on.value, p.begin, p.end) for t in r.OpeningTimes or () for p in t.Period}
    day = days[int(value.weekday) - 1] if 1 <= int(value.weekday) <= 7 else "?"
    if (day, value.period_begin, value.period_end) in written:
        return [Entry(path, Fate.CARRIED, "OpeningTimes")]
    if r.IsOpen24Hours:
        return [Entry(path, Fate.DROPPED, None, "the record says IsOpen24Hours")]
    return [Entry(path, Fate.DROPPED, None, "not in the record's OpeningTimes")]


def _twentyfourseven(ctx: _LocationCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    r = _rec(ctx)
    return [_entry(path, "IsOpen24Hours", value, r.IsOpen24Hours)]


def _evse_status(ctx: _LocationCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    status = Status(value)
    out = status_to_oicp(status)
    if out is None:
        return [Entry(path, Fate.DROPPED, None, "REMOVED: the EVSE is deleted from OICP (ActionType delete)")]
    also = [s.value for s in Status if s is not status and status_to_oicp(s) is out]
    if not also:
        return [Entry(path, Fate.CARRIED, "EvseStatus")]
    return [
        Entry(
            path,
            Fate.CHANGED,
            "EvseStatus",
            f"OICP {out.value} cannot tell {status.value} from {', '.join(also)}",
        )
    ]


_CAPABILITIES: dict[str, tuple[str, Callable[[m.EvseDataRecord], bool]]] = {
    "RFID_READER": (
        "AuthenticationModes",
        lambda r: m.AuthenticationMode.NFC_RFID_CLASSIC in r.AuthenticationModes,
    ),
    "REMOTE_START_STOP_CAPABLE": (
        "AuthenticationModes",
        lambda r: m.AuthenticationMode.REMOTE in r.AuthenticationModes,
    ),
    "RESERVABLE": ("ValueAddedServices", lambda r: m.ValueAddedService.RESERVATION in r.ValueAddedServices),
}
_PAYING = frozenset({"CREDIT_CARD_PAYABLE", "DEBIT_CARD_PAYABLE", "CONTACTLESS_CARD_SUPPORT", "PED_TERMINAL"})


def _capability(ctx: _LocationCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    r = ctx.records[idx[0]]
    assert r is not None
    name = str(value)
    if name in _PAYING:
        if m.AuthenticationMode.DIRECT_PAYMENT in r.AuthenticationModes:
            return [
                Entry(
                    path,
                    Fate.CHANGED,
                    "AuthenticationModes",
                    "every payment capability is one 'Direct Payment'",
                )
            ]
        return [Entry(path, Fate.DROPPED, None, "not written")]
    known = _CAPABILITIES.get(name)
    if known is None:
        return [Entry(path, Fate.DROPPED, None, f"OICP has no value for {name}")]
    target, present = known
    if present(r):
        return [Entry(path, Fate.CARRIED, target)]
    return [Entry(path, Fate.DROPPED, None, "not written")]


def _slot(ctx: _LocationCtx, idx: tuple[int, ...]) -> int:
    """The position of a (plugged) connector's plug, hence of its ChargingFacility."""
    k = ctx.plug_at[idx[0]][idx[1]]
    assert k is not None
    return k


def _facility(ctx: _LocationCtx, idx: tuple[int, ...]) -> m.ChargingFacility:
    r = ctx.records[idx[0]]
    assert r is not None
    return r.ChargingFacilities[_slot(ctx, idx)]


def _plugged(rule: Handler) -> Handler:
    """A power field of a connector: the converter writes a ChargingFacility only for a connector it puts
    in ``Plugs``, at the same position (OICP does not pair plugs and facilities, a reader pairs them by
    position)."""

    def checked(ctx: _LocationCtx, path: str, value: Any, idx: tuple[int, ...]) -> Iterable[Entry]:
        if ctx.plug_at[idx[0]][idx[1]] is not None:
            return rule(ctx, path, value, idx)
        return [Entry(path, Fate.DROPPED, None, "the connector has no OICP plug: no ChargingFacility")]

    return checked


def _plug_part(part: str) -> Handler:
    def rule(ctx: _LocationCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
        evse = ctx.location.evses[idx[0]] if ctx.location.evses else None
        assert evse is not None
        connector = evse.connectors[idx[1]]
        plug = plug_of(connector)
        if plug is None:
            return [
                Entry(
                    path,
                    Fate.DROPPED,
                    None,
                    f"no OICP plug for {connector.standard} {connector.format}: not in Plugs",
                )
            ]
        k = ctx.plug_at[idx[0]][idx[1]]
        target = f"Plugs[{k}]"
        back = ctx.back[idx[0]]
        if back is None or k is None or k >= len(back.connectors):
            return [Entry(path, Fate.CHANGED, target, f"sent as {plug.value!r}; not read back")]
        got = getattr(back.connectors[k], part)
        if _same(value, got):
            return [Entry(path, Fate.CARRIED, target)]
        return [
            Entry(
                path,
                Fate.CHANGED,
                target,
                f"OICP {plug.value!r} is read back as {part} {_show(got)}: one plug, several OCPI values",
            )
        ]

    return rule


def _power_type(ctx: _LocationCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    f = _facility(ctx, idx)
    target = f"ChargingFacilities[{_slot(ctx, idx)}].PowerType"
    if f.PowerType.value == str(value):
        return [Entry(path, Fate.CARRIED, target)]
    return [Entry(path, Fate.CHANGED, target, f"OICP has no {value}: sent as {f.PowerType.value}")]


def _voltage(ctx: _LocationCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    f = _facility(ctx, idx)
    if f.Voltage is None:
        return [Entry(path, Fate.DROPPED, None, f"OICP Voltage is at most 999: {value} V left out")]
    return [_entry(path, f"ChargingFacilities[{_slot(ctx, idx)}].Voltage", value, f.Voltage)]


def _amperage(ctx: _LocationCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    f = _facility(ctx, idx)
    if f.Amperage is None:
        return [Entry(path, Fate.DROPPED, None, f"OICP Amperage is at most 99: {value} A left out")]
    return [_entry(path, f"ChargingFacilities[{_slot(ctx, idx)}].Amperage", value, f.Amperage)]


def _power(ctx: _LocationCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    f = _facility(ctx, idx)
    target = f"ChargingFacilities[{_slot(ctx, idx)}].Power"
    if Decimal(f.Power) * 1000 == Decimal(value):
        return [Entry(path, Fate.CARRIED, target + " (kW)")]
    return [
        Entry(
            path,
            Fate.CHANGED,
            target,
            f"OICP Power is whole kW (at most 999): {value} W sent as {f.Power} kW",
        )
    ]


_LOCATION_RULES: dict[str, Any] = {
    "country_code": _owner,
    "party_id": _owner,
    "id": _truncating("ChargingStationId", lambda c, i: _rec(c).ChargingStationId, 50, "the id"),
    "publish": _drop("publish is false: the location is not pushed to OICP"),
    "publish_allowed_to": _drop("OICP has no per-token visibility"),
    "name": _name,
    "address": _address,
    "city": _truncating("Address.City", lambda c, i: _rec(c).Address.City, 50, "the city"),
    "postal_code": _carry("Address.PostalCode", lambda c, i: _rec(c).Address.PostalCode, "not written"),
    "state": _truncating("Address.Region", lambda c, i: _rec(c).Address.Region, 50, "the state"),
    "country": _carry("Address.Country", lambda c, i: _rec(c).Address.Country, "not written"),
    "coordinates": DESCEND,
    "coordinates.latitude": _coordinate("latitude"),
    "coordinates.longitude": _coordinate("longitude"),
    "related_locations": _drop("not written (GeoChargingPointEntrance is not filled)"),
    "parking_type": _parking_type,
    "evses": DESCEND,
    "parking_places": _drop(_NO_OICP),
    "directions": _drop("not written (ChargingStationLocationReference is not filled)"),
    "operator": DESCEND,
    "operator.name": _operator_name,
    "operator.website": _drop(_NO_OICP),
    "operator.logo": _drop(_NO_OICP),
    "suboperator": DESCEND,
    "suboperator.name": _truncating(
        "SubOperatorName", lambda c, i: _rec(c).SubOperatorName, 100, "the suboperator's name"
    ),
    "suboperator.website": _drop(_NO_OICP),
    "suboperator.logo": _drop(_NO_OICP),
    "owner": _drop(_NO_OICP),
    "facilities": _drop(_NO_OICP),
    "time_zone": _time_zone,
    "opening_times": DESCEND,
    "opening_times.twentyfourseven": _twentyfourseven,
    "opening_times.regular_hours": DESCEND,
    "opening_times.regular_hours[]": _opening_regular,
    "opening_times.exceptional_openings": _drop("OICP has no exceptional openings"),
    "opening_times.exceptional_closings": _drop("OICP has no exceptional closings"),
    "charging_when_closed": _drop(_NO_OICP),
    "images": _drop("not written (ChargingStationImage is not filled)"),
    "energy_mix": DESCEND,
    "energy_mix.is_green_energy": _carry(
        "RenewableEnergy", lambda c, i: _rec(c).RenewableEnergy, "not written"
    ),
    "energy_mix.energy_sources": _drop("not written (EnergySource is not filled)"),
    "energy_mix.environ_impact": _drop("not written (EnvironmentalImpact is not filled)"),
    "energy_mix.supplier_name": _drop(_NO_OICP),
    "energy_mix.energy_product_name": _drop(_NO_OICP),
    "help_phone": _drop("not written: HotlinePhoneNumber is the operator profile's"),
    "last_updated": _drop(_STAMP),
    # EVSEs (the record of EVSE i)
    "evses[].uid": _drop("no OICP field (EVSEs are identified by their EvseID)"),
    "evses[].evse_id": _carry(
        "EvseDataRecord[{0}].EvseID", lambda c, i: c.records[i[0]].EvseID, "not written"
    ),
    "evses[].status": _evse_status,
    "evses[].status_schedule": _drop(_NO_OICP),
    "evses[].capabilities": DESCEND,
    "evses[].capabilities[]": _capability,
    "evses[].floor_level": _truncating(
        "EvseDataRecord[{0}].Address.Floor", lambda c, i: c.records[i[0]].Address.Floor, 5, "the floor"
    ),
    "evses[].coordinates": DESCEND,
    "evses[].coordinates.latitude": _coordinate("latitude"),
    "evses[].coordinates.longitude": _coordinate("longitude"),
    "evses[].physical_reference": _drop("no OICP field (ParkingSpot is not written)"),
    "evses[].directions": _drop("not written (AdditionalInfo is not filled)"),
    "evses[].parking_restrictions": _drop(_NO_OICP),
    "evses[].images": _drop("not written (ChargingStationImage is not filled)"),
    "evses[].parking": _drop(_NO_OICP),
    "evses[].accepted_service_providers": _drop(_NO_OICP),
    "evses[].last_updated": _drop(_STAMP),
    "evses[].connectors": DESCEND,
    "evses[].connectors[].id": _drop("OICP plugs have no id"),
    "evses[].connectors[].standard": _plug_part("standard"),
    "evses[].connectors[].format": _plug_part("format"),
    "evses[].connectors[].power_type": _plugged(_power_type),
    "evses[].connectors[].max_voltage": _plugged(_voltage),
    "evses[].connectors[].max_amperage": _plugged(_amperage),
    "evses[].connectors[].max_electric_power": _plugged(_power),
    "evses[].connectors[].tariff_ids": _drop("OICP assigns pricing products per EVSE (PushEVSEPricing)"),
    "evses[].connectors[].terms_and_conditions": _drop(_NO_OICP),
    "evses[].connectors[].capabilities": _drop(_NO_OICP),
    "evses[].connectors[].last_updated": _drop(_STAMP),
}


def _why_not(location: Location, evse: EVSE, skipped: Sequence[str]) -> str:
    if not location.publish:
        return "publish is false: the location is not pushed to OICP"
    if evse.status is Status.REMOVED:
        return "status REMOVED: deleted from OICP, not pushed"
    for reason in skipped:
        if (evse.evse_id and reason.startswith(str(evse.evse_id))) or f"EVSE {evse.uid}" in reason:
            return f"the EVSE is not pushed: {reason}"
    return "the EVSE is not pushed"


def report_location(location: Location, profile: OperatorProfile, now: datetime) -> ObjectReport:
    """An OCPI Location (canonical) as OICP EVSE data records and EVSE statuses."""
    records, skipped = evse_records([location], profile, now)
    by_id = {r.EvseID.upper(): r for r in records}
    evses = location.evses or ()
    mine: list[m.EvseDataRecord | None] = [
        by_id.get(str(e.evse_id).upper()) if e.evse_id else None for e in evses
    ]
    why = [
        None if r is not None else _why_not(location, e, skipped) for e, r in zip(evses, mine, strict=True)
    ]
    plug_at: list[list[int | None]] = []
    for evse in evses:
        k = 0
        row: list[int | None] = []
        for connector in evse.connectors:
            row.append(k if plug_of(connector) is not None else None)
            k += plug_of(connector) is not None
        plug_at.append(row)
    back_by_id: dict[str, EVSE] = {}
    if records:
        try:
            pulled = [
                m.PullEvseDataRecord(
                    OperatorID=profile.operator_id,
                    OperatorName=profile.operator_name[:100],
                    **msgspec.structs.asdict(r),
                )
                for r in records
            ]
            at = DateTime.from_datetime(now)
            for loc in locations_of(pulled, at):
                for e in loc.evses or ():
                    back_by_id[str(e.evse_id).upper()] = e
        except ValueError:
            back_by_id = {}
    back = [back_by_id.get(str(e.evse_id).upper()) if e.evse_id else None for e in evses]
    present = [r for r in mine if r is not None]
    shared = next(
        (r for r, e in zip(mine, evses, strict=True) if r is not None and e.coordinates is None), None
    )
    gone = None
    if not present:
        gone = (
            "publish is false: the location is not pushed to OICP"
            if not location.publish
            else "no EVSE of the location becomes an OICP record"
            + (f" ({'; '.join(skipped)})" if skipped else "")
        )
    ctx = _LocationCtx(
        location, profile, mine, why, back, plug_at, present[0] if present else None, shared, gone
    )
    entries = _analyse(
        "OCPI Location", _LOCATION_RULES, location, ctx, {"": _loc_gate, "evses[]": _evse_gate}
    )
    notes = [_operator_note(profile.operator_id)]
    for evse in evses:
        if evse.evse_id:
            notes.append(_id_note_evse(str(evse.evse_id), profile.operator_id))
        else:
            notes.append(f"EVSE {evse.uid} has no evse_id: OICP identifies EVSEs by EvseID only")
    if present:
        first = present[0]
        for name, value in (
            ("HotlinePhoneNumber", first.HotlinePhoneNumber),
            ("Accessibility", first.Accessibility.value),
            ("CalibrationLawDataAvailability", first.CalibrationLawDataAvailability.value),
            ("PaymentOptions", ", ".join(p.value for p in first.PaymentOptions)),
            ("IsHubjectCompatible", str(first.IsHubjectCompatible).lower()),
            ("DynamicInfoAvailable", first.DynamicInfoAvailable.value),
        ):
            entries.append(_supplied(name, f"{_PROFILE} ({value})"))
        entries.append(_supplied("ChargingStationNames[0].lang", f"{_PROFILE} ({profile.language})"))
        if not location.postal_code:
            entries.append(
                _supplied("Address.PostalCode", "mandatory in OICP, no OCPI postal_code: sent empty")
            )
        if not location.name:
            entries.append(
                _supplied("ChargingStationNames[0].value", "no OCPI name: the location id is sent")
            )
        for evse, record in zip(evses, mine, strict=True):
            if record is not None and evse.capabilities is None:
                entries.append(
                    _supplied(
                        f"EvseDataRecord[{record.EvseID}].AuthenticationModes",
                        "no OCPI capabilities: the profile's default modes",
                    )
                )
            for j, connector in enumerate(evse.connectors if record is not None else ()):
                if connector.max_electric_power is None:
                    entries.append(
                        _supplied(
                            f"EvseDataRecord[{record.EvseID}].ChargingFacilities[{j}].Power"
                            if record
                            else "",
                            "no OCPI max_electric_power: computed from voltage x amperage x phases",
                        )
                    )
    return ObjectReport(
        "OCPI", "Location", _location_id(location), "OCPI -> OICP", tuple(entries), tuple(notes)
    )


def _location_id(location: Location) -> str:
    return f"{location.country_code}/{location.party_id}/{location.id}"


# -- OCPI Tariff -> OICP PricingProductDataRecord --------------------------------------------------------


@dataclass
class _TariffCtx:
    tariff: Tariff
    record: m.PricingProductDataRecord | None
    refused: str | None
    extras: dict[str, list[Decimal]] = field(default_factory=dict)


_FEES = {
    TariffDimensionType.FLAT: m.AdditionalReferenceType.START_FEE,
    TariffDimensionType.PARKING_TIME: m.AdditionalReferenceType.PARKING_FEE,
}


def _tariff_gate(ctx: _TariffCtx, idx: tuple[int, ...]) -> str | None:
    return ctx.refused


def _component(ctx: _TariffCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    """``price`` of a price component (its ``type`` says where it goes)."""
    r = ctx.record
    assert r is not None
    component = ctx.tariff.elements[idx[0]].price_components[idx[1]]
    kind, price = component.type, Decimal(component.price)
    if kind in (TariffDimensionType.ENERGY, TariffDimensionType.TIME):
        unit = "KILOWATT_HOUR" if kind is TariffDimensionType.ENERGY else "HOUR"
        if r.ReferenceUnit == unit and Decimal(r.PricePerReferenceUnit) == price:
            return [Entry(path, Fate.CARRIED, f"PricePerReferenceUnit ({unit})")]
        if r.ReferenceUnit != unit:
            return [
                Entry(
                    path,
                    Fate.DROPPED,
                    None,
                    f"OICP has one reference unit: the base price is per {r.ReferenceUnit}",
                )
            ]
        return [
            Entry(
                path,
                Fate.DROPPED,
                None,
                "OICP has one base price: only the first one of the tariff is carried",
            )
        ]
    fee = _FEES.get(kind)
    if fee is None:
        return [Entry(path, Fate.DROPPED, None, f"OICP has no price for {kind.value}")]
    if price in ctx.extras.get(fee.value, ()):
        return [Entry(path, Fate.CARRIED, f"AdditionalReferences[{fee.value}]")]
    return [Entry(path, Fate.DROPPED, None, f"OICP has one {fee.value}: only the first one is carried")]


def _component_type(ctx: _TariffCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    kind = TariffDimensionType(value)
    target = {
        TariffDimensionType.ENERGY: "ReferenceUnit KILOWATT_HOUR",
        TariffDimensionType.TIME: "ReferenceUnit HOUR",
        TariffDimensionType.FLAT: "AdditionalReference START FEE",
        TariffDimensionType.PARKING_TIME: "AdditionalReference PARKING FEE",
    }.get(kind)
    if target is None:
        return [Entry(path, Fate.DROPPED, None, f"OICP has no price for {kind.value}")]
    if kind is TariffDimensionType.TIME:
        return [
            Entry(path, Fate.CHANGED, target, "OICP does not say whether HOUR is charging or session time")
        ]
    return [Entry(path, Fate.CARRIED, target)]


def _period(part: str) -> Handler:
    def rule(ctx: _TariffCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
        r = ctx.record
        assert r is not None
        values = {getattr(p, part) for t in r.ProductAvailabilityTimes for p in t.Periods}
        if value in values:
            return [Entry(path, Fate.CARRIED, f"ProductAvailabilityTimes[].Periods[].{part}")]
        return [Entry(path, Fate.DROPPED, None, "not in the product's availability times")]

    return rule


def _days(ctx: _TariffCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    r = ctx.record
    assert r is not None
    groups = ", ".join(t.on.value for t in r.ProductAvailabilityTimes)
    return [Entry(path, Fate.CARRIED, f"ProductAvailabilityTimes[].on ({groups})")]


def _fee_limit(fee: m.AdditionalReferenceType) -> Handler:
    def rule(ctx: _TariffCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
        if Decimal(value) in ctx.extras.get(fee.value, ()):
            return [Entry(path, Fate.CARRIED, f"AdditionalReferences[{fee.value}]")]
        return [Entry(path, Fate.DROPPED, None, "not written")]

    return rule


_VAT = "OICP prices are net: VAT is not carried"


def _price_rules(prefix: str, fee: m.AdditionalReferenceType) -> dict[str, Any]:
    return {
        prefix: DESCEND,
        f"{prefix}.before_taxes": _fee_limit(fee),
        f"{prefix}.after_taxes": _drop(_VAT),
        f"{prefix}.taxes": _drop(_VAT),
    }


_TARIFF_RULES: dict[str, Any] = {
    "country_code": _drop("the owner is the OperatorID of the push (PricingProductData.OperatorID)"),
    "party_id": _drop("the owner is the OperatorID of the push (PricingProductData.OperatorID)"),
    "id": _truncating("ProductID", lambda c, i: c.record.ProductID, 50, "the id"),
    "currency": _carry("ProductPriceCurrency", lambda c, i: c.record.ProductPriceCurrency, "not written"),
    "type": _drop("OICP products have no tariff type"),
    "tariff_alt_text": _drop(_NO_OICP),
    "tariff_alt_url": _drop(_NO_OICP),
    **_price_rules("min_price", m.AdditionalReferenceType.MINIMUM_FEE),
    **_price_rules("max_price", m.AdditionalReferenceType.MAXIMUM_FEE),
    "tax_included": _drop(_VAT),
    "preauthorize_amount": _drop(_NO_OICP),
    "start_date_time": _drop("OICP products have no validity period"),
    "end_date_time": _drop("OICP products have no validity period"),
    "energy_mix": _drop(_NO_OICP),
    "last_updated": _drop(_STAMP),
    "elements": DESCEND,
    "elements[].price_components": DESCEND,
    "elements[].price_components[].type": _component_type,
    "elements[].price_components[].price": _component,
    "elements[].price_components[].step_size": _drop("OICP has no step size"),
    "elements[].price_components[].vat": _drop(_VAT),
    "elements[].restrictions": DESCEND,
    "elements[].restrictions.start_time": _period("begin"),
    "elements[].restrictions.end_time": _period("end"),
    "elements[].restrictions.day_of_week": _days,
    "elements[].restrictions.start_date": _drop("OICP products have no validity dates"),
    "elements[].restrictions.end_date": _drop("OICP products have no validity dates"),
    "elements[].restrictions.min_kwh": _drop("OICP has no energy restriction"),
    "elements[].restrictions.max_kwh": _drop("OICP has no energy restriction"),
    "elements[].restrictions.min_current": _drop("OICP has no current restriction"),
    "elements[].restrictions.max_current": _drop("OICP has no current restriction"),
    "elements[].restrictions.min_power": _drop("OICP has no power restriction"),
    "elements[].restrictions.max_power": _drop(
        "not used: MaximumProductChargingPower is the converter's default"
    ),
    "elements[].restrictions.min_duration": _drop("OICP has no duration restriction"),
    "elements[].restrictions.max_duration": _drop("OICP has no duration restriction"),
    "elements[].restrictions.reservation": _drop("OICP has no reservation pricing"),
}


def report_tariff(tariff: Tariff) -> ObjectReport:
    """An OCPI Tariff (canonical) as an OICP pricing product."""
    try:
        record: m.PricingProductDataRecord | None = pricing_record_of(tariff)
        refused = None
    except ValueError as exc:
        record, refused = None, f"the tariff has no OICP form: {exc}"
    extras: dict[str, list[Decimal]] = {}
    for extra in (record.AdditionalReferences or ()) if record else ():
        extras.setdefault(extra.AdditionalReference.value, []).append(
            Decimal(extra.PricePerAdditionalReferenceUnit)
        )
    ctx = _TariffCtx(tariff, record, refused, extras)
    entries = _analyse("OCPI Tariff", _TARIFF_RULES, tariff, ctx, {"": _tariff_gate})
    if record is not None:
        entries.append(
            _supplied(
                "MaximumProductChargingPower",
                f"mandatory in OICP, no OCPI source: {record.MaximumProductChargingPower} kW",
            )
        )
        if record.IsValid24hours:
            entries.append(
                _supplied("ProductAvailabilityTimes", "no OCPI time restriction: Everyday 00:00-23:59")
            )
        if not any(
            c.type in (TariffDimensionType.ENERGY, TariffDimensionType.TIME)
            for e in tariff.elements
            for c in e.price_components
        ):
            entries.append(_supplied("PricePerReferenceUnit", "no ENERGY or TIME price: 0 per KILOWATT_HOUR"))
    notes = [
        f"ProductID {str(tariff.id)!r} of OperatorID {tariff.country_code}*{tariff.party_id}; "
        "OCPI tariffs are for every eMSP (ProviderID '*')"
    ]
    return ObjectReport(
        "OCPI",
        "Tariff",
        f"{tariff.country_code}/{tariff.party_id}/{tariff.id}",
        "OCPI -> OICP",
        tuple(entries),
        tuple(notes),
    )


# -- OCPI Token -> OICP Identification -------------------------------------------------------------------


@dataclass
class _TokenCtx:
    token: Token
    identification: m.Identification


def _token_uid(ctx: _TokenCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    rfid = ctx.identification.RFIDMifareFamilyIdentification
    if rfid is None:
        return [
            Entry(
                path,
                Fate.DROPPED,
                None,
                "not an RFID UID of 8, 14 or 20 hex digits: the token goes by its contract_id",
            )
        ]
    if str(value) == rfid.UID:
        return [Entry(path, Fate.CARRIED, "RFIDMifareFamilyIdentification.UID")]
    return [Entry(path, Fate.CHANGED, "RFIDMifareFamilyIdentification.UID", "OICP UIDs are upper-case hex")]


def _token_contract(ctx: _TokenCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    remote = ctx.identification.RemoteIdentification
    if remote is None:
        return [Entry(path, Fate.DROPPED, None, "an RFID identification carries the UID only")]
    if not re.match(EVCO_ID, remote.EvcoID):
        return [
            Entry(
                path,
                Fate.CHANGED,
                "RemoteIdentification.EvcoID",
                f"{str(value)!r} is not an EvcoID: Hubject refuses it",
            )
        ]
    return [Entry(path, Fate.CARRIED, "RemoteIdentification.EvcoID")]


def _token_type(ctx: _TokenCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    member = "RFIDMifareFamilyIdentification" if ctx.identification.uid() else "RemoteIdentification"
    if str(value).upper() == "RFID" and member == "RFIDMifareFamilyIdentification":
        return [Entry(path, Fate.CARRIED, member)]
    return [Entry(path, Fate.CHANGED, member, f"OICP has no token type: {value} becomes {member}")]


_TOKEN_RULES: dict[str, Any] = {
    "country_code": _drop("the owner is the ProviderID of the EMP's connection"),
    "party_id": _drop("the owner is the ProviderID of the EMP's connection"),
    "uid": _token_uid,
    "type": _token_type,
    "contract_id": _token_contract,
    "visual_number": _drop(
        "not written (RFIDIdentification.PrintedNumber exists only in PushAuthenticationData)"
    ),
    "issuer": _drop(_NO_OICP),
    "group_id": _drop("no OICP field (AuthorizationStopIdentifications is only approximate)"),
    "valid": _drop("OICP identifications have no validity flag (an invalid token is deleted)"),
    "whitelist": _drop("an OICP CPO cannot authorize offline: no whitelist"),
    "language": _drop(_NO_OICP),
    "default_profile_type": _drop(_NO_OICP),
    "energy_contract": _drop(_NO_OICP),
    "last_updated": _drop(_STAMP),
}


def report_token(token: Token) -> ObjectReport:
    """An OCPI Token (canonical) as the OICP Identification it authorizes with."""
    identification = identification_of(token)
    entries = _analyse("OCPI Token", _TOKEN_RULES, token, _TokenCtx(token, identification))
    notes = [
        f"party {token.country_code}/{token.party_id} = ProviderID {token.country_code}-{token.party_id}"
    ]
    if token.whitelist is not WhitelistType.NEVER:
        notes.append(
            "OCPI whitelisting has no OICP counterpart at the CPO (only the EMP's PushAuthenticationData)"
        )
    return ObjectReport(
        "OCPI",
        "Token",
        f"{token.country_code}/{token.party_id}/{token.uid}",
        "OCPI -> OICP",
        tuple(entries),
        tuple(notes),
    )


# -- OCPI CDR -> OICP ChargeDetailRecord; OCPI Session -> charging notifications --------------------------


def _token_from_cdr_token(holder: CDR | Session) -> Token:
    t = holder.cdr_token
    return Token(
        country_code=t.country_code or holder.country_code,
        party_id=t.party_id or holder.party_id,
        uid=t.uid or t.contract_id,
        type=t.type or "OTHER",
        contract_id=t.contract_id,
        issuer="",
        valid=True,
        whitelist=WhitelistType.NEVER,
        last_updated=holder.last_updated,
    )


def _session_key(path: str, value: Any, used: str) -> list[Entry]:
    if str(value) != used:
        return [Entry(path, Fate.DROPPED, None, f"the SessionID is {used!r}")]
    if re.match(SESSION_ID, used):
        return [Entry(path, Fate.CARRIED, "SessionID")]
    return [
        Entry(
            path,
            Fate.CHANGED,
            "SessionID",
            f"{used!r} is not a Hubject SessionID (a GUID): Hubject refuses it",
        )
    ]


@dataclass
class _SessionCtx:
    """For a CDR (``cdr``) or a Session (``notification``)."""

    session_id: str
    identification: m.Identification
    cdr: m.ChargeDetailRecord | None = None
    notification: m.ChargingNotificationProgress | None = None


def _session_id_rule(ctx: _SessionCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    return _session_key(path, value, ctx.session_id)


def _cdr_token_uid(ctx: _SessionCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    rfid = ctx.identification.RFIDMifareFamilyIdentification
    if rfid is None:
        return [
            Entry(
                path,
                Fate.DROPPED,
                None,
                "not an RFID UID of 8, 14 or 20 hex digits: identified by contract_id",
            )
        ]
    return [
        _entry(
            path,
            "Identification.RFIDMifareFamilyIdentification.UID",
            value,
            rfid.UID,
            "OICP UIDs are upper-case hex",
        )
    ]


def _cdr_token_contract(ctx: _SessionCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    remote = ctx.identification.RemoteIdentification
    if remote is None:
        return [Entry(path, Fate.DROPPED, None, "an RFID identification carries the UID only")]
    if not re.match(EVCO_ID, remote.EvcoID):
        return [
            Entry(
                path,
                Fate.CHANGED,
                "Identification.RemoteIdentification.EvcoID",
                f"{str(value)!r} is not an EvcoID: Hubject refuses it",
            )
        ]
    return [Entry(path, Fate.CARRIED, "Identification.RemoteIdentification.EvcoID")]


def _cdr_token_type(ctx: _SessionCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    member = "RFIDMifareFamilyIdentification" if ctx.identification.uid() else "RemoteIdentification"
    if str(value).upper() == "RFID" and ctx.identification.uid():
        return [Entry(path, Fate.CARRIED, f"Identification.{member}")]
    return [
        Entry(
            path,
            Fate.CHANGED,
            f"Identification.{member}",
            f"OICP has no token type: {value} becomes {member}",
        )
    ]


def _cdr_out(attr: str) -> Callable[[Any, tuple[int, ...]], Any]:
    return lambda c, i: getattr(c.cdr, attr)


def _cdr_energy(ctx: _SessionCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    assert ctx.cdr is not None
    return [
        _entry(path, "ConsumedEnergy", value, ctx.cdr.ConsumedEnergy, "OICP energy has 3 decimals: rounded")
    ]


def _cdr_evse(ctx: _SessionCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    from evroam.oicp.ids import EVSE_ID

    if not re.match(EVSE_ID, str(value)):
        return [
            Entry(path, Fate.CHANGED, "EvseID", f"{str(value)!r} is no OICP EvseID: Hubject refuses the CDR")
        ]
    return [Entry(path, Fate.CARRIED, "EvseID")]


_CDR_TOKEN_RULES: dict[str, Any] = {
    "cdr_token": DESCEND,
    "cdr_token.uid": _cdr_token_uid,
    "cdr_token.type": _cdr_token_type,
    "cdr_token.contract_id": _cdr_token_contract,
    "cdr_token.country_code": _drop("the eMSP is Hubject's business: OICP names no provider here"),
    "cdr_token.party_id": _drop("the eMSP is Hubject's business: OICP names no provider here"),
}

_CDR_RULES: dict[str, Any] = {
    "country_code": _drop("the owner is the OperatorID of the request path"),
    "party_id": _drop("the owner is the OperatorID of the request path"),
    "id": _drop("OICP CDRs are identified by the SessionID (one CDR per session)"),
    "start_date_time": _carry("SessionStart", _cdr_out("SessionStart"), "not written"),
    "end_date_time": _carry("SessionEnd", _cdr_out("SessionEnd"), "not written"),
    "session_id": _carry("CPOPartnerSessionID", _cdr_out("CPOPartnerSessionID"), "not written"),
    "authorization_reference": _session_id_rule,
    **_CDR_TOKEN_RULES,
    "auth_method": _drop(_NO_OICP),
    "cdr_location": DESCEND,
    "cdr_location.evse_id": _cdr_evse,
    **{
        f"cdr_location.{name}": _drop("OICP CDRs name the EVSE only (the rest is in the EVSE data)")
        for name in (
            "id",
            "name",
            "address",
            "city",
            "postal_code",
            "state",
            "country",
            "coordinates",
            "evse_uid",
            "connector_id",
            "connector_standard",
            "connector_format",
            "connector_power_type",
        )
    },
    "location": _drop("OICP CDRs name the EVSE only (the rest is in the EVSE data)"),
    "meter_id": _drop(_NO_OICP),
    "currency": _drop(_MONEY),
    "tariffs": _drop(_MONEY),
    "charging_periods": lambda c, p, v, i: [
        Entry(
            p,
            Fate.CHANGED,
            "ChargingStart, ChargingEnd",
            "only the first period's start is kept; the periods and their dimensions are not",
        )
    ],
    "signed_data": _drop("not written (the converter fills no SignedMeteringValues)"),
    "total_cost": _drop(_MONEY),
    "total_fixed_cost": _drop(_MONEY),
    "total_energy": _cdr_energy,
    "total_energy_cost": _drop(_MONEY),
    "total_time": _drop("no OICP field (the receiver derives it from the timestamps)"),
    "total_time_cost": _drop(_MONEY),
    "total_parking_time": _drop("no OICP field (the receiver derives it from the timestamps)"),
    "total_parking_cost": _drop(_MONEY),
    "total_reservation_cost": _drop(_MONEY),
    "remark": _drop(_NO_OICP),
    "invoice_reference_id": _drop(_NO_OICP),
    "credit": _drop("OICP takes one CDR per session: no credit CDRs"),
    "credit_reference_id": _drop("OICP takes one CDR per session: no credit CDRs"),
    "home_charging_compensation": _drop(_NO_OICP),
    "last_updated": _drop(_STAMP),
}


def report_cdr(cdr: CDR) -> ObjectReport:
    """An OCPI CDR (canonical) as an OICP ChargeDetailRecord."""
    session_id = str(cdr.authorization_reference or cdr.session_id or cdr.id)
    identification = identification_of(_token_from_cdr_token(cdr))
    periods = cdr.charging_periods
    product = next((str(p.tariff_id) for p in periods if p.tariff_id), None) or (
        str(cdr.tariffs[0].id) if cdr.tariffs else None
    )
    record = charge_detail_record(
        session_id=session_id,
        evse_id=str(cdr.cdr_location.evse_id or ""),
        identification=identification,
        session_start=cdr.start_date_time,
        session_end=cdr.end_date_time,
        charging_start=periods[0].start_date_time if periods else cdr.start_date_time,
        charging_end=cdr.end_date_time,
        meter_start=Decimal(0),
        meter_end=Decimal(cdr.total_energy),
        product_id=product,
        cpo_session_id=str(cdr.session_id) if cdr.session_id else None,
    )
    ctx = _SessionCtx(session_id, identification, cdr=record)
    entries = _analyse("OCPI CDR", _CDR_RULES, cdr, ctx)
    if not cdr.authorization_reference:
        entries.append(_supplied("SessionID", f"no authorization_reference: {session_id!r} is used"))
    entries.append(_supplied("MeterValueStart, MeterValueEnd", "no OCPI meter readings: 0 and total_energy"))
    entries.append(_supplied("ChargingEnd", "no OCPI charging end: the session end"))
    if product:
        entries.append(_supplied("PartnerProductID", f"the first tariff id {product!r} (a loose link)"))
    notes = [f"Hubject's SessionID <-> OCPI authorization_reference (here {session_id!r})"]
    if cdr.cdr_location.evse_id:
        notes.append(_id_note_evse(str(cdr.cdr_location.evse_id), f"{cdr.country_code}*{cdr.party_id}"))
    return ObjectReport(
        "OCPI",
        "CDR",
        f"{cdr.country_code}/{cdr.party_id}/{cdr.id}",
        "OCPI -> OICP",
        tuple(entries),
        tuple(notes),
    )


def _note_out(attr: str) -> Callable[[Any, tuple[int, ...]], Any]:
    return lambda c, i: getattr(c.notification, attr)


def _session_status(ctx: _SessionCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    kind = {"ACTIVE": "Start/Progress", "PENDING": "Start", "COMPLETED": "End"}.get(str(value))
    if kind is None:
        return [Entry(path, Fate.DROPPED, None, f"no OICP notification for {value}")]
    return [Entry(path, Fate.CHANGED, "Type", f"the status becomes the notification type ({kind})")]


def _session_kwh(ctx: _SessionCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    assert ctx.notification is not None
    return [
        _entry(
            path,
            "ConsumedEnergyProgress",
            value,
            ctx.notification.ConsumedEnergyProgress,
            "OICP energy has 3 decimals: rounded",
        )
    ]


_SESSION_RULES: dict[str, Any] = {
    "country_code": _carry("OperatorID", lambda c, i: party_of_operator(c.notification.OperatorID)[0], "-"),
    "party_id": _carry("OperatorID", lambda c, i: party_of_operator(c.notification.OperatorID)[1], "-"),
    "id": _session_id_rule,
    "authorization_reference": _session_id_rule,
    "start_date_time": _carry("ChargingStart", _note_out("ChargingStart"), "not written"),
    "end_date_time": _carry(
        "EventOccurred (and the End notification's ChargingEnd)", _note_out("EventOccurred"), "not written"
    ),
    "kwh": _session_kwh,
    **_CDR_TOKEN_RULES,
    "auth_method": _drop(_NO_OICP),
    "location_id": lambda c, p, v, i: [
        Entry(
            p, Fate.CHANGED, "EvseID", "OICP names the EVSE only: the location is found through its evse_id"
        )
    ],
    "evse_uid": lambda c, p, v, i: [
        Entry(p, Fate.CHANGED, "EvseID", "the EVSE's evse_id (eMI3), looked up by uid in our locations")
    ],
    "connector_id": _drop("OICP notifications name no connector"),
    "location": _drop("OICP notifications name the EVSE only"),
    "meter_id": _drop(_NO_OICP),
    "currency": _drop("OICP notifications carry no money"),
    "total_cost": _drop("OICP notifications carry no money"),
    "charging_periods": _drop("OICP notifications carry totals only (ConsumedEnergyProgress)"),
    "status": _session_status,
    "last_updated": lambda c, p, v, i: [
        _entry(p, "EventOccurred", v, c.notification.EventOccurred)
        if _same(v, c.notification.EventOccurred)
        else Entry(p, Fate.DROPPED, None, _STAMP)
    ],
}


def report_session(session: Session) -> ObjectReport:
    """An OCPI Session (canonical) as OICP charging notifications (a Progress notification compared)."""
    session_id = str(session.authorization_reference or session.id)
    identification = identification_of(_token_from_cdr_token(session))
    operator = f"{session.country_code}*{session.party_id}"
    note = progress_notification(
        session_id=session_id,
        evse_id=str(session.evse_uid or ""),
        operator_id=operator,
        charging_start=session.start_date_time,
        event_occurred=session.end_date_time or session.last_updated,
        consumed_kwh=Decimal(session.kwh),
        identification=identification,
    )
    ctx = _SessionCtx(session_id, identification, notification=note)
    entries = _analyse("OCPI Session", _SESSION_RULES, session, ctx)
    entries.append(_supplied("ChargingDuration", "EventOccurred - ChargingStart, in milliseconds"))
    notes = [
        f"Hubject's SessionID <-> OCPI authorization_reference (here {session_id!r})",
        _operator_note(operator),
    ]
    return ObjectReport(
        "OCPI",
        "Session",
        f"{session.country_code}/{session.party_id}/{session.id}",
        "OCPI -> OICP",
        tuple(entries),
        tuple(notes),
    )


# -- OICP EvseDataRecord -> OCPI Location / EVSE / Connector ---------------------------------------------


@functools.cache
def _plug_meanings() -> dict[m.Plug, list[tuple[str, str]]]:
    """Every OCPI (standard, format) an OICP plug stands for, from the converter's own plug table."""
    from evroam.ocpi.v2_3_0.enums import ConnectorType

    at = DateTime(2000, 1, 1, tzinfo=UTC)
    out: dict[m.Plug, list[tuple[str, str]]] = {}
    for standard in ConnectorType:
        for fmt in ConnectorFormat:
            probe = Connector(
                id=CiString("1"),
                standard=standard.value,
                format=fmt,
                power_type=PowerType.AC_3_PHASE,
                max_voltage=230,
                max_amperage=16,
                last_updated=at,
            )
            plug = plug_of(probe)
            if plug is not None:
                out.setdefault(plug, []).append((standard.value, fmt.value))
    return out


@dataclass
class _RecordCtx:
    record: m.PullEvseDataRecord
    location: Location | None
    evse: EVSE | None
    gone: str | None


def _record_gate(ctx: _RecordCtx, idx: tuple[int, ...]) -> str | None:
    return ctx.gone


def _loc(ctx: _RecordCtx) -> Location:
    assert ctx.location is not None
    return ctx.location


def _evse_of(ctx: _RecordCtx) -> EVSE:
    assert ctx.evse is not None
    return ctx.evse


def _read_address(ctx: _RecordCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    a = ctx.record.Address
    joined = f"{a.Street} {a.HouseNum}".strip()
    if len(joined) > 45:
        return [
            Entry(
                path,
                Fate.CHANGED,
                "Location.address",
                f"OCPI address is {len(joined)} characters at most 45: truncated",
            )
        ]
    return [Entry(path, Fate.CARRIED, "Location.address (street and house number joined)")]


def _read_pool(ctx: _RecordCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    if ctx.record.ChargingStationId:
        return [Entry(path, Fate.DROPPED, None, "not read: the Location is grouped by ChargingStationId")]
    return [_ocpi_id(path, "Location.id", str(value), str(_loc(ctx).id))]


def _ocpi_id(path: str, target: str, value: str, out: str) -> Entry:
    if value == out:
        return Entry(path, Fate.CARRIED, target)
    return Entry(
        path, Fate.CHANGED, target, f"OCPI ids have at most 36 characters: {value!r} becomes {out!r}"
    )


def _read_names(ctx: _RecordCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    if idx[0] != 0:
        return [Entry(path, Fate.DROPPED, None, "the OCPI Location has one name: the first is kept")]
    return [
        _entry(path, "Location.name", value, _loc(ctx).name, "OCPI name is at most 255 characters: truncated")
    ]


def _read_plug(ctx: _RecordCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    plug = m.Plug(value)
    meanings = _plug_meanings().get(plug, [])
    connector = _evse_of(ctx).connectors[idx[0]]
    target = f"EVSE.connectors[{idx[0]}].standard + format"
    if not meanings:
        return [
            Entry(
                path,
                Fate.CHANGED,
                target,
                f"no OCPI connector type for {plug.value!r}: read as {connector.standard} {connector.format}",
            )
        ]
    if len(meanings) > 1:
        others = ", ".join(
            f"{s} {f}" for s, f in meanings if (s, f) != (connector.standard, connector.format)
        )
        return [
            Entry(
                path,
                Fate.CHANGED,
                target,
                f"{plug.value!r} is read as {connector.standard} {connector.format}; it also means {others}",
            )
        ]
    return [Entry(path, Fate.CARRIED, target)]


def _users(ctx: _RecordCtx, j: int) -> list[int]:
    facilities = len(ctx.record.ChargingFacilities)
    return [k for k in range(len(ctx.record.Plugs)) if min(k, facilities - 1) == j]


def _facility_field(attr: str, scale: int = 1) -> Handler:
    def rule(ctx: _RecordCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
        users = _users(ctx, idx[0])
        if not users:
            return [
                Entry(path, Fate.DROPPED, None, "more charging facilities than plugs: no connector gets it")
            ]
        connectors = _evse_of(ctx).connectors
        target = ", ".join(f"EVSE.connectors[{k}].{attr}" for k in users)
        raw = Decimal(str(value)) * scale if attr != "power_type" else value
        out = getattr(connectors[users[0]], attr)
        return [_entry(path, target, raw, out)]

    return rule


def _read_mode(ctx: _RecordCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    caps = {str(c) for c in _evse_of(ctx).capabilities or ()}
    mode = m.AuthenticationMode(value)
    if mode in (m.AuthenticationMode.NFC_RFID_CLASSIC, m.AuthenticationMode.NFC_RFID_DESFIRE):
        if mode is m.AuthenticationMode.NFC_RFID_DESFIRE:
            return [
                Entry(
                    path, Fate.CHANGED, "EVSE.capabilities RFID_READER", "OCPI does not say which RFID family"
                )
            ]
        return [Entry(path, Fate.CARRIED, "EVSE.capabilities RFID_READER")]
    if mode is m.AuthenticationMode.REMOTE:
        if "REMOTE_START_STOP_CAPABLE" in caps:
            return [Entry(path, Fate.CARRIED, "EVSE.capabilities REMOTE_START_STOP_CAPABLE")]
        return [
            Entry(path, Fate.DROPPED, None, "IsHubjectCompatible is false: no remote start through Hubject")
        ]
    return [Entry(path, Fate.DROPPED, None, f"no OCPI capability is read for {mode.value!r}")]


def _read_service(ctx: _RecordCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    service = m.ValueAddedService(value)
    if service is m.ValueAddedService.NONE:
        return [Entry(path, Fate.CARRIED, "EVSE.capabilities (nothing to add)")]
    if service is m.ValueAddedService.RESERVATION and "RESERVABLE" in {
        str(c) for c in _evse_of(ctx).capabilities or ()
    }:
        return [Entry(path, Fate.CARRIED, "EVSE.capabilities RESERVABLE")]
    return [Entry(path, Fate.DROPPED, None, f"no OCPI capability for {service.value!r}")]


def _read_delta(ctx: _RecordCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    if value == "delete":
        return [_entry(path, "EVSE.status", "REMOVED", _evse_of(ctx).status)]
    return [Entry(path, Fate.CARRIED, "the EVSE is stored (PUT)")]


_NOT_READ = "not read by the converter"
_RECORD_RULES: dict[str, Any] = {
    "OperatorID": lambda c, p, v, i: [Entry(p, Fate.CARRIED, "Location.country_code + party_id")],
    "OperatorName": _drop("not read (Location.operator is not filled)"),
    "EvseID": lambda c, p, v, i: [
        _entry(p, "EVSE.evse_id", v, _evse_of(c).evse_id),
        *(
            []
            if len(str(v)) <= 36
            else [Entry(p, Fate.CHANGED, "EVSE.uid", f"longer than 36: uid {_evse_of(c).uid}")]
        ),
    ],
    "ChargingPoolID": _read_pool,
    "ChargingStationId": lambda c, p, v, i: [_ocpi_id(p, "Location.id", str(v), str(_loc(c).id))],
    "ChargingStationNames": DESCEND,
    "ChargingStationNames[].lang": _drop("the OCPI Location name has no language"),
    "ChargingStationNames[].value": _read_names,
    "HardwareManufacturer": _drop(_NO_OCPI),
    "ChargingStationImage": _drop("not read (an OCPI Image needs a category and a type)"),
    "SubOperatorName": _drop("not read (Location.suboperator is not filled)"),
    "Address": DESCEND,
    "Address.Street": _read_address,
    "Address.HouseNum": _read_address,
    "Address.City": _truncating("Location.city", lambda c, i: _loc(c).city, 45, "the city"),
    "Address.PostalCode": lambda c, p, v, i: [
        Entry(p, Fate.DROPPED, None, "empty")
        if not v
        else _entry(p, "Location.postal_code", v, _loc(c).postal_code)
    ],
    "Address.Country": _carry("Location.country", lambda c, i: _loc(c).country, "not read"),
    "Address.Region": _truncating("Location.state", lambda c, i: _loc(c).state, 20, "the region"),
    "Address.Floor": _drop("not read (EVSE.floor_level is not filled)"),
    "Address.ParkingFacility": _drop(_NO_OCPI),
    "Address.ParkingSpot": _drop("not read (EVSE.physical_reference is not filled)"),
    "Address.TimeZone": _drop("an offset names no IANA zone: Location.time_zone stays empty"),
    "GeoCoordinates": DESCEND,
    "GeoCoordinates.DecimalDegree": DESCEND,
    "GeoCoordinates.DecimalDegree.Latitude": _carry(
        "Location.coordinates.latitude", lambda c, i: _loc(c).coordinates.latitude, "not read"
    ),
    "GeoCoordinates.DecimalDegree.Longitude": _carry(
        "Location.coordinates.longitude", lambda c, i: _loc(c).coordinates.longitude, "not read"
    ),
    "GeoCoordinates.Google": DESCEND,
    "GeoCoordinates.Google.Coordinates": lambda c, p, v, i: [
        Entry(p, Fate.CARRIED, "Location.coordinates (latitude, longitude)")
    ],
    "GeoCoordinates.DegreeMinuteSeconds": _drop("not read: only Google and DecimalDegree coordinates are"),
    "Plugs": DESCEND,
    "Plugs[]": _read_plug,
    "ChargingFacilities": DESCEND,
    "ChargingFacilities[].PowerType": _facility_field("power_type"),
    "ChargingFacilities[].Power": _facility_field("max_electric_power", 1000),
    "ChargingFacilities[].Voltage": _facility_field("max_voltage"),
    "ChargingFacilities[].Amperage": _facility_field("max_amperage"),
    "ChargingFacilities[].ChargingModes": _drop(_NO_OCPI),
    "RenewableEnergy": _drop("not read (Location.energy_mix is not filled)"),
    "EnergySource": _drop("not read (Location.energy_mix is not filled)"),
    "EnvironmentalImpact": _drop("not read (Location.energy_mix is not filled)"),
    "CalibrationLawDataAvailability": _drop(_NO_OCPI),
    "AuthenticationModes": DESCEND,
    "AuthenticationModes[]": _read_mode,
    "MaxCapacity": _drop(_NO_OCPI),
    "PaymentOptions": _drop(_NO_OCPI),
    "ValueAddedServices": DESCEND,
    "ValueAddedServices[]": _read_service,
    "Accessibility": _drop("no OCPI access type"),
    "AccessibilityLocation": _drop("not read (Location.parking_type is not filled)"),
    "HotlinePhoneNumber": _drop("not read (OCPI 2.3.0 Location.help_phone is not filled)"),
    "AdditionalInfo": _drop("not read (directions are not filled)"),
    "ChargingStationLocationReference": _drop("not read (directions are not filled)"),
    "GeoChargingPointEntrance": _drop("not read (related_locations is not filled)"),
    "IsOpen24Hours": _drop("not read (opening_times is not filled)"),
    "OpeningTimes": _drop("not read (opening_times is not filled)"),
    "HubOperatorID": _drop(_NO_OCPI),
    "ClearinghouseID": _drop(_NO_OCPI),
    "IsHubjectCompatible": _drop("no OCPI field (it decides REMOTE_START_STOP_CAPABLE)"),
    "DynamicInfoAvailable": _drop(_NO_OCPI),
    "DynamicPowerLevel": _drop("no OCPI field (CHARGING_PROFILE_CAPABLE is not the same)"),
    "deltaType": _read_delta,
    "lastUpdate": _drop("not read: last_updated is the time of the pull"),
}


def report_evse_data(
    record: Mapping[str, Any], at: datetime, operator_id: str | None = None, operator_name: str | None = None
) -> ObjectReport:
    """An OICP EVSE data record (parsed JSON; ``operator_id`` / ``operator_name`` from the push
    wrapper when the record has none) as an OCPI Location with one EVSE. Raises ``ValueError`` for a
    record the wire model refuses."""
    raw = dict(codec.normalize(dict(record)))
    if "OperatorID" not in raw and operator_id is not None:
        raw = {"OperatorID": operator_id, "OperatorName": operator_name or operator_id, **raw}
    pulled = _convert(raw, m.PullEvseDataRecord)
    gone = None
    location = evse = None
    try:
        locations = locations_of([pulled], DateTime.from_datetime(at))
    except ValueError as exc:
        locations, gone = [], f"the record is not read: {exc}"
    if locations:
        location = locations[0]
        evse = (location.evses or (None,))[0]
    elif gone is None:
        gone = f"the record is not read: OperatorID {pulled.OperatorID!r} has no OCPI party form"
    ctx = _RecordCtx(pulled, location, evse, gone)
    entries = _analyse("OICP EvseDataRecord", _RECORD_RULES, raw, ctx, {"": _record_gate})
    if evse is not None:
        for k, c in enumerate(evse.connectors):
            facility = (
                pulled.ChargingFacilities[min(k, len(pulled.ChargingFacilities) - 1)]
                if pulled.ChargingFacilities
                else None
            )
            if facility is None or facility.Voltage is None:
                entries.append(
                    _supplied(
                        f"EVSE.connectors[{k}].max_voltage",
                        f"mandatory in OCPI, no OICP Voltage: assumed {c.max_voltage} V",
                    )
                )
            if facility is None or facility.Amperage is None:
                entries.append(
                    _supplied(
                        f"EVSE.connectors[{k}].max_amperage",
                        f"mandatory in OCPI, no OICP Amperage: computed {c.max_amperage} A",
                    )
                )
        entries.append(_supplied("EVSE.status", f"{evse.status.value} until an EVSE status arrives"))
        entries.append(_supplied("EVSE.connectors[].id", "OICP plugs have no id: numbered from 1"))
    notes = [_operator_note(pulled.OperatorID), _id_note_evse(pulled.EvseID, pulled.OperatorID)]
    return ObjectReport("OICP", "EvseDataRecord", pulled.EvseID, "OICP -> OCPI", tuple(entries), tuple(notes))


def _convert(raw: Mapping[str, Any], tp: type[Any]) -> Any:
    from evroam.core import codec as core_codec
    from evroam.core.errors import EvroamError

    try:
        return core_codec.convert(raw, tp)
    except EvroamError as exc:
        raise ValueError(f"not a valid OICP {tp.__name__}: {exc}") from None


# -- OICP EvseStatus -> OCPI Status ----------------------------------------------------------------------


def _read_status(ctx: Any, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    status = m.EvseStatus(value)
    out = status_from_oicp(status)
    meanings = [s.value for s in Status if status_to_oicp(s) is status]
    if status is m.EvseStatus.EVSE_NOT_FOUND:
        return [
            Entry(
                path,
                Fate.CHANGED,
                "EVSE.status",
                f"a query artefact (no status on Hubject): read as {out.value}",
            )
        ]
    if len(meanings) > 1:
        return [
            Entry(
                path,
                Fate.CHANGED,
                "EVSE.status",
                f"OICP {status.value} stands for {', '.join(meanings)}: read as {out.value}",
            )
        ]
    return [Entry(path, Fate.CARRIED, "EVSE.status")]


_STATUS_RULES: dict[str, Any] = {
    "EvseID": lambda c, p, v, i: [Entry(p, Fate.CARRIED, "the EVSE whose evse_id it is")],
    "EvseStatus": _read_status,
}


def report_evse_status(record: Mapping[str, Any]) -> ObjectReport:
    """An OICP EVSE status record as the status of an OCPI EVSE."""
    raw = dict(codec.normalize(dict(record)))
    parsed: m.EvseStatusRecord = _convert(raw, m.EvseStatusRecord)
    entries = _analyse("OICP EvseStatusRecord", _STATUS_RULES, raw, None)
    return ObjectReport(
        "OICP",
        "EvseStatusRecord",
        parsed.EvseID,
        "OICP -> OCPI",
        tuple(entries),
        (_id_note_evse(parsed.EvseID),),
    )


# -- OICP PricingProductDataRecord -> OCPI Tariff --------------------------------------------------------


@dataclass
class _PricingCtx:
    record: m.PricingProductDataRecord
    tariff: Tariff | None
    gone: str | None


def _pricing_gate(ctx: _PricingCtx, idx: tuple[int, ...]) -> str | None:
    return ctx.gone


def _tariff(ctx: _PricingCtx) -> Tariff:
    assert ctx.tariff is not None
    return ctx.tariff


def _read_unit(ctx: _PricingCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    if value == "KILOWATT_HOUR":
        return [Entry(path, Fate.CARRIED, "price_components[].type ENERGY")]
    if value == "HOUR":
        return [
            Entry(
                path,
                Fate.CHANGED,
                "price_components[].type TIME",
                "OICP does not say whether HOUR is charging or session time: read as charging time",
            )
        ]
    return [
        Entry(
            path,
            Fate.CHANGED,
            "price_components[].type TIME",
            "per MINUTE: read per hour (x60), step_size 60",
        )
    ]


def _read_base(ctx: _PricingCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    first = _tariff(ctx).elements[0].price_components[0]
    return [
        _entry(
            path,
            "elements[].price_components[0].price",
            value,
            first.price,
            f"per MINUTE x60: {first.price} per hour",
        )
    ]


def _read_times(part: str, attr: str) -> Handler:
    def rule(ctx: _PricingCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
        if ctx.record.IsValid24hours:
            return [
                Entry(path, Fate.DROPPED, None, "IsValid24hours is true: the availability times are not read")
            ]
        values = {getattr(e.restrictions, attr) for e in _tariff(ctx).elements if e.restrictions}
        if part == "on":
            return [Entry(path, Fate.CARRIED, "elements[].restrictions.day_of_week")]
        if value in values:
            return [Entry(path, Fate.CARRIED, f"elements[].restrictions.{attr}")]
        return [Entry(path, Fate.DROPPED, None, "not read")]

    return rule


_FLAT_KINDS = {"START FEE", "FIXED FEE", "MINIMUM FEE", "MAXIMUM FEE"}


def _read_reference(ctx: _PricingCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    target = {
        "START FEE": "price_components[].type FLAT",
        "FIXED FEE": "price_components[].type FLAT",
        "PARKING FEE": "price_components[].type PARKING_TIME",
        "MINIMUM FEE": "Tariff.min_price",
        "MAXIMUM FEE": "Tariff.max_price",
    }[str(value)]
    if value == "FIXED FEE":
        return [
            Entry(
                path, Fate.CHANGED, target, "read as a FLAT price beside the base price (which should be 0)"
            )
        ]
    if value == "PARKING FEE":
        return [
            Entry(
                path,
                Fate.CHANGED,
                target,
                "when parking is charged is portal configuration in OICP: read as any parking time",
            )
        ]
    return [Entry(path, Fate.CARRIED, target)]


def _reference_of(ctx: _PricingCtx, idx: tuple[int, ...]) -> m.AdditionalReference:
    return (ctx.record.AdditionalReferences or [])[idx[0]]


def _read_reference_unit(ctx: _PricingCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    ref = _reference_of(ctx, idx)
    if ref.AdditionalReference.value in _FLAT_KINDS:
        return [Entry(path, Fate.DROPPED, None, "an OCPI flat amount has no unit")]
    if value == "MINUTE":
        return [Entry(path, Fate.CHANGED, "PARKING_TIME price per hour", "per MINUTE: read per hour (x60)")]
    return [Entry(path, Fate.CARRIED, "PARKING_TIME price per hour")]


def _read_reference_price(ctx: _PricingCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
    ref = _reference_of(ctx, idx)
    t = _tariff(ctx)
    kind = ref.AdditionalReference
    if kind is m.AdditionalReferenceType.MINIMUM_FEE:
        return [
            _entry(
                path,
                "Tariff.min_price.before_taxes",
                value,
                t.min_price.before_taxes if t.min_price else None,
            )
        ]
    if kind is m.AdditionalReferenceType.MAXIMUM_FEE:
        return [
            _entry(
                path,
                "Tariff.max_price.before_taxes",
                value,
                t.max_price.before_taxes if t.max_price else None,
            )
        ]
    wanted = (
        TariffDimensionType.PARKING_TIME
        if kind is m.AdditionalReferenceType.PARKING_FEE
        else TariffDimensionType.FLAT
    )
    prices = [c.price for c in t.elements[0].price_components if c.type is wanted]
    amount = Decimal(str(value))
    if amount in prices:
        return [Entry(path, Fate.CARRIED, f"price_components[].price ({wanted.value})")]
    if amount * 60 in prices:
        return [
            Entry(path, Fate.CHANGED, f"price_components[].price ({wanted.value})", "per minute x60 per hour")
        ]
    return [Entry(path, Fate.DROPPED, None, "not read")]


_PRICING_RULES: dict[str, Any] = {
    "OperatorID": lambda c, p, v, i: [Entry(p, Fate.CARRIED, "Tariff.country_code + party_id")],
    "OperatorName": _drop("not read (OCPI tariffs name no operator)"),
    "ProviderID": lambda c, p, v, i: [
        Entry(p, Fate.CARRIED, "a Tariff for every eMSP")
        if v == "*"
        else Entry(
            p, Fate.DROPPED, None, "OCPI tariffs have no per-eMSP dimension: the price is for everyone"
        )
    ],
    "PricingDefaultPrice": _drop("OCPI has no default tariff"),
    "PricingDefaultPriceCurrency": _drop("OCPI has no default tariff"),
    "PricingDefaultReferenceUnit": _drop("OCPI has no default tariff"),
    "ProductID": lambda c, p, v, i: [_ocpi_id(p, "Tariff.id", str(v), str(_tariff(c).id))],
    "ReferenceUnit": _read_unit,
    "ProductPriceCurrency": _carry("Tariff.currency", lambda c, i: _tariff(c).currency, "not read"),
    "PricePerReferenceUnit": _read_base,
    "MaximumProductChargingPower": _drop("not read (restrictions.max_power is not filled)"),
    "IsValid24hours": lambda c, p, v, i: [
        Entry(p, Fate.CARRIED, "elements without time restrictions" if v else "elements[].restrictions")
    ],
    "ProductAvailabilityTimes": DESCEND,
    "ProductAvailabilityTimes[].Periods": DESCEND,
    "ProductAvailabilityTimes[].Periods[].begin": _read_times("begin", "start_time"),
    "ProductAvailabilityTimes[].Periods[].end": _read_times("end", "end_time"),
    "ProductAvailabilityTimes[].on": _read_times("on", "day_of_week"),
    "AdditionalReferences": DESCEND,
    "AdditionalReferences[].AdditionalReference": _read_reference,
    "AdditionalReferences[].AdditionalReferenceUnit": _read_reference_unit,
    "AdditionalReferences[].PricePerAdditionalReferenceUnit": _read_reference_price,
}


def report_pricing_product(
    record: Mapping[str, Any],
    at: datetime,
    operator_id: str,
    wrapper: Mapping[str, Any] | None = None,
) -> ObjectReport:
    """An OICP pricing product (parsed JSON) of ``operator_id`` as an OCPI Tariff; ``wrapper``: the
    PricingProductData it came in (its other fields are reported with the product)."""
    raw = dict(codec.normalize(dict(record)))
    parsed: m.PricingProductDataRecord = _convert(raw, m.PricingProductDataRecord)
    walked: dict[str, Any] = {}
    for key in (
        "OperatorID",
        "OperatorName",
        "ProviderID",
        "PricingDefaultPrice",
        "PricingDefaultPriceCurrency",
        "PricingDefaultReferenceUnit",
    ):
        if wrapper is not None and wrapper.get(key) is not None:
            walked[key] = wrapper[key]
    walked.update(raw)
    tariff, gone = None, None
    try:
        tariff = tariff_of(parsed, operator_id, DateTime.from_datetime(at))
    except ValueError as exc:
        gone = f"the product is not read: {exc}"
    ctx = _PricingCtx(parsed, tariff, gone)
    entries = _analyse("OICP PricingProductDataRecord", _PRICING_RULES, walked, ctx, {"": _pricing_gate})
    if tariff is not None:
        entries.append(
            _supplied("price_components[].step_size", "mandatory in OCPI, no OICP source: 1 (or 60)")
        )
        entries.append(_supplied("Tariff.last_updated", "the time of reading"))
    notes = [_operator_note(operator_id)]
    if len(parsed.ProductID) > 36:
        notes.append(f"ProductID {parsed.ProductID!r} is longer than an OCPI id (36): shortened with a hash")
    return ObjectReport(
        "OICP", "PricingProductDataRecord", parsed.ProductID, "OICP -> OCPI", tuple(entries), tuple(notes)
    )


# -- OICP Identification -> OCPI Token (alone and inside messages) ---------------------------------------

_MEMBERS = (
    "RFIDMifareFamilyIdentification",
    "RFIDIdentification",
    "RemoteIdentification",
    "PlugAndChargeIdentification",
    "QRCodeIdentification",
)


@dataclass
class _IdentCtx:
    token: Token | None
    chosen: str | None
    extra: Any = None


def _one_member(raw: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The identification as evroam's model takes it (exactly one member) and the member kept."""
    present = [name for name in _MEMBERS if raw.get(name) is not None]
    if not present:
        return dict(raw), None
    return {present[0]: raw[present[0]]}, present[0]


def _member_gate(member: str) -> Gate:
    def gate(ctx: _IdentCtx, idx: tuple[int, ...]) -> str | None:
        if ctx.chosen == member:
            return None
        return (
            f"a second Identification member: evroam reads exactly one ({ctx.chosen}); "
            "the message as sent is refused"
        )

    return gate


def _tok(attr: str, target: str, how: str | None = None) -> Handler:
    def rule(ctx: _IdentCtx, path: str, value: Any, idx: tuple[int, ...]) -> list[Entry]:
        assert ctx.token is not None
        return [_entry(path, target, value, getattr(ctx.token, attr), how)]

    return rule


def _ident_rules(prefix: str, target: str) -> tuple[dict[str, Any], dict[str, Gate]]:
    p = prefix
    rules: dict[str, Any] = {
        f"{p}RFIDMifareFamilyIdentification": DESCEND,
        f"{p}RFIDMifareFamilyIdentification.UID": _tok("uid", f"{target}.uid (type RFID)"),
        f"{p}RFIDIdentification": DESCEND,
        f"{p}RFIDIdentification.UID": _tok("uid", f"{target}.uid (type RFID)"),
        f"{p}RFIDIdentification.RFID": _drop("OCPI tokens do not say which RFID family"),
        f"{p}RFIDIdentification.EvcoID": _tok("contract_id", f"{target}.contract_id"),
        f"{p}RFIDIdentification.PrintedNumber": _drop("not read (Token.visual_number is not filled)"),
        f"{p}RFIDIdentification.ExpiryDate": _drop("OCPI tokens have no expiry date"),
        f"{p}RemoteIdentification": DESCEND,
        f"{p}RemoteIdentification.EvcoID": _tok("contract_id", f"{target}.contract_id (type APP_USER)"),
        f"{p}PlugAndChargeIdentification": DESCEND,
        f"{p}PlugAndChargeIdentification.EvcoID": lambda c, path, v, i: [
            Entry(
                path,
                Fate.CHANGED,
                f"{target}.contract_id",
                "ISO 15118 Plug and Charge is not modelled in OCPI: an APP_USER token by contract ID",
            )
        ],
        f"{p}QRCodeIdentification": DESCEND,
        f"{p}QRCodeIdentification.EvcoID": lambda c, path, v, i: [
            Entry(
                path,
                Fate.CHANGED,
                f"{target}.contract_id",
                "OCPI has no QR-code identification: an APP_USER token",
            )
        ],
        f"{p}QRCodeIdentification.PIN": _drop("OCPI tokens have no PIN"),
        f"{p}QRCodeIdentification.HashedPIN": _drop("OCPI tokens have no PIN"),
    }
    gates = {f"{p}{member}": _member_gate(member) for member in _MEMBERS}
    return rules, gates


def _token_supplied(token: Token | None, target: str) -> list[Entry]:
    if token is None:
        return []
    out = [
        _supplied(f"{target}.type", f"synthesised: {token.type}"),
        _supplied(
            f"{target}.issuer, valid, whitelist",
            f"mandatory in OCPI, no OICP source: {token.issuer!r}, valid, whitelist NEVER",
        ),
    ]
    if str(token.type) == "RFID" and token.contract_id == token.uid:
        out.append(
            _supplied(f"{target}.contract_id", "mandatory in OCPI, Hubject sends none for RFID: the UID")
        )
    return out


def _token_for(
    raw_ident: Mapping[str, Any], provider_id: str | None, at: datetime
) -> tuple[Token | None, str | None]:
    one, chosen = _one_member(raw_ident)
    identification: m.Identification = _convert(one, m.Identification)
    return token_of(identification, provider_id, DateTime.from_datetime(at)), chosen


def report_identification(
    raw: Mapping[str, Any], at: datetime, provider_id: str | None = None
) -> ObjectReport:
    """An OICP Identification as the OCPI Token a CPO hands its chargers."""
    data = dict(codec.normalize(dict(raw)))
    token, chosen = _token_for(data, provider_id, at)
    rules, gates = _ident_rules("", "Token")
    entries = _analyse("OICP Identification", rules, data, _IdentCtx(token, chosen), gates)
    entries += _token_supplied(token, "Token")
    notes = [] if provider_id is None else [_provider_note(provider_id)]
    return ObjectReport(
        "OICP",
        "Identification",
        str(token.uid) if token else "-",
        "OICP -> OCPI",
        tuple(entries),
        tuple(notes),
    )


def _provider_note(provider_id: str) -> str:
    try:
        cc, pid = party_of_provider(provider_id)
    except ValueError:
        return f"ProviderID {provider_id!r} has no OCPI party form"
    return f"ProviderID {provider_id!r} = OCPI party {cc}/{pid}"


# -- OICP AuthorizeRemoteStart -> OCPI START_SESSION; AuthorizeStart -> OCPI real-time authorization -------


def _remote_rules() -> tuple[dict[str, Any], dict[str, Gate]]:
    rules, gates = _ident_rules("Identification.", "StartSession.token")
    rules.update(
        {
            "ProviderID": lambda c, p, v, i: [
                Entry(p, Fate.CARRIED, "StartSession.token.country_code + party_id")
                if c.token is not None
                and (str(c.token.country_code), str(c.token.party_id)) == _party_or_none(v)
                else Entry(p, Fate.DROPPED, None, f"{v!r} has no OCPI party form")
            ],
            "EvseID": lambda c, p, v, i: [
                Entry(p, Fate.CARRIED, "StartSession.location_id + evse_uid (the EVSE with this evse_id)")
            ],
            "Identification": DESCEND,
            "SessionID": lambda c, p, v, i: [Entry(p, Fate.CARRIED, "StartSession.authorization_reference")],
            "PartnerProductID": _drop("OCPI START_SESSION names no product"),
            "CPOPartnerSessionID": _drop(_NO_OCPI),
            "EMPPartnerSessionID": _drop(_NO_OCPI),
        }
    )
    return rules, gates


def _party_or_none(provider_id: Any) -> tuple[str, str] | None:
    try:
        return party_of_provider(str(provider_id))
    except ValueError:
        return None


def report_authorize_remote_start(raw: Mapping[str, Any], at: datetime) -> ObjectReport:
    """An OICP AuthorizeRemoteStart as the OCPI START_SESSION command a CPO sends its charger."""
    data = dict(codec.normalize(dict(raw)))
    one, chosen = _one_member(data.get("Identification") or {})
    parsed: m.AuthorizeRemoteStart = _convert({**data, "Identification": one}, m.AuthorizeRemoteStart)
    token = token_of(parsed.Identification, parsed.ProviderID, DateTime.from_datetime(at))
    rules, gates = _remote_rules()
    entries = _analyse("OICP AuthorizeRemoteStart", rules, data, _IdentCtx(token, chosen), gates)
    entries += _token_supplied(token, "StartSession.token")
    entries.append(
        _supplied(
            "StartSession.connector_id", "OICP names no connector (refused by an EVSE that requires one)"
        )
    )
    entries.append(_supplied("StartSession.response_url", "evroam's own: OICP answers synchronously"))
    notes = [
        _provider_note(parsed.ProviderID),
        _id_note_evse(parsed.EvseID),
        "Hubject's SessionID <-> OCPI authorization_reference (kept to match the session and the CDR)",
    ]
    return ObjectReport(
        "OICP",
        "AuthorizeRemoteStart",
        parsed.SessionID or parsed.EvseID,
        "OICP -> OCPI",
        tuple(entries),
        tuple(notes),
    )


def report_authorize_start(raw: Mapping[str, Any], at: datetime) -> ObjectReport:
    """An OICP AuthorizeStart as an OCPI real-time authorization (``POST tokens/{uid}/authorize``)."""
    data = dict(codec.normalize(dict(raw)))
    one, chosen = _one_member(data.get("Identification") or {})
    parsed: m.AuthorizeStart = _convert({**data, "Identification": one}, m.AuthorizeStart)
    token = token_of(parsed.Identification, None, DateTime.from_datetime(at))
    rules, gates = _ident_rules("Identification.", "authorize token")
    rules.update(
        {
            "OperatorID": lambda c, p, v, i: [
                Entry(p, Fate.CARRIED, "the caller's party (OCPI-from headers)")
            ],
            "EvseID": lambda c, p, v, i: [
                Entry(
                    p, Fate.CARRIED, "LocationReferences.location_id + evse_uids (the EVSE with this evse_id)"
                )
            ],
            "Identification": DESCEND,
            "SessionID": lambda c, p, v, i: [
                Entry(p, Fate.CARRIED, "AuthorizationInfo.authorization_reference")
            ],
            "PartnerProductID": _drop(_NO_OCPI),
            "CPOPartnerSessionID": _drop(_NO_OCPI),
            "EMPPartnerSessionID": _drop(_NO_OCPI),
        }
    )
    entries = _analyse("OICP AuthorizeStart", rules, data, _IdentCtx(token, chosen), gates)
    if parsed.EvseID is None:
        entries.append(
            _supplied("LocationReferences", "no EvseID: the eMSP may answer 2002 (not enough information)")
        )
    notes = [_operator_note(parsed.OperatorID)]
    if parsed.EvseID:
        notes.append(_id_note_evse(parsed.EvseID, parsed.OperatorID))
    return ObjectReport(
        "OICP",
        "AuthorizeStart",
        parsed.SessionID or str(token.uid),
        "OICP -> OCPI",
        tuple(entries),
        tuple(notes),
    )


# -- OICP ChargeDetailRecord -> OCPI CDR fields ----------------------------------------------------------


def _cdr_rules() -> tuple[dict[str, Any], dict[str, Gate]]:
    rules, gates = _ident_rules("Identification.", "CDR.cdr_token")
    rules.update(
        {
            "SessionID": lambda c, p, v, i: [
                Entry(
                    p,
                    Fate.CARRIED,
                    "CDR.authorization_reference + session_id (and the CDR id derived from it)",
                )
            ],
            "CPOPartnerSessionID": _drop(_NO_OCPI),
            "EMPPartnerSessionID": _drop(_NO_OCPI),
            "PartnerProductID": lambda c, p, v, i: [
                Entry(
                    p,
                    Fate.CHANGED,
                    "CDR.charging_periods[].tariff_id",
                    "a loose link only: no prices come with it",
                )
            ],
            "EvseID": lambda c, p, v, i: [
                Entry(
                    p, Fate.CARRIED, "CDR.cdr_location.evse_id (the rest of cdr_location from the EVSE data)"
                )
            ],
            "Identification": DESCEND,
            "ChargingStart": lambda c, p, v, i: [
                Entry(
                    p,
                    Fate.CHANGED,
                    "CDR.charging_periods[0].start_date_time",
                    "one charging period from start to end",
                )
            ],
            "ChargingEnd": _drop("OCPI charging periods have no end: implied by the CDR's end_date_time"),
            "SessionStart": lambda c, p, v, i: [Entry(p, Fate.CARRIED, "CDR.start_date_time (in UTC)")],
            "SessionEnd": lambda c, p, v, i: [Entry(p, Fate.CARRIED, "CDR.end_date_time (in UTC)")],
            "ConsumedEnergy": lambda c, p, v, i: [Entry(p, Fate.CARRIED, "CDR.total_energy")],
            "MeterValueStart": _drop("OCPI has meter values only inside signed_data"),
            "MeterValueEnd": _drop("OCPI has meter values only inside signed_data"),
            "MeterValueInBetween": _drop("OCPI has meter values only inside signed_data"),
            "SignedMeteringValues": DESCEND,
            "SignedMeteringValues[].SignedMeteringValue": lambda c, p, v, i: [
                Entry(
                    p,
                    Fate.CHANGED,
                    "CDR.signed_data.signed_values[].signed_data",
                    "OCPI keeps plain and signed data apart: OICP has one string, plain_data stays empty",
                )
            ],
            "SignedMeteringValues[].MeteringStatus": lambda c, p, v, i: [
                Entry(
                    p,
                    Fate.CHANGED,
                    "CDR.signed_data.signed_values[].nature",
                    "Start/Progress/End becomes Start/Intermediate/End",
                )
            ],
            "CalibrationLawVerificationInfo": DESCEND,
            "CalibrationLawVerificationInfo.CalibrationLawCertificateID": _drop(_NO_OCPI),
            "CalibrationLawVerificationInfo.PublicKey": lambda c, p, v, i: [
                Entry(p, Fate.CARRIED, "CDR.signed_data.public_key")
                if len(str(v)) <= 512
                else Entry(
                    p,
                    Fate.CHANGED,
                    "CDR.signed_data.public_key",
                    f"OCPI public_key is at most 512 characters, this is {len(str(v))}: truncated",
                )
            ],
            "CalibrationLawVerificationInfo.MeteringSignatureUrl": lambda c, p, v, i: [
                Entry(p, Fate.CARRIED, "CDR.signed_data.url")
            ],
            "CalibrationLawVerificationInfo.MeteringSignatureEncodingFormat": lambda c, p, v, i: [
                Entry(p, Fate.CARRIED, "CDR.signed_data.encoding_method")
                if len(str(v)) <= 36
                else Entry(
                    p, Fate.CHANGED, "CDR.signed_data.encoding_method", "at most 36 characters in OCPI"
                )
            ],
            "CalibrationLawVerificationInfo.SignedMeteringValuesVerificationInstruction": _drop(_NO_OCPI),
            "HubOperatorID": _drop(_NO_OCPI),
            "HubProviderID": _drop(_NO_OCPI),
        }
    )
    return rules, gates


def report_oicp_cdr(raw: Mapping[str, Any], at: datetime) -> ObjectReport:
    """An OICP ChargeDetailRecord as the fields of an OCPI CDR (OICP CDRs carry energy and time only)."""
    data = dict(codec.normalize(dict(raw)))
    one, chosen = _one_member(data.get("Identification") or {})
    parsed: m.ChargeDetailRecord = _convert({**data, "Identification": one}, m.ChargeDetailRecord)
    token = token_of(parsed.Identification, None, DateTime.from_datetime(at))
    rules, gates = _cdr_rules()
    entries = _analyse("OICP ChargeDetailRecord", rules, data, _IdentCtx(token, chosen), gates)
    for name, why in (
        ("CDR.currency, total_cost", _MONEY + ": priced from the pricing product, or zero"),
        ("CDR.charging_periods", "mandatory in OCPI: one period with the consumed energy"),
        ("CDR.cdr_location", "mandatory in OCPI: from the EVSE data of the EvseID"),
        ("CDR.auth_method", "COMMAND for a remote start, AUTH_REQUEST for an AuthorizeStart"),
        ("CDR.total_time", "SessionEnd - SessionStart"),
    ):
        entries.append(_supplied(name, why))
    notes = [
        _id_note_evse(parsed.EvseID),
        f"Hubject's SessionID {parsed.SessionID!r} <-> OCPI authorization_reference",
    ]
    return ObjectReport(
        "OICP", "ChargeDetailRecord", parsed.SessionID, "OICP -> OCPI", tuple(entries), tuple(notes)
    )
