"""OICP 2.3 <-> the canonical model (:mod:`evroam.model`), as far as it maps (``DIGEST.md`` §4).

Pure functions; the clock is an argument. What OICP requires and OCPI has no source for (hotline,
accessibility, calibration law, ...) comes from an :class:`OperatorProfile` the CPO configures.

* EVSE data: one OICP record per canonical EVSE (:func:`evse_records`); back, records are grouped
  into Locations by ``ChargingStationId`` (else ``ChargingPoolID``, else the EvseID) (:func:`locations_of`).
* Status: :func:`status_to_oicp` / :func:`status_from_oicp` (DIGEST §4.2).
* Tokens: :func:`identification_of` (RFID -> ``RFIDMifareFamilyIdentification``, others ->
  ``RemoteIdentification`` by contract ID) and :func:`token_of` (a synthesised canonical Token).
* Tariffs: :func:`pricing_record_of` / :func:`tariff_of` (DIGEST §4.6): ENERGY <-> ``KILOWATT_HOUR``,
  TIME <-> ``HOUR``, FLAT <-> ``START FEE``, PARKING_TIME <-> ``PARKING FEE``, min/max price <->
  ``MINIMUM FEE`` / ``MAXIMUM FEE``, time restrictions <-> ``ProductAvailabilityTimes``.
* CDRs and notifications: :func:`charge_detail_record`, :func:`progress_notification`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from evroam.core.types import CiString, DateTime
from evroam.model.common import BusinessDetails, GeoLocation, Price
from evroam.model.enums import (
    ConnectorFormat,
    DayOfWeek,
    PowerType,
    Status,
    TariffDimensionType,
    WhitelistType,
)
from evroam.model.locations import EVSE, Connector, Hours, Location, RegularHours
from evroam.model.tariffs import PriceComponent, Tariff, TariffElement, TariffRestrictions
from evroam.model.tokens import Token
from evroam.oicp import messages as m
from evroam.oicp.ids import evse_operator, normalize_id, party_of_operator, party_of_provider

__all__ = [
    "OperatorProfile",
    "charge_detail_record",
    "evse_records",
    "identification_of",
    "locations_of",
    "plug_of",
    "pricing_record_of",
    "progress_notification",
    "status_from_oicp",
    "status_to_oicp",
    "tariff_of",
    "token_of",
    "zone_of_offset",
]


@dataclass(frozen=True, slots=True)
class OperatorProfile:
    """The CPO's OICP identity and the values OICP requires that OCPI data does not carry."""

    operator_id: str
    operator_name: str
    hotline: str = "+4930000000"
    accessibility: m.Accessibility = m.Accessibility.FREE_PUBLIC
    language: str = "en"
    calibration_law: m.CalibrationLawDataAvailability = m.CalibrationLawDataAvailability.NOT_AVAILABLE
    payment_options: tuple[m.PaymentOption, ...] = (m.PaymentOption.CONTRACT,)
    dynamic_info: m.DynamicInfoAvailable = m.DynamicInfoAvailable.TRUE
    hubject_compatible: bool = True
    default_modes: tuple[m.AuthenticationMode, ...] = field(
        default=(m.AuthenticationMode.NFC_RFID_CLASSIC, m.AuthenticationMode.REMOTE)
    )


# -- status ----------------------------------------------------------------------------------------------

_TO_OICP = {
    Status.AVAILABLE: m.EvseStatus.AVAILABLE,
    Status.CHARGING: m.EvseStatus.OCCUPIED,
    Status.BLOCKED: m.EvseStatus.OCCUPIED,
    Status.RESERVED: m.EvseStatus.RESERVED,
    Status.INOPERATIVE: m.EvseStatus.OUT_OF_SERVICE,
    Status.OUTOFORDER: m.EvseStatus.OUT_OF_SERVICE,
    Status.PLANNED: m.EvseStatus.OUT_OF_SERVICE,
    Status.UNKNOWN: m.EvseStatus.UNKNOWN,
}
_FROM_OICP = {
    m.EvseStatus.AVAILABLE: Status.AVAILABLE,
    m.EvseStatus.OCCUPIED: Status.CHARGING,
    m.EvseStatus.RESERVED: Status.RESERVED,
    m.EvseStatus.OUT_OF_SERVICE: Status.OUTOFORDER,
    m.EvseStatus.UNKNOWN: Status.UNKNOWN,
    m.EvseStatus.EVSE_NOT_FOUND: Status.UNKNOWN,
}


