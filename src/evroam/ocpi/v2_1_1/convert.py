"""Converters between the OCPI 2.1.1 wire models and the canonical model (:mod:`evroam.model`).

``<object>_to_model(wire, ...) -> model.X`` reads a 2.1.1 object; ``<object>_from_model(model.X, ...)``
writes one. A 2.1.1 object read and written again is unchanged. 2.1.1 objects carry no owner, so the
readers of owned objects (Location, Tariff, Session, CDR, Token, and the Token inside StartSession /
ReserveNow) take the owner's ``country_code`` and ``party_id`` as keyword arguments.

2.1.1 Sessions and CDRs embed a Location: it is kept as ``model.Session.location`` /
``model.CDR.location`` and written back as it was. A canonical Session/CDR read from 2.2+ has no
such snapshot: the writer then takes the stored Location as the ``location`` argument and embeds
only the session's EVSE and connector.

What 2.1.1 cannot carry is left out, mapped or refused as listed in ``docs/versions.md``; in short:
country/party of owned objects, 2.2+ ids longer than 2.1.1 allows and all 2.2+/2.3.0-only fields
are not written; money is written as ``before_taxes``; enum values 2.1.1 lacks are dropped from
lists or mapped (SessionStatus RESERVATION -> PENDING, AuthMethod COMMAND -> AUTH_REQUEST, token
types -> OTHER, ParkingType ALONG_MOTORWAY/ON_DRIVEWAY -> OTHER); credit CDRs, tariffs whose prices
include taxes or that use current restrictions raise :class:`evroam.model.NotRepresentable`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

import msgspec

from evroam import model as m
from evroam.core.types import CiString, CiString36
from evroam.model._convert import fit, known, lst, member, plain, tup
from evroam.model.common import NotRepresentable
from evroam.ocpi import v2_1_1 as w

__all__ = [
    "VERSION",
    "authorization_info_from_model",
    "authorization_info_to_model",
    "cdr_from_model",
    "cdr_to_model",
    "command_response_from_model",
    "command_response_to_model",
    "command_result_from_model",
    "command_result_to_model",
    "connector_from_model",
    "connector_to_model",
    "credentials_from_model",
    "credentials_to_model",
    "evse_from_model",
    "evse_to_model",
    "location_from_model",
    "location_references_from_model",
    "location_references_to_model",
    "location_to_model",
    "reserve_now_from_model",
    "reserve_now_to_model",
    "session_from_model",
    "session_to_model",
    "start_session_from_model",
    "start_session_to_model",
    "stop_session_from_model",
    "stop_session_to_model",
    "tariff_from_model",
    "tariff_to_model",
    "token_from_model",
    "token_to_model",
    "unlock_connector_from_model",
    "unlock_connector_to_model",
]

VERSION = "2.1.1"


def _ci(value: str) -> CiString:
    return CiString(value)


def _opt_ci(value: str | None) -> CiString | None:
    return None if value is None else CiString(value)


def _ci_seq(values: Sequence[str] | None) -> tuple[CiString, ...] | None:
    return None if values is None else tuple(CiString(v) for v in values)


def _s(value: str) -> str:
    return plain(value)


def _opt_s(value: str | None) -> str | None:
    return None if value is None else plain(value)


def _s_list(values: Sequence[str] | None) -> list[str] | None:
    return None if values is None else [plain(v) for v in values]


def _max(value: str, length: int, path: str) -> str:
    if len(value) > length:
        raise NotRepresentable(VERSION, path, f"longer than the {length} characters 2.1.1 allows")
    return plain(value)


def _missing(path: str, reason: str) -> NotRepresentable:
    return NotRepresentable(VERSION, path, reason)


_SIX_DECIMALS = re.compile(r"^-?[0-9]{1,3}\.[0-9]{6}$")
_MICRO_DEGREE = Decimal("0.000001")


def _coordinate(value: str, path: str) -> str:
    """2.1.1 coordinates have exactly 6 decimals: pad or round (half-even) other values."""
    if _SIX_DECIMALS.match(value):
        return value
    try:
        return format(Decimal(value).quantize(_MICRO_DEGREE, rounding=ROUND_HALF_EVEN), "f")
    except InvalidOperation:
        raise _missing(path, f"{value!r} is not a decimal coordinate") from None


# --- common classes -------------------------------------------------------------------------------


def _text_in(t: w.DisplayText) -> m.DisplayText:
    return m.DisplayText(language=t.language, text=t.text)


def _text_out(t: m.DisplayText) -> w.DisplayText:
    return w.DisplayText(language=t.language, text=t.text)


def _geo_in(g: w.GeoLocation) -> m.GeoLocation:
    return m.GeoLocation(latitude=g.latitude, longitude=g.longitude)


def _geo_out(g: m.GeoLocation) -> w.GeoLocation:
    return w.GeoLocation(
        latitude=_coordinate(g.latitude, "GeoLocation.latitude"),
        longitude=_coordinate(g.longitude, "GeoLocation.longitude"),
    )


def _related_in(g: w.AdditionalGeoLocation) -> m.AdditionalGeoLocation:
    name = None if g.name is None else _text_in(g.name)
    return m.AdditionalGeoLocation(latitude=g.latitude, longitude=g.longitude, name=name)


def _related_out(g: m.AdditionalGeoLocation) -> w.AdditionalGeoLocation:
    return w.AdditionalGeoLocation(
        latitude=_coordinate(g.latitude, "AdditionalGeoLocation.latitude"),
        longitude=_coordinate(g.longitude, "AdditionalGeoLocation.longitude"),
        name=None if g.name is None else _text_out(g.name),
    )


def _image_in(i: w.Image) -> m.Image:
    return m.Image(
        url=i.url,
        category=plain(i.category),
        type=_ci(i.type),
        thumbnail=i.thumbnail,
        width=i.width,
        height=i.height,
    )


def _image_out(i: m.Image) -> w.Image | None:
    category = member(w.ImageCategory, i.category)
    if category is None:
        return None
    return w.Image(
        url=i.url,
        category=category,
        type=_max(i.type, 4, "Image.type"),
        thumbnail=i.thumbnail,
        width=i.width,
        height=i.height,
    )


def _images_out(images: Sequence[m.Image] | None) -> list[w.Image] | None:
    if images is None:
        return None
    return [out for out in (_image_out(i) for i in images) if out is not None]


def _business_in(b: w.BusinessDetails) -> m.BusinessDetails:
    logo = None if b.logo is None else _image_in(b.logo)
    return m.BusinessDetails(name=b.name, website=b.website, logo=logo)


def _business_out(b: m.BusinessDetails) -> w.BusinessDetails:
    logo = None if b.logo is None else _image_out(b.logo)
    return w.BusinessDetails(name=b.name, website=b.website, logo=logo)


def _energy_mix_in(e: w.EnergyMix) -> m.EnergyMix:
    """2.1.1 ``EnvironmentalImpact.source`` is the canonical ``category``."""
    return m.EnergyMix(
        is_green_energy=e.is_green_energy,
        energy_sources=tup(
            e.energy_sources,
            lambda s: m.EnergySource(source=m.EnergySourceCategory(s.source), percentage=s.percentage),
        ),
        environ_impact=tup(
            e.environ_impact,
            lambda i: m.EnvironmentalImpact(category=plain(i.source), amount=i.amount),
        ),
        supplier_name=e.supplier_name,
        energy_product_name=e.energy_product_name,
    )


def _energy_mix_out(e: m.EnergyMix) -> w.EnergyMix:
    impacts = None
    if e.environ_impact is not None:
        impacts = [
            w.EnvironmentalImpact(source=category, amount=i.amount)
            for i in e.environ_impact
            if (category := member(w.EnvironmentalImpactCategory, i.category)) is not None
        ]
    return w.EnergyMix(
        is_green_energy=e.is_green_energy,
        energy_sources=lst(
            e.energy_sources,
            lambda s: w.EnergySource(source=w.EnergySourceCategory(s.source), percentage=s.percentage),
        ),
        environ_impact=impacts,
        supplier_name=e.supplier_name,
        energy_product_name=e.energy_product_name,
    )


def _price_in(value: Decimal | None) -> m.Price | None:
    return None if value is None else m.Price(before_taxes=value)


def _price_out(p: m.Price | None) -> Decimal | None:
    """2.1.1 money is the amount excluding VAT: ``before_taxes``; taxes are left out."""
    return None if p is None else p.before_taxes


def _token_type_out(value: str) -> w.TokenType:
    """AD_HOC_USER, APP_USER, EMAID and unknown token types become OTHER."""
    return member(w.TokenType, value) or w.TokenType.OTHER


# --- locations ------------------------------------------------------------------------------------


def connector_to_model(c: w.Connector) -> m.Connector:
    """``voltage``/``amperage`` -> ``max_voltage``/``max_amperage``; ``tariff_id`` -> ``tariff_ids``."""
    return m.Connector(
        id=_ci(c.id),
        standard=plain(c.standard),
        format=m.ConnectorFormat(c.format),
        power_type=m.PowerType(c.power_type),
        max_voltage=c.voltage,
        max_amperage=c.amperage,
        last_updated=c.last_updated,
        tariff_ids=None if c.tariff_id is None else (CiString(c.tariff_id),),
        terms_and_conditions=c.terms_and_conditions,
    )


def _connector_representable(c: m.Connector) -> bool:
    return member(w.ConnectorType, c.standard) is not None and member(w.PowerType, c.power_type) is not None


def connector_from_model(c: m.Connector) -> w.Connector:
    """Only the first of ``tariff_ids`` fits ``tariff_id``; raises NotRepresentable for a standard or
    power type 2.1.1 cannot name."""
    standard = member(w.ConnectorType, c.standard)
    if standard is None:
        raise _missing("Connector.standard", f"the connector type {c.standard!r} does not exist there")
    power_type = member(w.PowerType, c.power_type)
    if power_type is None:
        raise _missing("Connector.power_type", f"the power type {c.power_type!r} does not exist there")
    return w.Connector(
        id=_s(c.id),
        standard=standard,
        format=w.ConnectorFormat(c.format),
        power_type=power_type,
        voltage=c.max_voltage,
        amperage=c.max_amperage,
        tariff_id=_s(c.tariff_ids[0]) if c.tariff_ids else None,
        terms_and_conditions=c.terms_and_conditions,
        last_updated=c.last_updated,
    )


def _schedule_in(s: w.StatusSchedule) -> m.StatusSchedule:
    return m.StatusSchedule(period_begin=s.period_begin, status=m.Status(s.status), period_end=s.period_end)


def _schedule_out(s: m.StatusSchedule) -> w.StatusSchedule:
    return w.StatusSchedule(period_begin=s.period_begin, status=w.Status(s.status), period_end=s.period_end)


def evse_to_model(e: w.EVSE) -> m.EVSE:
    return m.EVSE(
        uid=_ci(e.uid),
        status=m.Status(e.status),
        connectors=tuple(connector_to_model(c) for c in e.connectors),
        last_updated=e.last_updated,
        evse_id=_opt_ci(e.evse_id),
        status_schedule=tup(e.status_schedule, _schedule_in),
        capabilities=tup(e.capabilities, plain),
        floor_level=e.floor_level,
        coordinates=None if e.coordinates is None else _geo_in(e.coordinates),
        physical_reference=e.physical_reference,
        directions=tup(e.directions, _text_in),
        parking_restrictions=tup(e.parking_restrictions, plain),
        images=tup(e.images, _image_in),
    )


def _evse_representable(e: m.EVSE) -> bool:
    return any(_connector_representable(c) for c in e.connectors)


def evse_from_model(e: m.EVSE) -> w.EVSE:
    """Connectors 2.1.1 cannot name are left out; raises NotRepresentable if none is left."""
    connectors = [connector_from_model(c) for c in e.connectors if _connector_representable(c)]
    if not connectors:
        raise _missing("EVSE.connectors", f"EVSE {e.uid!s} has no connector whose standard 2.1.1 knows")
    return w.EVSE(
        uid=_s(e.uid),
        evse_id=_opt_s(e.evse_id),
        status=w.Status(e.status),
        status_schedule=lst(e.status_schedule, _schedule_out),
        capabilities=known(w.Capability, e.capabilities),
        connectors=connectors,
        floor_level=e.floor_level,
        coordinates=None if e.coordinates is None else _geo_out(e.coordinates),
        physical_reference=e.physical_reference,
        directions=lst(e.directions, _text_out),
        parking_restrictions=known(w.ParkingRestriction, e.parking_restrictions),
        images=_images_out(e.images),
        last_updated=e.last_updated,
    )


def _period_in(p: w.ExceptionalPeriod) -> m.ExceptionalPeriod:
    return m.ExceptionalPeriod(period_begin=p.period_begin, period_end=p.period_end)


def _period_out(p: m.ExceptionalPeriod) -> w.ExceptionalPeriod:
    return w.ExceptionalPeriod(period_begin=p.period_begin, period_end=p.period_end)


def _hours_in(h: w.Hours) -> m.Hours:
    return m.Hours(
        twentyfourseven=h.twentyfourseven,
        regular_hours=tup(
            h.regular_hours,
            lambda r: m.RegularHours(weekday=r.weekday, period_begin=r.period_begin, period_end=r.period_end),
        ),
        exceptional_openings=tup(h.exceptional_openings, _period_in),
        exceptional_closings=tup(h.exceptional_closings, _period_in),
    )


def _hours_out(h: m.Hours) -> w.Hours:
    """2.1.1 Hours is a choice: ``twentyfourseven`` is written when true or when there are no regular
    hours; an explicit ``false`` next to regular hours (2.2+) is implied by them and left out."""
    twentyfourseven = h.twentyfourseven
    if twentyfourseven is not True and h.regular_hours:
        twentyfourseven = None
    elif twentyfourseven is None:
        twentyfourseven = True
    return w.Hours(
        regular_hours=lst(
            h.regular_hours,
            lambda r: w.RegularHours(weekday=r.weekday, period_begin=r.period_begin, period_end=r.period_end),
        ),
        twentyfourseven=twentyfourseven,
        exceptional_openings=lst(h.exceptional_openings, _period_out),
        exceptional_closings=lst(h.exceptional_closings, _period_out),
    )


def location_to_model(loc: w.Location, *, country_code: str, party_id: str) -> m.Location:
    """The owner (``country_code``/``party_id``) is the CPO the Location came from.

    ``type`` becomes ``parking_type`` (``UNKNOWN`` -> ``None``); ``publish`` is true.
    """
    return m.Location(
        country_code=_ci(country_code),
        party_id=_ci(party_id),
        id=_ci(loc.id),
        address=loc.address,
        city=loc.city,
        country=loc.country,
        coordinates=_geo_in(loc.coordinates),
        last_updated=loc.last_updated,
        publish=True,
        name=loc.name,
        postal_code=loc.postal_code,
        related_locations=tup(loc.related_locations, _related_in),
        parking_type=None if loc.type is w.LocationType.UNKNOWN else plain(loc.type),
        evses=tup(loc.evses, evse_to_model),
        directions=tup(loc.directions, _text_in),
        operator=None if loc.operator is None else _business_in(loc.operator),
        suboperator=None if loc.suboperator is None else _business_in(loc.suboperator),
        owner=None if loc.owner is None else _business_in(loc.owner),
        facilities=tup(loc.facilities, plain),
        time_zone=loc.time_zone,
        opening_times=None if loc.opening_times is None else _hours_in(loc.opening_times),
        charging_when_closed=loc.charging_when_closed,
        images=tup(loc.images, _image_in),
        energy_mix=None if loc.energy_mix is None else _energy_mix_in(loc.energy_mix),
    )


def _location_type_out(parking_type: str | None) -> w.LocationType:
    if parking_type is None:
        return w.LocationType.UNKNOWN
    return member(w.LocationType, parking_type) or w.LocationType.OTHER


def location_from_model(loc: m.Location) -> w.Location:
    """``parking_type`` -> ``type`` (``None`` -> UNKNOWN, ALONG_MOTORWAY/ON_DRIVEWAY -> OTHER); a
    missing ``postal_code`` is written as ``""`` (required in 2.1.1). EVSEs without a connector 2.1.1
    can name are left out. Owner, publish, state and 2.3.0 data are not written."""
    evses = None
    if loc.evses is not None:
        evses = [evse_from_model(e) for e in loc.evses if _evse_representable(e)]
    return w.Location(
        id=_max(loc.id, 39, "Location.id"),
        type=_location_type_out(loc.parking_type),
        name=loc.name,
        address=_max(loc.address, 45, "Location.address"),
        city=_max(loc.city, 45, "Location.city"),
        postal_code="" if loc.postal_code is None else loc.postal_code,
        country=loc.country,
        coordinates=_geo_out(loc.coordinates),
        related_locations=lst(loc.related_locations, _related_out),
        evses=evses,
        directions=lst(loc.directions, _text_out),
        operator=None if loc.operator is None else _business_out(loc.operator),
        suboperator=None if loc.suboperator is None else _business_out(loc.suboperator),
        owner=None if loc.owner is None else _business_out(loc.owner),
        facilities=known(w.Facility, loc.facilities),
        time_zone=loc.time_zone,
        opening_times=None if loc.opening_times is None else _hours_out(loc.opening_times),
        charging_when_closed=loc.charging_when_closed,
        images=_images_out(loc.images),
        energy_mix=None if loc.energy_mix is None else _energy_mix_out(loc.energy_mix),
        last_updated=loc.last_updated,
    )


# --- tariffs --------------------------------------------------------------------------------------


def _restrictions_in(r: w.TariffRestrictions) -> m.TariffRestrictions:
    return m.TariffRestrictions(
        start_time=r.start_time,
        end_time=r.end_time,
        start_date=r.start_date,
        end_date=r.end_date,
        min_kwh=r.min_kwh,
        max_kwh=r.max_kwh,
        min_power=r.min_power,
        max_power=r.max_power,
        min_duration=r.min_duration,
        max_duration=r.max_duration,
        day_of_week=tup(r.day_of_week, m.DayOfWeek),
    )


def _restrictions_out(r: m.TariffRestrictions) -> w.TariffRestrictions:
    if r.min_current is not None or r.max_current is not None:
        raise _missing("TariffRestrictions.min_current", "2.1.1 restrictions have no current thresholds")
    return w.TariffRestrictions(
        start_time=r.start_time,
        end_time=r.end_time,
        start_date=r.start_date,
        end_date=r.end_date,
        min_kwh=r.min_kwh,
        max_kwh=r.max_kwh,
        min_power=r.min_power,
        max_power=r.max_power,
        min_duration=r.min_duration,
        max_duration=r.max_duration,
        day_of_week=lst(r.day_of_week, w.DayOfWeek),
    )


def _element_in(e: w.TariffElement) -> m.TariffElement:
    return m.TariffElement(
        price_components=tuple(
            m.PriceComponent(type=m.TariffDimensionType(p.type), price=p.price, step_size=p.step_size)
            for p in e.price_components
        ),
        restrictions=None if e.restrictions is None else _restrictions_in(e.restrictions),
    )


def _element_out(e: m.TariffElement) -> w.TariffElement:
    return w.TariffElement(
        price_components=[
            w.PriceComponent(type=w.TariffDimensionType(p.type), price=p.price, step_size=p.step_size)
            for p in e.price_components
        ],
        restrictions=None if e.restrictions is None else _restrictions_out(e.restrictions),
    )


def tariff_to_model(t: w.Tariff, *, country_code: str, party_id: str) -> m.Tariff:
    """2.1.1 prices exclude VAT: ``tax_included = NO``. The owner is the CPO the Tariff came from."""
    return m.Tariff(
        country_code=_ci(country_code),
        party_id=_ci(party_id),
        id=_ci(t.id),
        currency=t.currency,
        elements=tuple(_element_in(e) for e in t.elements),
        last_updated=t.last_updated,
        tax_included=m.TaxIncluded.NO,
        tariff_alt_text=tup(t.tariff_alt_text, _text_in),
        tariff_alt_url=t.tariff_alt_url,
        energy_mix=None if t.energy_mix is None else _energy_mix_in(t.energy_mix),
    )


def tariff_from_model(t: m.Tariff) -> w.Tariff:
    """Elements restricted to reservations are left out (2.1.1 does not price reservations); VAT,
    type, min/max price and validity dates are not written. Raises NotRepresentable for prices that
    include taxes, current restrictions, or when no element is left."""
    if t.tax_included is m.TaxIncluded.YES:
        raise _missing("Tariff.tax_included", "2.1.1 prices exclude VAT; these prices include taxes")
    elements = [
        _element_out(e) for e in t.elements if e.restrictions is None or e.restrictions.reservation is None
    ]
    if not elements:
        raise _missing("Tariff.elements", "every element prices a reservation")
    return w.Tariff(
        id=_s(t.id),
        currency=t.currency,
        tariff_alt_text=lst(t.tariff_alt_text, _text_out),
        tariff_alt_url=t.tariff_alt_url,
        elements=elements,
        energy_mix=None if t.energy_mix is None else _energy_mix_out(t.energy_mix),
        last_updated=t.last_updated,
    )


# --- sessions and CDRs ----------------------------------------------------------------------------


def _charging_period_in(p: w.ChargingPeriod) -> m.ChargingPeriod:
    return m.ChargingPeriod(
        start_date_time=p.start_date_time,
        dimensions=tuple(
            m.CdrDimension(type=m.CdrDimensionType(d.type), volume=d.volume) for d in p.dimensions
        ),
    )


def _charging_periods_out(periods: Sequence[m.ChargingPeriod] | None) -> list[w.ChargingPeriod] | None:
    """Dimensions 2.1.1 lacks (CURRENT, POWER, STATE_OF_CHARGE ...) are dropped, and a period left
    without dimensions too; ``tariff_id`` is not written."""
    if periods is None:
        return None
    out: list[w.ChargingPeriod] = []
    for p in periods:
        dims = [
            w.CdrDimension(type=kind, volume=d.volume)
            for d in p.dimensions
            if (kind := member(w.CdrDimensionType, d.type)) is not None
        ]
        if dims:
            out.append(w.ChargingPeriod(start_date_time=p.start_date_time, dimensions=dims))
    return out


def _session_status_out(status: m.SessionStatus) -> w.SessionStatus:
    """RESERVATION (2.2+) is written as PENDING: the session exists but charging has not begun."""
    return member(w.SessionStatus, status) or w.SessionStatus.PENDING


def _auth_method_out(method: m.AuthMethod) -> w.AuthMethod:
    """COMMAND (2.2+) is written as AUTH_REQUEST: the eMSP authorised the session online."""
    return member(w.AuthMethod, method) or w.AuthMethod.AUTH_REQUEST


def _first_evse_connector(loc: m.Location) -> tuple[m.EVSE | None, m.Connector | None]:
    evse = loc.evses[0] if loc.evses else None
    connector = evse.connectors[0] if evse is not None else None
    return evse, connector


def _embedded_location(
    own: m.Location | None,
    given: m.Location | None,
    evse_uid: str | None,
    connector_id: str | None,
    path: str,
) -> w.Location:
    """The Location a 2.1.1 Session/CDR embeds: its own snapshot as it was, else the given Location
    reduced to the session's EVSE and connector."""
    if own is not None:
        return location_from_model(own)
    if given is None:
        raise _missing(path, "the embedded Location is unknown: pass the stored Location as `location`")
    evse = given.evse(evse_uid) if evse_uid is not None else None
    if evse is None:
        raise _missing(path, f"the Location has no EVSE {evse_uid!s}")
    connectors = evse.connectors
    if connector_id is not None:
        connectors = tuple(c for c in evse.connectors if c.id == connector_id)
        if not connectors:
            raise _missing(path, f"EVSE {evse_uid!s} has no connector {connector_id!s}")
    reduced = msgspec.structs.replace(given, evses=(msgspec.structs.replace(evse, connectors=connectors),))
    return location_from_model(reduced)


