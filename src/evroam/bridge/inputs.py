"""What a JSON document holds, for ``evroam bridge report``: parsed JSON in, loss reports out (no I/O).

OCPI: a Location, Tariff, CDR, Token or Session object (or an OCPI response envelope whose ``data`` is
one or a list of them), of the version given or the first modelled version that reads it. OICP: an
EVSE data record, a PushEvseData body or a pull answer page, EVSE status records or answers, a pricing
product (alone, a PricingProductData, a PushPricingProductData or a pull answer), a ChargeDetailRecord
or a page of them, an Identification, an AuthorizeRemoteStart or an AuthorizeStart. The kind is
detected from the keys unless it is given. Anything else raises :class:`BadInput`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import msgspec

from evroam.bridge.report import (
    Entry,
    Fate,
    ObjectReport,
    profile_for,
    report_authorize_remote_start,
    report_authorize_start,
    report_cdr,
    report_evse_data,
    report_evse_status,
    report_identification,
    report_location,
    report_oicp_cdr,
    report_pricing_product,
    report_session,
    report_tariff,
    report_token,
)
from evroam.core import codec as core_codec
from evroam.core.errors import EvroamError
from evroam.ocpi.converters import converters
from evroam.ocpi.modelled import MODELLED_VERSIONS
from evroam.oicp import codec as oicp_codec
from evroam.oicp.convert import OperatorProfile
from evroam.oicp.ids import evse_operator

__all__ = ["OCPI_KINDS", "OICP_KINDS", "BadInput", "ocpi_reports", "oicp_reports"]

OCPI_KINDS = ("location", "tariff", "cdr", "token", "session")
OICP_KINDS = (
    "evse-data",
    "evse-status",
    "pricing",
    "cdr",
    "identification",
    "remote-start",
    "authorize-start",
)
_MODEL = {"location": "Location", "tariff": "Tariff", "cdr": "CDR", "token": "Token", "session": "Session"}
_MEMBERS = frozenset(
    {
        "RFIDMifareFamilyIdentification",
        "RFIDIdentification",
        "QRCodeIdentification",
        "PlugAndChargeIdentification",
        "RemoteIdentification",
    }
)


class BadInput(ValueError):
    """The document is not something the report reads (one line, for the command's error)."""


# -- OCPI ------------------------------------------------------------------------------------------------


def _ocpi_kind(obj: Mapping[str, Any]) -> str:
    if "evses" in obj or ({"address", "coordinates"} <= obj.keys() and ("publish" in obj or "type" in obj)):
        return "location"
    if "elements" in obj and "currency" in obj:
        return "tariff"
    if "kwh" in obj and "status" in obj:
        return "session"
    if "total_energy" in obj and "charging_periods" in obj:
        return "cdr"
    if "whitelist" in obj and ("contract_id" in obj or "auth_id" in obj):
        return "token"
    raise BadInput("cannot tell which OCPI object this is (give --kind)")


def _field_names(version: str) -> frozenset[str]:
    names: set[str] = set()
    for model in converters(version).models.values():
        if isinstance(model, type) and issubclass(model, msgspec.Struct):
            names.update(f.encode_name for f in msgspec.structs.fields(model))
    return frozenset(names)


def _unknown_keys(raw: Any, known: frozenset[str], path: str = "") -> list[str]:
    out: list[str] = []
    if isinstance(raw, Mapping):
        for key, value in raw.items():
            p = f"{path}.{key}" if path else str(key)
            if key not in known:
                out.append(p)
            else:
                out += _unknown_keys(value, known, p)
    elif isinstance(raw, list):
        for i, item in enumerate(raw):
            out += _unknown_keys(item, known, f"{path}[{i}]")
    return out


def _owner_of(obj: Mapping[str, Any]) -> tuple[str, str]:
    """The owner of a 2.1.1 object (which carries none): the operator of its first eMI3 EVSE ID."""
    for evse in obj.get("evses") or ():
        operator = evse_operator(str(evse.get("evse_id") or "")) if isinstance(evse, Mapping) else None
        if operator and operator[:2].isalpha():
            return operator[:2], operator[2:]
    return "ZZ", "ZZZ"


def _read_ocpi(obj: Mapping[str, Any], kind: str, version: str) -> Any:
    c = converters(version)
    wire = core_codec.convert(obj, c.models[_MODEL[kind]])
    cc, pid = _owner_of(obj)
    reader: Callable[..., Any] = getattr(c, f"{kind}_to_model")
    return reader(wire, country_code=cc, party_id=pid)


def _one_ocpi(
    obj: Mapping[str, Any],
    kind: str | None,
    version: str | None,
    now: datetime,
    profile: OperatorProfile | None,
) -> ObjectReport:
    kind = kind or _ocpi_kind(obj)
    tried: list[str] = []
    canonical = None
    for v in [version] if version else list(reversed(MODELLED_VERSIONS)):
        try:
            canonical = _read_ocpi(obj, kind, v)
        except (EvroamError, ValueError) as exc:
            tried.append(f"{v}: {exc}")
            continue
        version = v
        break
    if canonical is None or version is None:
        raise BadInput(f"not an OCPI {kind} evroam reads ({'; '.join(tried)})")
    if kind == "location":
        report = report_location(
            canonical, profile or profile_for(canonical.country_code, canonical.party_id), now
        )
    else:
        analyse: dict[str, Callable[[Any], ObjectReport]] = {
            "tariff": report_tariff,
            "cdr": report_cdr,
            "token": report_token,
            "session": report_session,
        }
        report = analyse[kind](canonical)
    unknown = _unknown_keys(obj, _field_names(version))
    extra = tuple(
        Entry(p, Fate.DROPPED, None, f"not an OCPI {version} field: ignored when read") for p in unknown
    )
    note = f"read as OCPI {version}"
    if version == "2.1.1":
        note += f"; owner {canonical.country_code}/{canonical.party_id} (2.1.1 objects carry none)"
    return ObjectReport(
        report.protocol,
        report.kind,
        report.id,
        report.direction,
        report.entries + extra,
        (note, *report.notes),
    )


def ocpi_reports(
    data: Any,
    now: datetime,
    *,
    kind: str | None = None,
    version: str | None = None,
    profile: OperatorProfile | None = None,
) -> list[ObjectReport]:
    """The loss reports of an OCPI document (an object, a list, or a response envelope)."""
    if isinstance(data, Mapping) and "data" in data and "status_code" in data:
        data = data["data"]
    items = data if isinstance(data, list) else [data]
    if not items or not all(isinstance(i, Mapping) for i in items):
        raise BadInput("an OCPI document is a JSON object (or a list of them)")
    return [_one_ocpi(i, kind, version, now, profile) for i in items]


# -- OICP ------------------------------------------------------------------------------------------------


def _oicp_kind(d: Mapping[str, Any]) -> str:
    keys = set(d)
    if "OperatorEvseData" in keys or ("EvseID" in keys and "Plugs" in keys):
        return "evse-data"
    if "content" in keys and isinstance(d["content"], list):
        first = d["content"][0] if d["content"] else {}
        return "evse-data" if isinstance(first, Mapping) and "Plugs" in first else "cdr"
    if keys & {"EvseStatuses", "OperatorEvseStatus", "EVSEStatusRecords", "EvseStatusRecord"} or (
        "EvseID" in keys and "EvseStatus" in keys
    ):
        return "evse-status"
    if keys & {"PricingProductData", "PricingProductDataRecords"} or {"ProductID", "ReferenceUnit"} <= keys:
        return "pricing"
    if {"SessionID", "ConsumedEnergy", "ChargingEnd"} <= keys and "Type" not in keys:
        return "cdr"
    if {"ProviderID", "EvseID", "Identification"} <= keys and "Duration" not in keys:
        return "remote-start"
    if {"OperatorID", "Identification"} <= keys:
        return "authorize-start"
    if keys and keys <= _MEMBERS:
        return "identification"
    raise BadInput("cannot tell which OICP message this is (give --kind)")


def _records(
    d: Mapping[str, Any], operator_id: str | None
) -> list[tuple[Mapping[str, Any], str | None, str | None]]:
    if "OperatorEvseData" in d:
        w = d["OperatorEvseData"]
        return [(r, w.get("OperatorID"), w.get("OperatorName")) for r in w.get("EvseDataRecord") or ()]
    if "content" in d:
        return [(r, None, None) for r in d["content"]]
    return [(d, operator_id, None)]


def _statuses(d: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if "EvseStatuses" in d:
        d = d["EvseStatuses"]
    if "OperatorEvseStatus" in d:
        groups = d["OperatorEvseStatus"]
        groups = groups if isinstance(groups, list) else [groups]
        return [r for g in groups for r in g.get("EvseStatusRecord") or ()]
    if "EVSEStatusRecords" in d:
        return list(d["EVSEStatusRecords"].get("EvseStatusRecord") or ())
    if "EvseStatusRecord" in d:
        return list(d["EvseStatusRecord"])
    return [d]


def _products(
    d: Mapping[str, Any], operator_id: str | None
) -> list[tuple[Mapping[str, Any], str, Mapping[str, Any] | None]]:
    wrappers: list[Mapping[str, Any]]
    if "PricingProductData" in d:
        found = d["PricingProductData"]
        wrappers = found if isinstance(found, list) else [found]
    elif "PricingProductDataRecords" in d:
        wrappers = [d]
    else:
        if operator_id is None:
            raise BadInput("a pricing product alone names no operator (give --operator-id)")
        return [(d, operator_id, None)]
    return [
        (r, str(w.get("OperatorID")), w) for w in wrappers for r in w.get("PricingProductDataRecords") or ()
    ]


def oicp_reports(
    data: Any, now: datetime, *, kind: str | None = None, operator_id: str | None = None
) -> list[ObjectReport]:
    """The loss reports of an OICP document (see the module docstring)."""
    if not isinstance(data, Mapping):
        raise BadInput("an OICP document is a JSON object")
    d = oicp_codec.normalize(dict(data))
    kind = kind or _oicp_kind(d)
    try:
        if kind == "evse-data":
            out = []
            for record, operator, name in _records(d, operator_id):
                if operator is None and "OperatorID" not in record:
                    raise BadInput("an EVSE data record alone names no operator (give --operator-id)")
                out.append(report_evse_data(record, now, operator, name))
            return out
        if kind == "evse-status":
            return [report_evse_status(r) for r in _statuses(d)]
        if kind == "pricing":
            return [report_pricing_product(r, now, op, w) for r, op, w in _products(d, operator_id)]
        if kind == "cdr":
            return [report_oicp_cdr(r, now) for r in d.get("content", [d])]
        if kind == "identification":
            return [report_identification(d, now)]
        if kind == "remote-start":
            return [report_authorize_remote_start(d, now)]
        if kind == "authorize-start":
            return [report_authorize_start(d, now)]
    except (KeyError, TypeError, AttributeError) as exc:
        raise BadInput(f"not an OICP {kind} message: {exc}") from None
    except BadInput:
        raise
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    raise BadInput(f"unknown OICP kind {kind!r}")