def status_to_oicp(status: Status) -> m.EvseStatus | None:
    """The OICP status of a canonical one; ``None`` for REMOVED (pushed as an EVSE data ``delete``)."""
    return _TO_OICP.get(status)


def status_from_oicp(status: m.EvseStatus) -> Status:
    return _FROM_OICP[status]


# -- plugs -----------------------------------------------------------------------------------------------

_PLUGS: dict[tuple[str, str], m.Plug] = {
    ("IEC_62196_T2", "SOCKET"): m.Plug.TYPE_2_OUTLET,
    ("IEC_62196_T2", "CABLE"): m.Plug.TYPE_2_CABLE,
    ("IEC_62196_T1", "CABLE"): m.Plug.TYPE_1_CABLE,
    ("IEC_62196_T2_COMBO", "CABLE"): m.Plug.CCS_2,
    ("IEC_62196_T1_COMBO", "CABLE"): m.Plug.CCS_1,
    ("CHADEMO", "CABLE"): m.Plug.CHADEMO,
    ("IEC_62196_T3C", "SOCKET"): m.Plug.TYPE_3_OUTLET,
    ("IEC_62196_T3A", "SOCKET"): m.Plug.TYPE_3_OUTLET,
    ("DOMESTIC_F", "SOCKET"): m.Plug.TYPE_F,
    ("DOMESTIC_E", "SOCKET"): m.Plug.TYPE_E,
    ("DOMESTIC_G", "SOCKET"): m.Plug.TYPE_G,
    ("DOMESTIC_J", "SOCKET"): m.Plug.TYPE_J,
    ("IEC_60309_2_single_16", "SOCKET"): m.Plug.IEC_60309_SINGLE,
    ("IEC_60309_2_three_16", "SOCKET"): m.Plug.IEC_60309_THREE,
    ("IEC_60309_2_three_32", "SOCKET"): m.Plug.IEC_60309_THREE,
    ("IEC_60309_2_three_64", "SOCKET"): m.Plug.IEC_60309_THREE,
    ("NEMA_5_20", "SOCKET"): m.Plug.NEMA_5_20,
    ("TESLA_S", "CABLE"): m.Plug.TESLA,
    ("TESLA_R", "CABLE"): m.Plug.TESLA,
}
_CONNECTORS: dict[m.Plug, tuple[str, str]] = {}
for (_standard, _format), _plug in _PLUGS.items():
    _CONNECTORS.setdefault(_plug, (_standard, _format))


def plug_of(connector: Connector) -> m.Plug | None:
    """The OICP plug of a connector (``None``: no OICP value, e.g. GB/T or a T1 socket)."""
    return _PLUGS.get((str(connector.standard), str(connector.format)))


def _power_type(connector: Connector) -> m.PowerType:
    if connector.power_type is PowerType.DC:
        return m.PowerType.DC
    if connector.power_type is PowerType.AC_3_PHASE:
        return m.PowerType.AC_3_PHASE
    return m.PowerType.AC_1_PHASE  # AC_1_PHASE, and AC_2_PHASE(_SPLIT) which OICP lacks


def _facility(connector: Connector) -> m.ChargingFacility:
    if connector.max_electric_power is not None:
        watts = Decimal(connector.max_electric_power)
    else:
        phases = 3 if connector.power_type is PowerType.AC_3_PHASE else 1
        watts = Decimal(connector.max_voltage * connector.max_amperage * phases)
    kw = int((watts / 1000).to_integral_value(ROUND_HALF_UP))
    return m.ChargingFacility(
        PowerType=_power_type(connector),
        Power=min(kw, 999),
        Voltage=connector.max_voltage if connector.max_voltage <= 999 else None,
        Amperage=connector.max_amperage if connector.max_amperage <= 99 else None,
    )


# -- EVSE data -------------------------------------------------------------------------------------------