def session_to_model(s: w.Session, *, country_code: str, party_id: str) -> m.Session:
    """The owner is the CPO the Session came from. ``auth_id`` is kept as ``cdr_token.contract_id``;
    the embedded Location is kept as ``location`` and gives ``location_id`` and, from its first EVSE
    and that EVSE's first connector, ``evse_uid`` and ``connector_id``."""
    location = location_to_model(s.location, country_code=country_code, party_id=party_id)
    evse, connector = _first_evse_connector(location)
    return m.Session(
        country_code=_ci(country_code),
        party_id=_ci(party_id),
        id=_ci(s.id),
        start_date_time=s.start_datetime,
        kwh=s.kwh,
        cdr_token=m.CdrToken(contract_id=_ci(s.auth_id)),
        auth_method=m.AuthMethod(s.auth_method),
        location_id=location.id,
        currency=s.currency,
        status=m.SessionStatus(s.status),
        last_updated=s.last_updated,
        end_date_time=s.end_datetime,
        evse_uid=None if evse is None else evse.uid,
        connector_id=None if connector is None else connector.id,
        location=location,
        meter_id=s.meter_id,
        charging_periods=tup(s.charging_periods, _charging_period_in),
        total_cost=_price_in(s.total_cost),
    )


def session_from_model(s: m.Session, *, location: m.Location | None = None) -> w.Session:
    """Embeds ``s.location`` when the Session came from 2.1.1, else ``location`` (the stored Location,
    reduced to the session's EVSE/connector); raises NotRepresentable when neither is available."""
    return w.Session(
        id=_s(s.id),
        start_datetime=s.start_date_time,
        end_datetime=s.end_date_time,
        kwh=s.kwh,
        auth_id=_max(s.cdr_token.contract_id, 36, "Session.auth_id"),
        auth_method=_auth_method_out(s.auth_method),
        location=_embedded_location(s.location, location, s.evse_uid, s.connector_id, "Session.location"),
        meter_id=s.meter_id,
        currency=s.currency,
        charging_periods=_charging_periods_out(s.charging_periods),
        total_cost=_price_out(s.total_cost),
        status=_session_status_out(s.status),
        last_updated=s.last_updated,
    )


