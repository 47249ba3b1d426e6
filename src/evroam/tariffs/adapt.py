"""From OCPI objects to the engine's input types.

Two doors in:

* plain JSON values (``dict`` as parsed from the wire, numbers as ``Decimal``, ``float``, ``int`` or
  ``str``): :func:`tariff_from_json`, :func:`session_from_json`, :func:`tariffs_from_json`;
* the wire models of :mod:`evroam.ocpi.v2_1_1`, :mod:`evroam.ocpi.v2_2_1` and :mod:`evroam.ocpi.v2_3_0`:
  :func:`tariff_from_wire`, :func:`session_from_wire`, which take the version from the model's package.

Both accept a Tariff of every version and a Session or a CDR of every version (2.1.1 spells the times
``start_datetime``/``end_datetime`` in a Session and ``stop_date_time`` in a CDR).

How a ChargingPeriod becomes a :class:`~evroam.tariffs.model.Period`: it lasts until the next period's
``start_date_time`` (the last until the session's end). A period with ``RESERVATION_TIME`` is a
reservation; one with ``PARKING_TIME`` and no ``TIME`` is parking; any other is charging. A period with
both ``TIME`` and ``PARKING_TIME`` is split: charging for ``TIME`` hours (with all its energy), then parking.
Energy is the ``ENERGY`` volume (else ``ENERGY_IMPORT``); power and current are ``MIN_``/``MAX_`` values,
else the average ``POWER``/``CURRENT``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from evroam.core.types import CiString, DateTime
from evroam.tariffs.model import (
    DayOfWeek,
    Dimension,
    Element,
    Period,
    PriceComponent,
    PriceLimit,
    ReservationRestriction,
    Restrictions,
    Session,
    State,
    Tariff,
    TaxIncluded,
)

__all__ = [
    "AdaptError",
    "detect_version",
    "guess_version",
    "session_from_json",
    "session_from_wire",
    "tariff_from_json",
    "tariff_from_wire",
    "tariffs_from_json",
    "time_zone_of",
    "wire_version",
]

VERSIONS = ("2.1.1", "2.2.1", "2.3.0")


class AdaptError(ValueError):
    """The object cannot be read as a tariff / session (says which field and why)."""


# --------------------------------------------------------------------------------------------------
# plain JSON


def guess_version(data: Mapping[str, Any]) -> str | None:
    """The OCPI version an object (Tariff, Session or CDR, as JSON) is written in, when its shape says
    it; ``None`` when it could be 2.2.1 as well as 2.3.0."""
    if "tax_included" in data:
        return "2.3.0"
    for key in ("total_cost", "min_price", "max_price", "total_energy_cost", "total_time_cost"):
        value = data.get(key)
        if isinstance(value, Mapping):
            if "before_taxes" in value:
                return "2.3.0"
            if "excl_vat" in value:
                return "2.2.1"
    if isinstance(data.get("total_cost"), (int, float, Decimal)):
        return "2.1.1"  # 2.2+ total_cost is a Price object
    tariffs = data.get("tariffs")
    if isinstance(tariffs, list) and any(isinstance(t, Mapping) and "tax_included" in t for t in tariffs):
        return "2.3.0"
    if "stop_date_time" in data or "start_datetime" in data or "auth_id" in data:
        return "2.1.1"
    if "elements" in data and "country_code" not in data:
        return "2.1.1"
    return None


def detect_version(data: Mapping[str, Any]) -> str:
    """:func:`guess_version`, with 2.2.1 when the shape does not tell."""
    return guess_version(data) or "2.2.1"


def tariff_from_json(data: Mapping[str, Any], version: str | None = None) -> Tariff:
    """A Tariff object of any version (as parsed JSON) as the engine's :class:`Tariff`.

    A 2.3.0 tariff without the required ``tax_included`` (the official 2.3.0 ``cdr_example`` embeds one)
    is read as ``NO``: prices before taxes, ``vat`` on top.
    """
    version = _version(version or detect_version(data))
    try:
        elements_raw = data["elements"]
        elements = tuple(_element(e, version, f"$.elements[{i}]") for i, e in enumerate(elements_raw))
        tax_included = None
        if version == "2.3.0":
            raw_ti = data.get("tax_included")
            tax_included = TaxIncluded(raw_ti) if raw_ti is not None else TaxIncluded.NO
        return Tariff(
            id=str(data["id"]),
            currency=str(data.get("currency", "")),
            elements=elements,
            version=version,
            tax_included=tax_included,
            min_price=_limit(data.get("min_price"), "$.min_price"),
            max_price=_limit(data.get("max_price"), "$.max_price"),
            start_date_time=_dt(data.get("start_date_time"), "$.start_date_time"),
            end_date_time=_dt(data.get("end_date_time"), "$.end_date_time"),
            type=data.get("type"),
        )
    except KeyError as exc:
        raise AdaptError(f"tariff: missing field {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        if isinstance(exc, AdaptError):
            raise
        raise AdaptError(f"tariff: {exc}") from None


def tariffs_from_json(data: Mapping[str, Any], version: str | None = None) -> list[Tariff]:
    """The tariffs a CDR embeds (``tariffs``), in the CDR's version."""
    version = _version(version or detect_version(data))
    return [tariff_from_json(t, version) for t in data.get("tariffs") or ()]