_HOUSE = re.compile(r"^(?P<street>.*?\S)\s+(?P<num>\d[\w/-]{0,9})$")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _street_and_number(address: str) -> tuple[str, str]:
    """OICP wants street and house number apart (``Main street 12`` -> ``Main street``, ``12``); a
    street of one character is padded with ``_`` (OICP asks for two)."""
    found = _HOUSE.match(address.strip())
    street, number = (found.group("street"), found.group("num")) if found else (address.strip(), "")
    return street.ljust(2, "_")[:100], number


def _offset(time_zone: str | None, at: datetime) -> str | None:
    if not time_zone:
        return None
    try:
        delta = at.astimezone(ZoneInfo(time_zone)).utcoffset() or timedelta(0)
    except (KeyError, ValueError):
        return None
    minutes = int(delta.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


_OFFSET = re.compile(r"^UTC(?P<sign>[+-])(?P<hours>\d{2}):(?P<minutes>\d{2})$")


def zone_of_offset(offset: str | None) -> str | None:
    """An OICP ``UTC+01:00`` as an IANA zone: ``Etc/GMT-1`` (the IANA sign is the other way round). Only
    whole hours have one; an offset is not a place, so the zone knows no summer time (a loss)."""
    found = _OFFSET.match(offset or "")
    if found is None or found["minutes"] != "00":
        return None
    hours = int(found["hours"])
    if hours == 0:
        return "Etc/UTC"
    if (found["sign"] == "+" and hours > 14) or (found["sign"] == "-" and hours > 12):
        return None
    return f"Etc/GMT{'-' if found['sign'] == '+' else '+'}{hours}"


def _degree(value: str) -> str:
    return str(Decimal(value).quantize(Decimal("0.000001"), ROUND_HALF_UP))


def _geo(point: GeoLocation) -> m.GeoCoordinates:
    return m.GeoCoordinates(
        DecimalDegree=m.LatLon(Latitude=_degree(point.latitude), Longitude=_degree(point.longitude))
    )


def _opening(hours: Hours | None) -> tuple[bool, list[m.OpeningTimes] | None]:
    if hours is None or hours.twentyfourseven or not hours.regular_hours:
        return True, None
    by_day: dict[int, list[RegularHours]] = {}
    for regular in hours.regular_hours:
        by_day.setdefault(regular.weekday, []).append(regular)
    return False, [
        m.OpeningTimes(
            Period=[m.Period(begin=r.period_begin, end=r.period_end) for r in by_day[day]],
            on=m.Weekday(_DAYS[day - 1]),
        )
        for day in sorted(by_day)
    ]


def _modes(evse: EVSE, profile: OperatorProfile) -> list[m.AuthenticationMode]:
    if evse.capabilities is None:
        return list(profile.default_modes)
    caps = {str(c) for c in evse.capabilities}
    modes = []
    if "RFID_READER" in caps:
        modes.append(m.AuthenticationMode.NFC_RFID_CLASSIC)
    if "REMOTE_START_STOP_CAPABLE" in caps:
        modes.append(m.AuthenticationMode.REMOTE)
    if caps & {"CREDIT_CARD_PAYABLE", "DEBIT_CARD_PAYABLE", "CONTACTLESS_CARD_SUPPORT", "PED_TERMINAL"}:
        modes.append(m.AuthenticationMode.DIRECT_PAYMENT)
    return modes or list(profile.default_modes)


def _parking(parking_type: str | None) -> m.AccessibilityLocation | None:
    return (
        {
            "ON_STREET": m.AccessibilityLocation.ON_STREET,
            "PARKING_LOT": m.AccessibilityLocation.PARKING_LOT,
            "PARKING_GARAGE": m.AccessibilityLocation.PARKING_GARAGE,
            "UNDERGROUND_GARAGE": m.AccessibilityLocation.UNDERGROUND_PARKING_GARAGE,
        }.get(str(parking_type))
        if parking_type
        else None
    )


def evse_record(location: Location, evse: EVSE, profile: OperatorProfile, now: datetime) -> m.EvseDataRecord:
    """One EVSE of ``location`` as an OICP record. Raises ``ValueError`` when the EVSE has no
    ``evse_id`` (OICP identifies EVSEs by it) or no connector with an OICP plug."""
    if not evse.evse_id:
        raise ValueError(f"EVSE {evse.uid} has no evse_id")
    plugs = [p for p in (plug_of(c) for c in evse.connectors) if p is not None]
    if not plugs:
        raise ValueError(f"EVSE {evse.uid}: no connector has an OICP plug")
    street, number = _street_and_number(location.address)
    always, times = _opening(location.opening_times)
    caps = {str(c) for c in evse.capabilities or ()}
    services = [m.ValueAddedService.RESERVATION] if "RESERVABLE" in caps else [m.ValueAddedService.NONE]
    name = location.name or str(location.id)
    return m.EvseDataRecord(
        EvseID=str(evse.evse_id),
        ChargingStationId=str(location.id)[:50],
        ChargingStationNames=[m.InfoText(lang=profile.language, value=name[:150])],
        Address=m.Address(
            Country=location.country.upper(),
            City=location.city[:50],
            Street=street,
            PostalCode=(location.postal_code or "")[:10],
            HouseNum=number[:10],
            Floor=evse.floor_level[:5] if evse.floor_level else None,
            Region=location.state[:50] if location.state else None,
            TimeZone=_offset(location.time_zone, now),
        ),
        GeoCoordinates=_geo(evse.coordinates or location.coordinates),
        Plugs=plugs,
        # one facility per plug, in the same order: a reader pairs them by position
        ChargingFacilities=[_facility(c) for c in evse.connectors if plug_of(c) is not None],
        RenewableEnergy=bool(location.energy_mix and location.energy_mix.is_green_energy),
        CalibrationLawDataAvailability=profile.calibration_law,
        AuthenticationModes=_modes(evse, profile),
        PaymentOptions=list(profile.payment_options),
        ValueAddedServices=services,
        Accessibility=profile.accessibility,
        AccessibilityLocation=_parking(location.parking_type),
        HotlinePhoneNumber=profile.hotline,
        IsOpen24Hours=always,
        OpeningTimes=times,
        IsHubjectCompatible=profile.hubject_compatible,
        DynamicInfoAvailable=profile.dynamic_info,
        SubOperatorName=location.suboperator.name[:100] if location.suboperator else None,
    )


def evse_records(
    locations: Iterable[Location], profile: OperatorProfile, now: datetime
) -> tuple[list[m.EvseDataRecord], list[str]]:
    """Every publishable EVSE of ``locations`` as an OICP record, and why others were left out.

    Left out: unpublished locations, REMOVED EVSEs, EVSEs without evse_id or OICP plug, EVSEs whose
    EvseID is not under the profile's OperatorID (Hubject would answer ``018``)."""
    records: list[m.EvseDataRecord] = []
    skipped: list[str] = []
    operator = normalize_id(profile.operator_id)
    for location in locations:
        if not location.publish:
            continue
        for evse in location.evses or ():
            if evse.status is Status.REMOVED:
                continue
            if evse.evse_id and evse_operator(str(evse.evse_id)) != operator:
                skipped.append(f"{evse.evse_id}: not under {profile.operator_id}")
                continue
            try:
                records.append(evse_record(location, evse, profile, now))
            except ValueError as exc:
                skipped.append(str(exc))
    return records, skipped


def _uid(value: str) -> str:
    """An OCPI uid (36 characters at most) for an OICP ID that may be longer."""
    return value if len(value) <= 36 else value[:27] + hashlib.sha1(value.encode()).hexdigest()[:9]


def _connector(index: int, plug: m.Plug, facility: m.ChargingFacility | None, at: DateTime) -> Connector:
    standard, fmt_name = _CONNECTORS.get(plug, ("IEC_62196_T2", "SOCKET"))
    fmt = ConnectorFormat(fmt_name)
    power = {
        m.PowerType.DC: PowerType.DC,
        m.PowerType.AC_3_PHASE: PowerType.AC_3_PHASE,
        m.PowerType.AC_1_PHASE: PowerType.AC_1_PHASE,
    }[facility.PowerType if facility else m.PowerType.AC_3_PHASE]
    voltage = facility.Voltage if facility and facility.Voltage else (400 if power is PowerType.DC else 230)
    watts = facility.Power * 1000 if facility else None
    if facility and facility.Amperage:
        amperage = facility.Amperage
    elif watts:
        phases = 3 if power is PowerType.AC_3_PHASE else 1
        amperage = max(1, round(watts / (voltage * phases)))
    else:
        amperage = 16
    return Connector(
        id=CiString(str(index)),
        standard=standard,
        format=fmt,
        power_type=power,
        max_voltage=voltage,
        max_amperage=amperage,
        max_electric_power=watts,
        last_updated=at,
    )


def _location_key(record: m.EvseDataRecord) -> str:
    return record.ChargingStationId or record.ChargingPoolID or record.EvseID


def _point(geo: m.GeoCoordinates) -> GeoLocation:
    if geo.DecimalDegree is not None:
        return GeoLocation(latitude=geo.DecimalDegree.Latitude, longitude=geo.DecimalDegree.Longitude)
    if geo.Google is not None:
        lat, lon = re.split(r"[\s,]+", geo.Google.Coordinates.strip())[:2]
        return GeoLocation(latitude=lat, longitude=lon)
    raise ValueError("only Google and DecimalDegree coordinates are read (ask for DecimalDegree)")


def _status_capabilities(record: m.EvseDataRecord) -> tuple[str, ...]:
    caps = []
    modes = set(record.AuthenticationModes)
    if modes & {m.AuthenticationMode.NFC_RFID_CLASSIC, m.AuthenticationMode.NFC_RFID_DESFIRE}:
        caps.append("RFID_READER")
    if m.AuthenticationMode.REMOTE in modes and record.IsHubjectCompatible:
        caps.append("REMOTE_START_STOP_CAPABLE")
    if m.ValueAddedService.RESERVATION in record.ValueAddedServices:
        caps.append("RESERVABLE")
    return tuple(caps)


def locations_of(
    records: Sequence[m.PullEvseDataRecord], at: DateTime, statuses: dict[str, Status] | None = None
) -> list[Location]:
    """Pulled OICP records as canonical Locations (owner from each record's OperatorID); a record with
    ``deltaType`` ``delete`` becomes a REMOVED EVSE. DIN OperatorIDs are left out (no OCPI party form)."""
    groups: dict[tuple[str, str, str], list[m.PullEvseDataRecord]] = {}
    for record in records:
        try:
            cc, pid = party_of_operator(record.OperatorID)
        except ValueError:
            continue
        groups.setdefault((cc, pid, _location_key(record)), []).append(record)
    out = []
    for (cc, pid, key), members in groups.items():
        first = members[0]
        addr = first.Address
        evses = []
        for record in members:
            status = (statuses or {}).get(record.EvseID.upper(), Status.UNKNOWN)
            if record.deltaType is m.DeltaType.DELETE:
                status = Status.REMOVED
            evses.append(
                EVSE(
                    uid=CiString(_uid(record.EvseID)),
                    evse_id=CiString(record.EvseID),
                    status=status,
                    connectors=tuple(
                        _connector(
                            i + 1,
                            plug,
                            record.ChargingFacilities[min(i, len(record.ChargingFacilities) - 1)]
                            if record.ChargingFacilities
                            else None,
                            at,
                        )
                        for i, plug in enumerate(record.Plugs)
                    ),
                    capabilities=_status_capabilities(record),
                    last_updated=at,
                )
            )
        address = f"{addr.Street} {addr.HouseNum}".strip()
        out.append(
            Location(
                country_code=CiString(cc),
                party_id=CiString(pid),
                id=CiString(_uid(key)),
                address=address[:45],
                city=addr.City[:45],
                country=addr.Country,
                postal_code=addr.PostalCode or None,
                state=addr.Region[:20] if addr.Region else None,
                coordinates=_point(first.GeoCoordinates),
                name=first.ChargingStationNames[0].value[:255] if first.ChargingStationNames else None,
                operator=BusinessDetails(name=first.OperatorName) if first.OperatorName else None,
                time_zone=zone_of_offset(addr.TimeZone),
                evses=tuple(evses),
                last_updated=at,
            )
        )
    return out


# -- tokens ----------------------------------------------------------------------------------------------


def identification_of(token: Token) -> m.Identification:
    """How a canonical token identifies itself in OICP: an RFID token by its UID (upper-case hex), any
    other by its contract ID (``RemoteIdentification``)."""
    if str(token.type).upper() == "RFID" and re.fullmatch(
        r"[0-9A-Fa-f]{8}|[0-9A-Fa-f]{14}|[0-9A-Fa-f]{20}", str(token.uid)
    ):
        return m.Identification(
            RFIDMifareFamilyIdentification=m.RFIDMifareFamilyIdentification(UID=str(token.uid).upper())
        )
    return m.Identification(RemoteIdentification=m.RemoteIdentification(EvcoID=str(token.contract_id)))


def token_of(identification: m.Identification, provider_id: str | None, at: DateTime) -> Token:
    """A canonical Token for an OICP identification (what a CPO hands its chargers)."""
    cc, pid = party_of_provider(provider_id) if provider_id else ("XX", "XXX")
    uid = identification.uid()
    evco = identification.evco_id()
    if uid is not None:
        return Token(
            country_code=CiString(cc),
            party_id=CiString(pid),
            uid=CiString(uid),
            type="RFID",
            contract_id=CiString(evco or uid),
            issuer=provider_id or "OICP",
            valid=True,
            whitelist=WhitelistType.NEVER,
            last_updated=at,
        )
    assert evco is not None
    return Token(
        country_code=CiString(cc),
        party_id=CiString(pid),
        uid=CiString(_uid(evco)),
        type="APP_USER",
        contract_id=CiString(evco),
        issuer=provider_id or "OICP",
        valid=True,
        whitelist=WhitelistType.NEVER,
        last_updated=at,
    )


# -- pricing ---------------------------------------------------------------------------------------------

_WEEKDAYS = {
    "Monday": (DayOfWeek.MONDAY,),
    "Tuesday": (DayOfWeek.TUESDAY,),
    "Wednesday": (DayOfWeek.WEDNESDAY,),
    "Thursday": (DayOfWeek.THURSDAY,),
    "Friday": (DayOfWeek.FRIDAY,),
    "Saturday": (DayOfWeek.SATURDAY,),
    "Sunday": (DayOfWeek.SUNDAY,),
    "Workdays": (
        DayOfWeek.MONDAY,
        DayOfWeek.TUESDAY,
        DayOfWeek.WEDNESDAY,
        DayOfWeek.THURSDAY,
        DayOfWeek.FRIDAY,
    ),
    "Weekend": (DayOfWeek.SATURDAY, DayOfWeek.SUNDAY),
    "Everyday": tuple(DayOfWeek),
}


def _day_name(days: tuple[DayOfWeek, ...] | None) -> m.Weekday | None:
    wanted = set(days or DayOfWeek)
    for name, members in _WEEKDAYS.items():
        if set(members) == wanted:
            return m.Weekday(name)
    return None


def pricing_record_of(tariff: Tariff, max_power: Decimal = Decimal(350)) -> m.PricingProductDataRecord:
    """A canonical tariff as an OICP pricing product (ProductID = tariff id). The base price is the
    first ENERGY component (``KILOWATT_HOUR``), else the first TIME one (``HOUR``); FLAT becomes a
    ``START FEE``, PARKING_TIME a ``PARKING FEE`` per hour. Prices are net (OICP carries no VAT).
    Raises ``ValueError`` for what OICP cannot say (several differently priced elements by energy or
    power restrictions, a day set that is no OICP day group), rather than publish a product that prices
    differently from the tariff: an ENERGY price beside a TIME price (a product has one base price, and
    no additional reference is a price per hour of charging), and a dimension priced differently in two
    elements (a product has one price per dimension, whatever its availability times)."""
    unit: Literal["HOUR", "KILOWATT_HOUR", "MINUTE"] = "KILOWATT_HOUR"
    base: Decimal | None = None
    extras: list[m.AdditionalReference] = []
    times: list[m.ProductAvailabilityTimes] = []
    seen: dict[TariffDimensionType, Decimal] = {}
    for element in tariff.elements:
        r = element.restrictions
        if r is not None and (r.min_kwh or r.max_kwh or r.min_duration or r.max_duration or r.min_power):
            raise ValueError(f"tariff {tariff.id}: energy, duration or power restrictions have no OICP form")
        if r is not None and (r.start_time or r.day_of_week):
            day = _day_name(r.day_of_week)
            if day is None:
                raise ValueError(f"tariff {tariff.id}: days {r.day_of_week} are no OICP day group")
            times.append(
                m.ProductAvailabilityTimes(
                    Periods=[m.Period(begin=r.start_time or "00:00", end=r.end_time or "23:59")], on=day
                )
            )
        for component in element.price_components:
            if component.type in seen:
                if seen[component.type] != component.price:
                    raise ValueError(
                        f"tariff {tariff.id}: {component.type.value} priced {seen[component.type]} and "
                        f"{component.price} in different elements has no OICP form"
                    )
                continue
            seen[component.type] = component.price
            if {TariffDimensionType.ENERGY, TariffDimensionType.TIME} <= seen.keys():
                raise ValueError(
                    f"tariff {tariff.id}: a price per kWh and a price per hour of charging together have "
                    "no OICP form (a pricing product has one base price)"
                )
            if component.type is TariffDimensionType.ENERGY and base is None:
                base, unit = component.price, "KILOWATT_HOUR"
            elif component.type is TariffDimensionType.TIME and base is None:
                base, unit = component.price, "HOUR"
            elif component.type is TariffDimensionType.FLAT:
                extras.append(
                    m.AdditionalReference(
                        AdditionalReference=m.AdditionalReferenceType.START_FEE,
                        AdditionalReferenceUnit=unit,
                        PricePerAdditionalReferenceUnit=component.price,
                    )
                )
            elif component.type is TariffDimensionType.PARKING_TIME:
                extras.append(
                    m.AdditionalReference(
                        AdditionalReference=m.AdditionalReferenceType.PARKING_FEE,
                        AdditionalReferenceUnit="HOUR",
                        PricePerAdditionalReferenceUnit=component.price,
                    )
                )
    for fee, limit in (
        (m.AdditionalReferenceType.MINIMUM_FEE, tariff.min_price),
        (m.AdditionalReferenceType.MAXIMUM_FEE, tariff.max_price),
    ):
        if limit is not None:
            extras.append(
                m.AdditionalReference(
                    AdditionalReference=fee,
                    AdditionalReferenceUnit=unit,
                    PricePerAdditionalReferenceUnit=limit.before_taxes,
                )
            )
    # a START FEE is written in the unit of the base price (known only once every element was read)
    extras = [
        m.AdditionalReference(
            AdditionalReference=e.AdditionalReference,
            AdditionalReferenceUnit=unit,
            PricePerAdditionalReferenceUnit=e.PricePerAdditionalReferenceUnit,
        )
        if e.AdditionalReference is m.AdditionalReferenceType.START_FEE
        else e
        for e in extras
    ]
    return m.PricingProductDataRecord(
        ProductID=str(tariff.id)[:50],
        ReferenceUnit=unit,
        ProductPriceCurrency=tariff.currency,
        PricePerReferenceUnit=base if base is not None else Decimal(0),
        MaximumProductChargingPower=max_power,
        IsValid24hours=not times,
        ProductAvailabilityTimes=times
        or [
            m.ProductAvailabilityTimes(Periods=[m.Period(begin="00:00", end="23:59")], on=m.Weekday.EVERYDAY)
        ],
        AdditionalReferences=extras or None,
    )


def tariff_of(record: m.PricingProductDataRecord, operator_id: str, at: DateTime) -> Tariff:
    """An OICP pricing product as a canonical tariff of the operator (id = ProductID, net prices)."""
    cc, pid = party_of_operator(operator_id)
    components: list[PriceComponent] = []
    price = Decimal(record.PricePerReferenceUnit)
    if record.ReferenceUnit == "KILOWATT_HOUR":
        components.append(PriceComponent(type=TariffDimensionType.ENERGY, price=price, step_size=1))
    elif record.ReferenceUnit == "HOUR":
        components.append(PriceComponent(type=TariffDimensionType.TIME, price=price, step_size=1))
    else:  # MINUTE: per hour, billed per minute
        components.append(PriceComponent(type=TariffDimensionType.TIME, price=price * 60, step_size=60))
    min_price = max_price = None
    for extra in record.AdditionalReferences or ():
        amount = Decimal(extra.PricePerAdditionalReferenceUnit)
        kind = extra.AdditionalReference
        if kind in (m.AdditionalReferenceType.START_FEE, m.AdditionalReferenceType.FIXED_FEE):
            components.append(PriceComponent(type=TariffDimensionType.FLAT, price=amount, step_size=1))
        elif kind is m.AdditionalReferenceType.PARKING_FEE:
            per_hour = amount * 60 if extra.AdditionalReferenceUnit == "MINUTE" else amount
            components.append(
                PriceComponent(type=TariffDimensionType.PARKING_TIME, price=per_hour, step_size=1)
            )
        elif kind is m.AdditionalReferenceType.MINIMUM_FEE:
            min_price = Price(before_taxes=amount)
        elif kind is m.AdditionalReferenceType.MAXIMUM_FEE:
            max_price = Price(before_taxes=amount)
    elements: tuple[TariffElement, ...]
    if record.IsValid24hours:
        elements = (TariffElement(price_components=tuple(components)),)
    else:
        elements = tuple(
            TariffElement(
                price_components=tuple(components),
                restrictions=TariffRestrictions(
                    start_time=period.begin,
                    end_time=period.end,
                    day_of_week=None if times.on is m.Weekday.EVERYDAY else _WEEKDAYS[times.on.value],
                ),
            )
            for times in record.ProductAvailabilityTimes
            for period in times.Periods
        )
    return Tariff(
        country_code=CiString(cc),
        party_id=CiString(pid),
        id=CiString(_uid(record.ProductID)),
        currency=record.ProductPriceCurrency,
        elements=elements,
        min_price=min_price,
        max_price=max_price,
        last_updated=at,
    )


# -- sessions --------------------------------------------------------------------------------------------


def charge_detail_record(
    *,
    session_id: str,
    evse_id: str,
    identification: m.Identification,
    session_start: datetime,
    session_end: datetime,
    charging_start: datetime,
    charging_end: datetime,
    meter_start: Decimal,
    meter_end: Decimal,
    product_id: str | None = None,
    cpo_session_id: str | None = None,
    emp_session_id: str | None = None,
) -> m.ChargeDetailRecord:
    """An OICP CDR: energy and times only (OICP CDRs carry no money), energy to 3 decimals."""
    three = Decimal("0.001")
    return m.ChargeDetailRecord(
        SessionID=session_id,
        EvseID=evse_id,
        Identification=identification,
        SessionStart=session_start,
        SessionEnd=session_end,
        ChargingStart=charging_start,
        ChargingEnd=charging_end,
        MeterValueStart=meter_start.quantize(three),
        MeterValueEnd=meter_end.quantize(three),
        ConsumedEnergy=(meter_end - meter_start).quantize(three),
        PartnerProductID=product_id,
        CPOPartnerSessionID=cpo_session_id,
        EMPPartnerSessionID=emp_session_id,
    )


def _dt(value: datetime | str) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def progress_notification(
    *,
    session_id: str,
    evse_id: str,
    operator_id: str,
    charging_start: datetime | str,
    event_occurred: datetime | str,
    consumed_kwh: Decimal,
    identification: m.Identification | None = None,
) -> m.ChargingNotificationProgress:
    """A Progress notification; ``ChargingDuration`` is EventOccurred - ChargingStart in ms (deviation 6)."""
    start, occurred = _dt(charging_start), _dt(event_occurred)
    return m.ChargingNotificationProgress(
        SessionID=session_id,
        EvseID=evse_id,
        OperatorID=operator_id,
        ChargingStart=start,
        EventOccurred=occurred,
        ChargingDuration=int((occurred - start).total_seconds() * 1000),
        ConsumedEnergyProgress=consumed_kwh.quantize(Decimal("0.001")),
        Identification=identification,
    )