def _cdr_location_from(loc: m.Location) -> m.CdrLocation:
    evse, connector = _first_evse_connector(loc)
    return m.CdrLocation(
        id=loc.id,
        address=loc.address,
        city=loc.city,
        country=loc.country,
        coordinates=loc.coordinates,
        name=loc.name,
        postal_code=loc.postal_code,
        state=loc.state,
        evse_uid=None if evse is None else evse.uid,
        evse_id=None if evse is None else evse.evse_id,
        connector_id=None if connector is None else connector.id,
        connector_standard=None if connector is None else connector.standard,
        connector_format=None if connector is None else connector.format,
        connector_power_type=None if connector is None else connector.power_type,
    )


def cdr_to_model(c: w.CDR, *, country_code: str, party_id: str) -> m.CDR:
    """The owner is the CPO the CDR came from (also taken as the owner of its embedded Location and
    Tariffs). ``stop_date_time`` -> ``end_date_time``, ``auth_id`` -> ``cdr_token.contract_id``; the
    embedded Location is kept as ``location`` and summarised as ``cdr_location``."""
    location = location_to_model(c.location, country_code=country_code, party_id=party_id)
    return m.CDR(
        country_code=_ci(country_code),
        party_id=_ci(party_id),
        id=c.id,
        start_date_time=c.start_date_time,
        end_date_time=c.stop_date_time,
        cdr_token=m.CdrToken(contract_id=_ci(c.auth_id)),
        auth_method=m.AuthMethod(c.auth_method),
        cdr_location=_cdr_location_from(location),
        currency=c.currency,
        charging_periods=tuple(_charging_period_in(p) for p in c.charging_periods),
        total_cost=m.Price(before_taxes=c.total_cost),
        total_energy=c.total_energy,
        total_time=c.total_time,
        last_updated=c.last_updated,
        location=location,
        meter_id=c.meter_id,
        tariffs=tup(c.tariffs, lambda t: tariff_to_model(t, country_code=country_code, party_id=party_id)),
        total_parking_time=c.total_parking_time,
        remark=c.remark,
    )