def session_from_json(
    data: Mapping[str, Any],
    version: str | None = None,
    *,
    now: datetime | None = None,
    reservation_expired: bool | None = None,
) -> Session:
    """An OCPI Session or CDR of any version (as parsed JSON) as the engine's :class:`Session`.

    An ongoing session has no end yet: ``now`` is then its end (else its last period's start).
    A Session without charging periods becomes one charging period with its ``kwh``.
    """
    version = _version(version or detect_version(data))
    start_raw = data.get("start_date_time", data.get("start_datetime"))
    end_raw = data.get("end_date_time", data.get("stop_date_time", data.get("end_datetime")))
    start = _dt(start_raw, "$.start_date_time")
    if start is None:
        raise AdaptError("session: missing field 'start_date_time'")
    end = _dt(end_raw, "$.end_date_time")
    raw_periods = data.get("charging_periods") or []
    periods: list[Period] = []
    starts: list[datetime] = []
    for i, raw in enumerate(raw_periods):
        at = _dt(raw.get("start_date_time"), f"$.charging_periods[{i}].start_date_time")
        if at is None:
            raise AdaptError(f"session: missing $.charging_periods[{i}].start_date_time")
        starts.append(at)
    if end is None:
        end = now if now is not None else (max(starts) if starts else start)
    order = sorted(range(len(raw_periods)), key=lambda i: starts[i])
    for pos, i in enumerate(order):
        raw = raw_periods[i]
        following = starts[order[pos + 1]] if pos + 1 < len(order) else end
        periods.extend(_periods(raw, starts[i], following, f"$.charging_periods[{i}]"))
    kwh = _num(data.get("kwh", data.get("total_energy")), "$.kwh") or Decimal(0)
    if not raw_periods:
        periods.append(Period(start=start, state=State.CHARGING, energy=kwh))
    elif kwh > 0 and not any(_has_energy(raw) for raw in raw_periods):
        periods = _spread(periods, kwh, end)
    return Session(start=start, end=end, periods=tuple(periods), reservation_expired=reservation_expired)


def _has_energy(raw: Mapping[str, Any]) -> bool:
    return any(d.get("type") in ("ENERGY", "ENERGY_IMPORT") for d in raw.get("dimensions") or ())


def _spread(periods: list[Period], kwh: Decimal, end: datetime) -> list[Period]:
    """Periods that carry no energy at all (the official cdr_example has only TIME) get the object's
    ``kwh``/``total_energy`` spread over the charging periods in proportion to their duration."""
    ends = [p.start for p in periods[1:]] + [end]
    spans = [
        (e - p.start) // timedelta(microseconds=1) if p.state == State.CHARGING else 0
        for p, e in zip(periods, ends, strict=True)
    ]
    total = sum(spans)
    if total <= 0:
        return periods
    out = []
    given = Decimal(0)
    last = max(i for i, span in enumerate(spans) if span > 0)
    for i, (period, span) in enumerate(zip(periods, spans, strict=True)):
        share = kwh - given if i == last else kwh * span / total if span else Decimal(0)
        given += share
        out.append(msgspec.structs.replace(period, energy=share))
    return out