def cdr_from_model(c: m.CDR, *, location: m.Location | None = None) -> w.CDR:
    """Embeds ``c.location`` (2.1.1 origin) or ``location`` reduced to the CDR's EVSE/connector.

    Credit CDRs raise NotRepresentable (2.1.1 has no credit mechanism), as does a CDR without any
    charging period 2.1.1 can carry. Cost breakdowns, taxes, session id, signed data and the other
    2.2+ fields are not written.
    """
    if c.credit:
        raise _missing("CDR.credit", "2.1.1 has no credit CDRs")
    periods = _charging_periods_out(c.charging_periods) or []
    if not periods:
        raise _missing("CDR.charging_periods", "no period has a dimension 2.1.1 knows")
    where = c.cdr_location
    return w.CDR(
        id=fit(CiString36, c.id, VERSION, "CDR.id"),
        start_date_time=c.start_date_time,
        stop_date_time=c.end_date_time,
        auth_id=_max(c.cdr_token.contract_id, 36, "CDR.auth_id"),
        auth_method=_auth_method_out(c.auth_method),
        location=_embedded_location(c.location, location, where.evse_uid, where.connector_id, "CDR.location"),
        meter_id=c.meter_id,
        currency=c.currency,
        tariffs=lst(c.tariffs, tariff_from_model),
        charging_periods=periods,
        total_cost=c.total_cost.before_taxes,
        total_energy=c.total_energy,
        total_time=c.total_time,
        total_parking_time=c.total_parking_time,
        remark=c.remark,
        last_updated=c.last_updated,
    )


# --- tokens ---------------------------------------------------------------------------------------


def token_to_model(t: w.Token, *, country_code: str, party_id: str) -> m.Token:
    """The owner is the eMSP the Token belongs to. ``auth_id`` -> ``contract_id``."""
    return m.Token(
        country_code=_ci(country_code),
        party_id=_ci(party_id),
        uid=_ci(t.uid),
        type=plain(t.type),
        contract_id=_ci(t.auth_id),
        issuer=t.issuer,
        valid=t.valid,
        whitelist=m.WhitelistType(t.whitelist),
        last_updated=t.last_updated,
        visual_number=t.visual_number,
        language=t.language,
    )


def token_from_model(t: m.Token) -> w.Token:
    """Token types other than OTHER/RFID become OTHER; group_id, default_profile_type and
    energy_contract are not written."""
    return w.Token(
        uid=_s(t.uid),
        type=_token_type_out(t.type),
        auth_id=_s(t.contract_id),
        visual_number=t.visual_number,
        issuer=t.issuer,
        valid=t.valid,
        whitelist=w.WhitelistType(t.whitelist),
        language=t.language,
        last_updated=t.last_updated,
    )


def location_references_to_model(r: w.LocationReferences) -> m.LocationReferences:
    return m.LocationReferences(
        location_id=_ci(r.location_id), evse_uids=_ci_seq(r.evse_uids), connector_ids=_ci_seq(r.connector_ids)
    )