def time_zone_of(data: Mapping[str, Any]) -> str | None:
    """The location's time zone when the object carries it (a 2.1.1 CDR embeds the whole Location;
    a 2.1.1 Session too); ``None`` otherwise (2.2+ CdrLocation has none)."""
    location = data.get("location")
    if isinstance(location, Mapping):
        tz = location.get("time_zone")
        if isinstance(tz, str) and tz:
            return tz
    return None


def _version(version: str) -> str:
    if version not in VERSIONS:
        raise AdaptError(f"unsupported OCPI version {version!r} (one of {', '.join(VERSIONS)})")
    return version


def _num(value: Any, path: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise AdaptError(f"{path}: expected a number, got {value!r}")
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value)) if isinstance(value, (int, float, str)) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise AdaptError(f"{path}: expected a number, got {value!r}") from None


def _int(value: Any, path: str) -> int | None:
    number = _num(value, path)
    if number is None:
        return None
    if number != number.to_integral_value():
        raise AdaptError(f"{path}: expected an integer, got {value!r}")
    return int(number)


def _dt(value: Any, path: str) -> datetime | None:
    if value is None:
        return None
    try:
        return DateTime.parse(value)
    except (TypeError, ValueError) as exc:
        raise AdaptError(f"{path}: {exc}") from None


def _limit(value: Any, path: str) -> PriceLimit | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise AdaptError(f"{path}: expected an object")
    excl = value.get("excl_vat", value.get("before_taxes"))
    incl = value.get("incl_vat", value.get("after_taxes"))
    excl_d = _num(excl, f"{path}.excl_vat")
    if excl_d is None:
        raise AdaptError(f"{path}: missing excl_vat / before_taxes")
    return PriceLimit(excl_vat=excl_d, incl_vat=_num(incl, f"{path}.incl_vat"))


def _element(data: Mapping[str, Any], version: str, path: str) -> Element:
    components = []
    for i, c in enumerate(data.get("price_components") or ()):
        where = f"{path}.price_components[{i}]"
        try:
            dim = Dimension(c["type"])
        except (KeyError, ValueError):
            raise AdaptError(f"{where}.type: unknown dimension {c.get('type')!r}") from None
        price = _num(c.get("price"), f"{where}.price")
        if price is None:
            raise AdaptError(f"{where}.price: missing")
        step = _int(c.get("step_size", 1), f"{where}.step_size")
        vat = _num(c.get("vat"), f"{where}.vat") if version != "2.1.1" else None
        components.append(
            PriceComponent(type=dim, price=price, step_size=1 if step is None else step, vat=vat)
        )
    if not components:
        raise AdaptError(f"{path}.price_components: at least one is required")
    restrictions = _restrictions(data.get("restrictions"), f"{path}.restrictions")
    return Element(price_components=tuple(components), restrictions=restrictions)


def _clock(value: Any, path: str) -> time | None:
    if value is None:
        return None
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise AdaptError(f"{path}: expected HH:MM, got {value!r}") from None