def location_references_from_model(r: m.LocationReferences) -> w.LocationReferences:
    return w.LocationReferences(
        location_id=_s(r.location_id), evse_uids=_s_list(r.evse_uids), connector_ids=_s_list(r.connector_ids)
    )


def authorization_info_to_model(a: w.AuthorizationInfo) -> m.AuthorizationInfo:
    return m.AuthorizationInfo(
        allowed=m.AllowedType(a.allowed),
        location=None if a.location is None else location_references_to_model(a.location),
        info=None if a.info is None else _text_in(a.info),
    )


def authorization_info_from_model(a: m.AuthorizationInfo) -> w.AuthorizationInfo:
    """``token`` and ``authorization_reference`` (2.2+) are not written."""
    return w.AuthorizationInfo(
        allowed=w.Allowed(a.allowed),
        location=None if a.location is None else location_references_from_model(a.location),
        info=None if a.info is None else _text_out(a.info),
    )


# --- credentials ----------------------------------------------------------------------------------


def credentials_to_model(c: w.Credentials, *, role: m.Role | None = None) -> m.Credentials:
    """One CredentialsRole; its ``role`` is ``role`` (2.1.1 does not say it; ``None`` by default)."""
    return m.Credentials(
        token=c.token,
        url=c.url,
        roles=(
            m.CredentialsRole(
                business_details=_business_in(c.business_details),
                party_id=_ci(c.party_id),
                country_code=_ci(c.country_code),
                role=role,
            ),
        ),
    )


def credentials_from_model(c: m.Credentials) -> w.Credentials:
    """The first role gives business_details/party_id/country_code; further roles and
    ``hub_party_id`` are not written."""
    if not c.roles:
        raise _missing("Credentials.party_id", "no role to take the party from")
    first = c.roles[0]
    return w.Credentials(
        token=c.token,
        url=c.url,
        business_details=_business_out(first.business_details),
        party_id=_s(first.party_id),
        country_code=_s(first.country_code),
    )


# --- commands -------------------------------------------------------------------------------------


def command_response_to_model(r: w.CommandResponse) -> m.CommandResponse:
    """The synchronous answer to a command (no ``timeout``/``message`` in 2.1.1)."""
    return m.CommandResponse(result=m.CommandResponseType(r.result))


def command_response_from_model(r: m.CommandResponse) -> w.CommandResponse:
    return w.CommandResponse(result=w.CommandResponseType(r.result))


def command_result_to_model(r: w.CommandResponse) -> m.CommandResult:
    """The asynchronous result: a CommandResponse in 2.1.1, read as a canonical CommandResult."""
    return m.CommandResult(result=m.CommandResultType(r.result))


def command_result_from_model(r: m.CommandResult) -> w.CommandResponse:
    """Result types 2.1.1 lacks (EVSE_OCCUPIED, FAILED, ...) are written as REJECTED."""
    return w.CommandResponse(result=member(w.CommandResponseType, r.result) or w.CommandResponseType.REJECTED)