def _date(value: Any, path: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise AdaptError(f"{path}: expected YYYY-MM-DD, got {value!r}") from None


def _restrictions(data: Any, path: str) -> Restrictions | None:
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise AdaptError(f"{path}: expected an object")
    days = data.get("day_of_week")
    try:
        day_set = frozenset(DayOfWeek(d) for d in days) if days else None
    except ValueError:
        raise AdaptError(f"{path}.day_of_week: unknown day in {days!r}") from None
    reservation_raw = data.get("reservation")
    try:
        reservation = ReservationRestriction(reservation_raw) if reservation_raw is not None else None
    except ValueError:
        raise AdaptError(f"{path}.reservation: unknown value {reservation_raw!r}") from None
    r = Restrictions(
        start_time=_clock(data.get("start_time"), f"{path}.start_time"),
        end_time=_clock(data.get("end_time"), f"{path}.end_time"),
        start_date=_date(data.get("start_date"), f"{path}.start_date"),
        end_date=_date(data.get("end_date"), f"{path}.end_date"),
        min_kwh=_num(data.get("min_kwh"), f"{path}.min_kwh"),
        max_kwh=_num(data.get("max_kwh"), f"{path}.max_kwh"),
        min_current=_num(data.get("min_current"), f"{path}.min_current"),
        max_current=_num(data.get("max_current"), f"{path}.max_current"),
        min_power=_num(data.get("min_power"), f"{path}.min_power"),
        max_power=_num(data.get("max_power"), f"{path}.max_power"),
        min_duration=_int(data.get("min_duration"), f"{path}.min_duration"),
        max_duration=_int(data.get("max_duration"), f"{path}.max_duration"),
        day_of_week=day_set,
        reservation=reservation,
    )
    return None if r.is_empty else r


def _periods(raw: Mapping[str, Any], start: datetime, end: datetime, path: str) -> list[Period]:
    volumes: dict[str, Decimal] = {}
    for i, d in enumerate(raw.get("dimensions") or ()):
        kind = str(d.get("type"))
        volume = _num(d.get("volume"), f"{path}.dimensions[{i}].volume")
        if volume is not None:
            volumes[kind] = volumes.get(kind, Decimal(0)) + volume
    energy = volumes.get("ENERGY", volumes.get("ENERGY_IMPORT", Decimal(0)))
    min_power = volumes.get("MIN_POWER", volumes.get("POWER"))
    max_power = volumes.get("MAX_POWER", volumes.get("POWER"))
    min_current = volumes.get("MIN_CURRENT", volumes.get("CURRENT"))
    max_current = volumes.get("MAX_CURRENT", volumes.get("CURRENT"))
    tariff_id = raw.get("tariff_id")
    tariff_id = None if tariff_id is None else str(tariff_id)
    common = {
        "min_power": min_power,
        "max_power": max_power,
        "min_current": min_current,
        "max_current": max_current,
        "tariff_id": tariff_id,
    }
    if "RESERVATION_TIME" in volumes:
        return [Period(start=start, state=State.RESERVATION, **common)]  # type: ignore[arg-type]
    if "PARKING_TIME" in volumes and "TIME" in volumes:
        charging = timedelta(microseconds=int(volumes["TIME"] * 3_600_000_000))
        switch = start + charging
        if start < switch < end:
            return [
                Period(start=start, state=State.CHARGING, energy=energy, **common),  # type: ignore[arg-type]
                Period(start=switch, state=State.PARKING, tariff_id=tariff_id),
            ]
        return [Period(start=start, state=State.CHARGING, energy=energy, **common)]  # type: ignore[arg-type]
    if "PARKING_TIME" in volumes:
        return [Period(start=start, state=State.PARKING, energy=energy, **common)]  # type: ignore[arg-type]
    return [Period(start=start, state=State.CHARGING, energy=energy, **common)]  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# wire models


def wire_version(obj: object) -> str:
    """The OCPI version of a wire model, from its package (``evroam.ocpi.v2_2_1...`` -> ``"2.2.1"``)."""
    module = type(obj).__module__
    for version in VERSIONS:
        if f".v{version.replace('.', '_')}" in module:
            return version
    raise AdaptError(f"{type(obj).__name__} is not an evroam OCPI wire model")


def _builtins(obj: object) -> Any:
    return msgspec.to_builtins(obj, enc_hook=_enc, builtin_types=(Decimal, datetime))


def _enc(value: Any) -> Any:
    if isinstance(value, CiString):
        return str.__str__(value)
    if isinstance(value, Decimal):  # a subclass such as core.types.Number
        return Decimal(value)
    if isinstance(value, datetime):  # core.types.DateTime
        return value.isoformat()
    raise NotImplementedError(f"cannot convert {type(value).__name__}")


def tariff_from_wire(obj: object) -> Tariff:
    """A wire-model ``Tariff`` of :mod:`evroam.ocpi.v2_1_1` / ``v2_2_1`` / ``v2_3_0`` as an engine Tariff."""
    return tariff_from_json(_builtins(obj), wire_version(obj))


def session_from_wire(
    obj: object, *, now: datetime | None = None, reservation_expired: bool | None = None
) -> Session:
    """A wire-model ``Session`` or ``CDR`` of any version as an engine Session."""
    return session_from_json(
        _builtins(obj), wire_version(obj), now=now, reservation_expired=reservation_expired
    )


def tariffs_of_wire_cdr(obj: object) -> Sequence[Tariff]:
    """The tariffs a wire-model CDR embeds."""
    return tariffs_from_json(_builtins(obj), wire_version(obj))