_INTEGER = re.compile(r"^-?(0|[1-9][0-9]*)$")


def reserve_now_to_model(r: w.ReserveNow, *, country_code: str, party_id: str) -> m.ReserveNow:
    """``country_code``/``party_id``: the eMSP that owns the token. ``reservation_id`` 5 -> ``"5"``."""
    return m.ReserveNow(
        response_url=r.response_url,
        token=token_to_model(r.token, country_code=country_code, party_id=party_id),
        expiry_date=r.expiry_date,
        reservation_id=CiString(str(r.reservation_id)),
        location_id=_ci(r.location_id),
        evse_uid=_opt_ci(r.evse_uid),
    )


def reserve_now_from_model(r: m.ReserveNow) -> w.ReserveNow:
    """Raises NotRepresentable when ``reservation_id`` is not an integer in canonical decimal form."""
    if not _INTEGER.match(r.reservation_id):
        raise _missing("ReserveNow.reservation_id", f"{r.reservation_id!s} is not an integer")
    return w.ReserveNow(
        response_url=r.response_url,
        token=token_from_model(r.token),
        expiry_date=r.expiry_date,
        reservation_id=int(r.reservation_id),
        location_id=_s(r.location_id),
        evse_uid=_opt_s(r.evse_uid),
    )


def start_session_to_model(s: w.StartSession, *, country_code: str, party_id: str) -> m.StartSession:
    """``country_code``/``party_id``: the eMSP that owns the token."""
    return m.StartSession(
        response_url=s.response_url,
        token=token_to_model(s.token, country_code=country_code, party_id=party_id),
        location_id=_ci(s.location_id),
        evse_uid=_opt_ci(s.evse_uid),
    )


def start_session_from_model(s: m.StartSession) -> w.StartSession:
    """``connector_id`` and ``authorization_reference`` (2.2+) are not written."""
    return w.StartSession(
        response_url=s.response_url,
        token=token_from_model(s.token),
        location_id=_s(s.location_id),
        evse_uid=_opt_s(s.evse_uid),
    )


def stop_session_to_model(s: w.StopSession) -> m.StopSession:
    return m.StopSession(response_url=s.response_url, session_id=_ci(s.session_id))


def stop_session_from_model(s: m.StopSession) -> w.StopSession:
    return w.StopSession(response_url=s.response_url, session_id=_s(s.session_id))


def unlock_connector_to_model(u: w.UnlockConnector) -> m.UnlockConnector:
    return m.UnlockConnector(
        response_url=u.response_url,
        location_id=_ci(u.location_id),
        evse_uid=_ci(u.evse_uid),
        connector_id=_ci(u.connector_id),
    )


def unlock_connector_from_model(u: m.UnlockConnector) -> w.UnlockConnector:
    return w.UnlockConnector(
        response_url=u.response_url,
        location_id=_s(u.location_id),
        evse_uid=_s(u.evse_uid),
        connector_id=_s(u.connector_id),
    )
