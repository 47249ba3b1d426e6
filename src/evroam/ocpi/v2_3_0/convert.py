"""Converters between the OCPI 2.3.0 wire models and the canonical model (:mod:`evroam.model`).

``<object>_to_model(wire) -> model.X`` reads a 2.3.0 object; ``<object>_from_model(model.X) -> wire``
writes one. A 2.3.0 object read and written again is unchanged; values of 2.3.0's OpenEnums that
evroam does not know are kept as they came. Writing a canonical object that came from another
version follows ``docs/versions.md``; in short:

* money: ``Price.before_taxes`` and ``taxes`` (:meth:`evroam.model.Price.taxes_or_derived`: a 2.2.1
  ``incl_vat`` becomes one tax named ``VAT``); ``PriceLimit.after_taxes`` is
  :meth:`evroam.model.Price.after_taxes_total`;
* a Tariff read from 2.1.1/2.2.1 carries ``tax_included = NO`` (its prices exclude VAT);
* 2.2.1 HUB roles in Credentials become ``hub_party_id`` (2.3.0 has no HUB role); a ClientInfo with
  role HUB raises :class:`evroam.model.NotRepresentable`;
* what 2.3.0 requires and the canonical object lacks (a 2.1.1 Location without ``time_zone``, a
  2.1.1 Session's token uid, ...) raises :class:`evroam.model.NotRepresentable`.

Objects 2.3.0 shares unchanged with 2.2.1 (charging profiles, ChargingPreferences, CommandResult ...)
are read by the 2.2.1 functions, re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence

from evroam import model as m
from evroam.core.types import (
    CiString,
    CiString2,
    CiString3,
    CiString4,
    CiString5,
    CiString10,
    CiString20,
    CiString25,
    CiString32,
    CiString36,
    CiString39,
    CiString45,
    CiString48,
    CiString255,
)
from evroam.model._convert import fit, lst, member, plain, require, seq, tup
from evroam.model.common import NotRepresentable
from evroam.ocpi import v2_3_0 as w
from evroam.ocpi.v2_2_1.convert import (
    _charging_period_in,
    _element_in,
    _geo_in,
    _hours_in,
    _related_in,
    _schedule_in,
    _signed_in,
    _text_in,
    active_charging_profile_from_model,
    active_charging_profile_result_from_model,
    active_charging_profile_result_to_model,
    active_charging_profile_to_model,
    cancel_reservation_to_model,
    charging_preferences_from_model,
    charging_preferences_to_model,
    charging_profile_from_model,
    charging_profile_response_from_model,
    charging_profile_response_to_model,
    charging_profile_result_from_model,
    charging_profile_result_to_model,
    charging_profile_to_model,
    clear_profile_result_from_model,
    clear_profile_result_to_model,
    command_response_to_model,
    command_result_to_model,
    location_references_to_model,
    set_charging_profile_from_model,
    set_charging_profile_to_model,
    stop_session_to_model,
    unlock_connector_to_model,
)

__all__ = [
    "VERSION",
    "active_charging_profile_from_model",
    "active_charging_profile_result_from_model",
    "active_charging_profile_result_to_model",
    "active_charging_profile_to_model",
    "authorization_info_from_model",
    "authorization_info_to_model",
    "cancel_reservation_from_model",
    "cancel_reservation_to_model",
    "cdr_from_model",
    "cdr_to_model",
    "charging_preferences_from_model",
    "charging_preferences_to_model",
    "charging_profile_from_model",
    "charging_profile_response_from_model",
    "charging_profile_response_to_model",
    "charging_profile_result_from_model",
    "charging_profile_result_to_model",
    "charging_profile_to_model",
    "clear_profile_result_from_model",
    "clear_profile_result_to_model",
    "client_info_from_model",
    "client_info_to_model",
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
    "financial_advice_confirmation_from_model",
    "financial_advice_confirmation_to_model",
    "location_from_model",
    "location_references_from_model",
    "location_references_to_model",
    "location_to_model",
    "price_from_model",
    "price_limit_from_model",
    "price_limit_to_model",
    "price_to_model",
    "reserve_now_from_model",
    "reserve_now_to_model",
    "session_from_model",
    "session_to_model",
    "set_charging_profile_from_model",
    "set_charging_profile_to_model",
    "start_session_from_model",
    "start_session_to_model",
    "stop_session_from_model",
    "stop_session_to_model",
    "tariff_from_model",
    "tariff_to_model",
    "terminal_from_model",
    "terminal_to_model",
    "token_from_model",
    "token_to_model",
    "unlock_connector_from_model",
    "unlock_connector_to_model",
]

VERSION = "2.3.0"


def _id36(value: str, path: str) -> CiString36:
    return fit(CiString36, value, VERSION, path)


def _opt36(value: str | None, path: str) -> CiString36 | None:
    return None if value is None else _id36(value, path)


def _cc(value: str, path: str) -> CiString2:
    return fit(CiString2, value, VERSION, path)


def _pid(value: str, path: str) -> CiString3:
    return fit(CiString3, value, VERSION, path)


def _ids36(values: Sequence[str] | None, path: str) -> list[CiString36] | None:
    return None if values is None else [_id36(v, path) for v in values]


def _missing(path: str, reason: str) -> NotRepresentable:
    return NotRepresentable(VERSION, path, reason)


def _strs(values: Sequence[str] | None) -> list[str] | None:
    return None if values is None else list(values)


# --- common classes -------------------------------------------------------------------------------


def _text_out(t: m.DisplayText) -> w.DisplayText:
    return w.DisplayText(language=t.language, text=t.text)


def _geo_out(g: m.GeoLocation) -> w.GeoLocation:
    return w.GeoLocation(latitude=g.latitude, longitude=g.longitude)


def _related_out(g: m.AdditionalGeoLocation) -> w.AdditionalGeoLocation:
    name = None if g.name is None else _text_out(g.name)
    return w.AdditionalGeoLocation(latitude=g.latitude, longitude=g.longitude, name=name)


def _image_in(i: w.Image) -> m.Image:
    return m.Image(
        url=i.url,
        category=plain(i.category),
        type=i.type,
        thumbnail=i.thumbnail,
        width=i.width,
        height=i.height,
    )


def _image_out(i: m.Image) -> w.Image:
    return w.Image(
        url=i.url,
        category=i.category,
        type=fit(CiString4, i.type, VERSION, "Image.type"),
        thumbnail=i.thumbnail,
        width=i.width,
        height=i.height,
    )


def _business_in(b: w.BusinessDetails) -> m.BusinessDetails:
    logo = None if b.logo is None else _image_in(b.logo)
    return m.BusinessDetails(name=b.name, website=b.website, logo=logo)


def _business_out(b: m.BusinessDetails) -> w.BusinessDetails:
    logo = None if b.logo is None else _image_out(b.logo)
    return w.BusinessDetails(name=b.name, website=b.website, logo=logo)


def _energy_mix_in(e: w.EnergyMix) -> m.EnergyMix:
    return m.EnergyMix(
        is_green_energy=e.is_green_energy,
        energy_sources=tup(
            e.energy_sources,
            lambda s: m.EnergySource(source=m.EnergySourceCategory(s.source), percentage=s.percentage),
        ),
        environ_impact=tup(
            e.environ_impact,
            lambda i: m.EnvironmentalImpact(category=plain(i.category), amount=i.amount),
        ),
        supplier_name=e.supplier_name,
        energy_product_name=e.energy_product_name,
    )


def _energy_mix_out(e: m.EnergyMix) -> w.EnergyMix:
    return w.EnergyMix(
        is_green_energy=e.is_green_energy,
        energy_sources=lst(
            e.energy_sources,
            lambda s: w.EnergySource(source=w.EnergySourceCategory(s.source), percentage=s.percentage),
        ),
        environ_impact=lst(
            e.environ_impact, lambda i: w.EnvironmentalImpact(category=i.category, amount=i.amount)
        ),
        supplier_name=e.supplier_name,
        energy_product_name=e.energy_product_name,
    )


def _tax_in(t: w.TaxAmount) -> m.TaxAmount:
    return m.TaxAmount(name=t.name, amount=t.amount, account_number=t.account_number, percentage=t.percentage)


def _tax_out(t: m.TaxAmount) -> w.TaxAmount:
    return w.TaxAmount(name=t.name, account_number=t.account_number, percentage=t.percentage, amount=t.amount)


def price_to_model(p: w.Price) -> m.Price:
    return m.Price(before_taxes=p.before_taxes, taxes=tup(p.taxes, _tax_in))


def price_from_model(p: m.Price) -> w.Price:
    """``taxes`` as given, or one ``VAT`` tax derived from a 2.2.1 after-tax total."""
    return w.Price(before_taxes=p.before_taxes, taxes=lst(p.taxes_or_derived(), _tax_out))


def price_limit_to_model(p: w.PriceLimit) -> m.Price:
    return m.Price(before_taxes=p.before_taxes, after_taxes=p.after_taxes)


def price_limit_from_model(p: m.Price) -> w.PriceLimit:
    return w.PriceLimit(before_taxes=p.before_taxes, after_taxes=p.after_taxes_total())


def _opt_price_in(p: w.Price | None) -> m.Price | None:
    return None if p is None else price_to_model(p)


def _opt_price_out(p: m.Price | None) -> w.Price | None:
    return None if p is None else price_from_model(p)


# --- locations ------------------------------------------------------------------------------------


def connector_to_model(c: w.Connector) -> m.Connector:
    return m.Connector(
        id=c.id,
        standard=plain(c.standard),
        format=m.ConnectorFormat(c.format),
        power_type=m.PowerType(c.power_type),
        max_voltage=c.max_voltage,
        max_amperage=c.max_amperage,
        last_updated=c.last_updated,
        max_electric_power=c.max_electric_power,
        tariff_ids=seq(c.tariff_ids),
        terms_and_conditions=c.terms_and_conditions,
        capabilities=tup(c.capabilities, plain),
    )


def connector_from_model(c: m.Connector) -> w.Connector:
    return w.Connector(
        id=_id36(c.id, "Connector.id"),
        standard=c.standard,
        format=w.ConnectorFormat(c.format),
        power_type=require(w.PowerType, c.power_type, VERSION, "Connector.power_type"),
        max_voltage=c.max_voltage,
        max_amperage=c.max_amperage,
        max_electric_power=c.max_electric_power,
        tariff_ids=_ids36(c.tariff_ids, "Connector.tariff_ids"),
        terms_and_conditions=c.terms_and_conditions,
        capabilities=_strs(c.capabilities),
        last_updated=c.last_updated,
    )


def _schedule_out(s: m.StatusSchedule) -> w.StatusSchedule:
    return w.StatusSchedule(period_begin=s.period_begin, status=w.Status(s.status), period_end=s.period_end)


def _evse_parking_in(p: w.EVSEParking) -> m.EVSEParking:
    position = None if p.evse_position is None else m.EVSEPosition(p.evse_position)
    return m.EVSEParking(parking_id=p.parking_id, evse_position=position)


def _evse_parking_out(p: m.EVSEParking) -> w.EVSEParking:
    position = None if p.evse_position is None else w.EVSEPosition(p.evse_position)
    return w.EVSEParking(parking_id=_id36(p.parking_id, "EVSEParking.parking_id"), evse_position=position)


def evse_to_model(e: w.EVSE) -> m.EVSE:
    return m.EVSE(
        uid=e.uid,
        status=m.Status(e.status),
        connectors=tuple(connector_to_model(c) for c in e.connectors),
        last_updated=e.last_updated,
        evse_id=e.evse_id,
        status_schedule=tup(e.status_schedule, _schedule_in),
        capabilities=tup(e.capabilities, plain),
        floor_level=e.floor_level,
        coordinates=None if e.coordinates is None else _geo_in(e.coordinates),
        physical_reference=e.physical_reference,
        directions=tup(e.directions, _text_in),
        parking_restrictions=tup(e.parking_restrictions, plain),
        images=tup(e.images, _image_in),
        parking=tup(e.parking, _evse_parking_in),
        accepted_service_providers=seq(e.accepted_service_providers),
    )


def evse_from_model(e: m.EVSE) -> w.EVSE:
    return w.EVSE(
        uid=_id36(e.uid, "EVSE.uid"),
        evse_id=None if e.evse_id is None else fit(CiString48, e.evse_id, VERSION, "EVSE.evse_id"),
        status=w.Status(e.status),
        status_schedule=lst(e.status_schedule, _schedule_out),
        capabilities=_strs(e.capabilities),
        connectors=[connector_from_model(c) for c in e.connectors],
        floor_level=e.floor_level,
        coordinates=None if e.coordinates is None else _geo_out(e.coordinates),
        physical_reference=e.physical_reference,
        directions=lst(e.directions, _text_out),
        parking_restrictions=_strs(e.parking_restrictions),
        parking=lst(e.parking, _evse_parking_out),
        images=lst(e.images, _image_out),
        accepted_service_providers=_strs(e.accepted_service_providers),
        last_updated=e.last_updated,
    )


def _period_out(p: m.ExceptionalPeriod) -> w.ExceptionalPeriod:
    return w.ExceptionalPeriod(period_begin=p.period_begin, period_end=p.period_end)


def _hours_out(h: m.Hours) -> w.Hours:
    twentyfourseven = h.twentyfourseven
    if twentyfourseven is None:  # a 2.1.1 object that gave only regular hours (or nothing)
        twentyfourseven = not h.regular_hours
    return w.Hours(
        twentyfourseven=twentyfourseven,
        regular_hours=lst(
            h.regular_hours,
            lambda r: w.RegularHours(weekday=r.weekday, period_begin=r.period_begin, period_end=r.period_end),
        ),
        exceptional_openings=lst(h.exceptional_openings, _period_out),
        exceptional_closings=lst(h.exceptional_closings, _period_out),
    )


def _publish_in(p: w.PublishTokenType) -> m.PublishTokenType:
    return m.PublishTokenType(
        uid=p.uid,
        type=None if p.type is None else plain(p.type),
        visual_number=p.visual_number,
        issuer=p.issuer,
        group_id=p.group_id,
    )


def _publish_out(p: m.PublishTokenType) -> w.PublishTokenType:
    return w.PublishTokenType(
        uid=_opt36(p.uid, "PublishTokenType.uid"),
        type=p.type,
        visual_number=p.visual_number,
        issuer=p.issuer,
        group_id=_opt36(p.group_id, "PublishTokenType.group_id"),
    )


def _parking_in(p: w.Parking) -> m.Parking:
    return m.Parking(
        id=p.id,
        vehicle_types=tuple(plain(v) for v in p.vehicle_types),
        restricted_to_type=p.restricted_to_type,
        reservation_required=p.reservation_required,
        physical_reference=p.physical_reference,
        max_vehicle_weight=p.max_vehicle_weight,
        max_vehicle_height=p.max_vehicle_height,
        max_vehicle_length=p.max_vehicle_length,
        max_vehicle_width=p.max_vehicle_width,
        parking_space_length=p.parking_space_length,
        parking_space_width=p.parking_space_width,
        dangerous_goods_allowed=p.dangerous_goods_allowed,
        direction=None if p.direction is None else m.ParkingDirection(p.direction),
        drive_through=p.drive_through,
        time_limit=p.time_limit,
        roofed=p.roofed,
        images=tup(p.images, _image_in),
        lighting=p.lighting,
        refrigeration_outlet=p.refrigeration_outlet,
        standards=seq(p.standards),
        apds_reference=p.apds_reference,
    )


def _parking_out(p: m.Parking) -> w.Parking:
    return w.Parking(
        id=_id36(p.id, "Parking.id"),
        physical_reference=p.physical_reference,
        vehicle_types=list(p.vehicle_types),
        max_vehicle_weight=p.max_vehicle_weight,
        max_vehicle_height=p.max_vehicle_height,
        max_vehicle_length=p.max_vehicle_length,
        max_vehicle_width=p.max_vehicle_width,
        parking_space_length=p.parking_space_length,
        parking_space_width=p.parking_space_width,
        dangerous_goods_allowed=p.dangerous_goods_allowed,
        direction=None if p.direction is None else w.ParkingDirection(p.direction),
        drive_through=p.drive_through,
        restricted_to_type=p.restricted_to_type,
        reservation_required=p.reservation_required,
        time_limit=p.time_limit,
        roofed=p.roofed,
        images=lst(p.images, _image_out),
        lighting=p.lighting,
        refrigeration_outlet=p.refrigeration_outlet,
        standards=_ids36(p.standards, "Parking.standards"),
        apds_reference=None
        if p.apds_reference is None
        else fit(CiString, p.apds_reference, VERSION, "apds_reference"),
    )


def location_to_model(loc: w.Location) -> m.Location:
    return m.Location(
        country_code=loc.country_code,
        party_id=loc.party_id,
        id=loc.id,
        address=loc.address,
        city=loc.city,
        country=loc.country,
        coordinates=_geo_in(loc.coordinates),
        last_updated=loc.last_updated,
        publish=loc.publish,
        publish_allowed_to=tup(loc.publish_allowed_to, _publish_in),
        name=loc.name,
        postal_code=loc.postal_code,
        state=loc.state,
        related_locations=tup(loc.related_locations, _related_in),
        parking_type=None if loc.parking_type is None else plain(loc.parking_type),
        evses=tup(loc.evses, evse_to_model),
        parking_places=tup(loc.parking_places, _parking_in),
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
        help_phone=loc.help_phone,
    )


def location_from_model(loc: m.Location) -> w.Location:
    """Raises NotRepresentable when ``time_zone`` is unknown (possible for a 2.1.1 Location)."""
    if loc.time_zone is None:
        raise _missing("Location.time_zone", "required since 2.2; the Location (from 2.1.1) has none")
    return w.Location(
        country_code=_cc(loc.country_code, "Location.country_code"),
        party_id=_pid(loc.party_id, "Location.party_id"),
        id=_id36(loc.id, "Location.id"),
        publish=loc.publish,
        publish_allowed_to=lst(loc.publish_allowed_to, _publish_out),
        name=loc.name,
        address=loc.address,
        city=loc.city,
        postal_code=loc.postal_code,
        state=loc.state,
        country=loc.country,
        coordinates=_geo_out(loc.coordinates),
        related_locations=lst(loc.related_locations, _related_out),
        parking_type=loc.parking_type,
        evses=lst(loc.evses, evse_from_model),
        parking_places=lst(loc.parking_places, _parking_out),
        directions=lst(loc.directions, _text_out),
        operator=None if loc.operator is None else _business_out(loc.operator),
        suboperator=None if loc.suboperator is None else _business_out(loc.suboperator),
        owner=None if loc.owner is None else _business_out(loc.owner),
        facilities=_strs(loc.facilities),
        time_zone=loc.time_zone,
        opening_times=None if loc.opening_times is None else _hours_out(loc.opening_times),
        charging_when_closed=loc.charging_when_closed,
        images=lst(loc.images, _image_out),
        energy_mix=None if loc.energy_mix is None else _energy_mix_out(loc.energy_mix),
        help_phone=None if loc.help_phone is None else fit(CiString25, loc.help_phone, VERSION, "help_phone"),
        last_updated=loc.last_updated,
    )


# --- tariffs --------------------------------------------------------------------------------------


def _restrictions_out(r: m.TariffRestrictions) -> w.TariffRestrictions:
    return w.TariffRestrictions(
        start_time=r.start_time,
        end_time=r.end_time,
        start_date=r.start_date,
        end_date=r.end_date,
        min_kwh=r.min_kwh,
        max_kwh=r.max_kwh,
        min_current=r.min_current,
        max_current=r.max_current,
        min_power=r.min_power,
        max_power=r.max_power,
        min_duration=r.min_duration,
        max_duration=r.max_duration,
        day_of_week=lst(r.day_of_week, w.DayOfWeek),
        reservation=None if r.reservation is None else w.ReservationRestrictionType(r.reservation),
    )


def _element_out(e: m.TariffElement) -> w.TariffElement:
    return w.TariffElement(
        price_components=[
            w.PriceComponent(
                type=w.TariffDimensionType(p.type), price=p.price, vat=p.vat, step_size=p.step_size
            )
            for p in e.price_components
        ],
        restrictions=None if e.restrictions is None else _restrictions_out(e.restrictions),
    )


def tariff_to_model(t: w.Tariff) -> m.Tariff:
    return m.Tariff(
        country_code=t.country_code,
        party_id=t.party_id,
        id=t.id,
        currency=t.currency,
        elements=tuple(_element_in(e) for e in t.elements),
        last_updated=t.last_updated,
        tax_included=m.TaxIncluded(t.tax_included),
        type=None if t.type is None else m.TariffType(t.type),
        tariff_alt_text=tup(t.tariff_alt_text, _text_in),
        tariff_alt_url=t.tariff_alt_url,
        min_price=None if t.min_price is None else price_limit_to_model(t.min_price),
        max_price=None if t.max_price is None else price_limit_to_model(t.max_price),
        preauthorize_amount=t.preauthorize_amount,
        start_date_time=t.start_date_time,
        end_date_time=t.end_date_time,
        energy_mix=None if t.energy_mix is None else _energy_mix_in(t.energy_mix),
    )


def tariff_from_model(t: m.Tariff) -> w.Tariff:
    return w.Tariff(
        country_code=_cc(t.country_code, "Tariff.country_code"),
        party_id=_pid(t.party_id, "Tariff.party_id"),
        id=_id36(t.id, "Tariff.id"),
        currency=t.currency,
        type=None if t.type is None else w.TariffType(t.type),
        tariff_alt_text=lst(t.tariff_alt_text, _text_out),
        tariff_alt_url=t.tariff_alt_url,
        min_price=None if t.min_price is None else price_limit_from_model(t.min_price),
        max_price=None if t.max_price is None else price_limit_from_model(t.max_price),
        preauthorize_amount=t.preauthorize_amount,
        elements=[_element_out(e) for e in t.elements],
        tax_included=w.TaxIncluded(t.tax_included),
        start_date_time=t.start_date_time,
        end_date_time=t.end_date_time,
        energy_mix=None if t.energy_mix is None else _energy_mix_out(t.energy_mix),
        last_updated=t.last_updated,
    )


# --- sessions and CDRs ----------------------------------------------------------------------------


def _cdr_token_in(t: w.CdrToken) -> m.CdrToken:
    return m.CdrToken(
        contract_id=t.contract_id,
        uid=t.uid,
        type=plain(t.type),
        country_code=t.country_code,
        party_id=t.party_id,
    )


def _cdr_token_out(t: m.CdrToken, path: str) -> w.CdrToken:
    if t.uid is None or t.type is None:
        raise _missing(f"{path}.uid", "the token uid/type are unknown (a 2.1.1 object gives only auth_id)")
    if t.country_code is None or t.party_id is None:
        raise _missing(f"{path}.country_code", "the token owner is unknown (required since 2.2.1)")
    return w.CdrToken(
        country_code=_cc(t.country_code, f"{path}.country_code"),
        party_id=_pid(t.party_id, f"{path}.party_id"),
        uid=_id36(t.uid, f"{path}.uid"),
        type=t.type,
        contract_id=_id36(t.contract_id, f"{path}.contract_id"),
    )


def _charging_periods_out(periods: Sequence[m.ChargingPeriod] | None) -> list[w.ChargingPeriod] | None:
    """Dimensions 2.3.0 lacks (2.1.1 FLAT) are dropped; a period left without dimensions too."""
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
            tariff_id = _opt36(p.tariff_id, "ChargingPeriod.tariff_id")
            out.append(
                w.ChargingPeriod(start_date_time=p.start_date_time, dimensions=dims, tariff_id=tariff_id)
            )
    return out


def session_to_model(s: w.Session) -> m.Session:
    return m.Session(
        country_code=s.country_code,
        party_id=s.party_id,
        id=s.id,
        start_date_time=s.start_date_time,
        kwh=s.kwh,
        cdr_token=_cdr_token_in(s.cdr_token),
        auth_method=m.AuthMethod(s.auth_method),
        location_id=s.location_id,
        currency=s.currency,
        status=m.SessionStatus(s.status),
        last_updated=s.last_updated,
        end_date_time=s.end_date_time,
        authorization_reference=s.authorization_reference,
        evse_uid=s.evse_uid,
        connector_id=s.connector_id,
        meter_id=s.meter_id,
        charging_periods=tup(s.charging_periods, _charging_period_in),
        total_cost=_opt_price_in(s.total_cost),
    )


def session_from_model(s: m.Session) -> w.Session:
    """Raises NotRepresentable when the EVSE/connector or the token uid is unknown (2.1.1 origin)."""
    if s.evse_uid is None or s.connector_id is None:
        raise _missing("Session.evse_uid", "the session's EVSE/connector is unknown")
    return w.Session(
        country_code=_cc(s.country_code, "Session.country_code"),
        party_id=_pid(s.party_id, "Session.party_id"),
        id=_id36(s.id, "Session.id"),
        start_date_time=s.start_date_time,
        end_date_time=s.end_date_time,
        kwh=s.kwh,
        cdr_token=_cdr_token_out(s.cdr_token, "Session.cdr_token"),
        auth_method=w.AuthMethod(s.auth_method),
        authorization_reference=_opt36(s.authorization_reference, "Session.authorization_reference"),
        location_id=_id36(s.location_id, "Session.location_id"),
        evse_uid=_id36(s.evse_uid, "Session.evse_uid"),
        connector_id=_id36(s.connector_id, "Session.connector_id"),
        meter_id=s.meter_id,
        currency=s.currency,
        charging_periods=_charging_periods_out(s.charging_periods),
        total_cost=_opt_price_out(s.total_cost),
        status=w.SessionStatus(s.status),
        last_updated=s.last_updated,
    )


def _cdr_location_in(c: w.CdrLocation) -> m.CdrLocation:
    return m.CdrLocation(
        id=c.id,
        address=c.address,
        city=c.city,
        country=c.country,
        coordinates=_geo_in(c.coordinates),
        name=c.name,
        postal_code=c.postal_code,
        state=c.state,
        evse_uid=c.evse_uid,
        evse_id=c.evse_id,
        connector_id=c.connector_id,
        connector_standard=plain(c.connector_standard),
        connector_format=m.ConnectorFormat(c.connector_format),
        connector_power_type=m.PowerType(c.connector_power_type),
    )


def _cdr_location_out(c: m.CdrLocation) -> w.CdrLocation:
    if (
        c.evse_uid is None
        or c.evse_id is None
        or c.connector_id is None
        or c.connector_standard is None
        or c.connector_format is None
        or c.connector_power_type is None
    ):
        raise _missing("CDR.cdr_location", "the EVSE/connector fields are incomplete (2.1.1 origin)")
    return w.CdrLocation(
        id=_id36(c.id, "CdrLocation.id"),
        name=c.name,
        address=c.address,
        city=c.city,
        postal_code=c.postal_code,
        state=c.state,
        country=c.country,
        coordinates=_geo_out(c.coordinates),
        evse_uid=_id36(c.evse_uid, "CdrLocation.evse_uid"),
        evse_id=fit(CiString48, c.evse_id, VERSION, "CdrLocation.evse_id"),
        connector_id=_id36(c.connector_id, "CdrLocation.connector_id"),
        connector_standard=c.connector_standard,
        connector_format=w.ConnectorFormat(c.connector_format),
        connector_power_type=require(
            w.PowerType, c.connector_power_type, VERSION, "CdrLocation.connector_power_type"
        ),
    )


def _signed_out(s: m.SignedData) -> w.SignedData:
    return w.SignedData(
        encoding_method=_id36(s.encoding_method, "SignedData.encoding_method"),
        encoding_method_version=s.encoding_method_version,
        public_key=s.public_key,
        signed_values=[
            w.SignedValue(
                nature=fit(CiString32, v.nature, VERSION, "SignedValue.nature"),
                plain_data=v.plain_data,
                signed_data=v.signed_data,
            )
            for v in s.signed_values
        ],
        url=s.url,
    )


def _opt39(value: str | None, path: str) -> CiString39 | None:
    return None if value is None else fit(CiString39, value, VERSION, path)


def cdr_to_model(c: w.CDR) -> m.CDR:
    return m.CDR(
        country_code=c.country_code,
        party_id=c.party_id,
        id=c.id,
        start_date_time=c.start_date_time,
        end_date_time=c.end_date_time,
        cdr_token=_cdr_token_in(c.cdr_token),
        auth_method=m.AuthMethod(c.auth_method),
        cdr_location=_cdr_location_in(c.cdr_location),
        currency=c.currency,
        charging_periods=tuple(_charging_period_in(p) for p in c.charging_periods),
        total_cost=price_to_model(c.total_cost),
        total_energy=c.total_energy,
        total_time=c.total_time,
        last_updated=c.last_updated,
        session_id=c.session_id,
        authorization_reference=c.authorization_reference,
        meter_id=c.meter_id,
        tariffs=tup(c.tariffs, tariff_to_model),
        signed_data=None if c.signed_data is None else _signed_in(c.signed_data),
        total_fixed_cost=_opt_price_in(c.total_fixed_cost),
        total_energy_cost=_opt_price_in(c.total_energy_cost),
        total_time_cost=_opt_price_in(c.total_time_cost),
        total_parking_time=c.total_parking_time,
        total_parking_cost=_opt_price_in(c.total_parking_cost),
        total_reservation_cost=_opt_price_in(c.total_reservation_cost),
        remark=c.remark,
        invoice_reference_id=c.invoice_reference_id,
        credit=c.credit,
        credit_reference_id=c.credit_reference_id,
        home_charging_compensation=c.home_charging_compensation,
    )


def cdr_from_model(c: m.CDR) -> w.CDR:
    """Raises NotRepresentable when token/EVSE data is incomplete or no charging period is left."""
    periods = _charging_periods_out(c.charging_periods) or []
    if not periods:
        raise _missing("CDR.charging_periods", "no period has a dimension 2.3.0 knows")
    return w.CDR(
        country_code=_cc(c.country_code, "CDR.country_code"),
        party_id=_pid(c.party_id, "CDR.party_id"),
        id=fit(CiString39, c.id, VERSION, "CDR.id"),
        start_date_time=c.start_date_time,
        end_date_time=c.end_date_time,
        session_id=_opt36(c.session_id, "CDR.session_id"),
        cdr_token=_cdr_token_out(c.cdr_token, "CDR.cdr_token"),
        auth_method=w.AuthMethod(c.auth_method),
        authorization_reference=_opt36(c.authorization_reference, "CDR.authorization_reference"),
        cdr_location=_cdr_location_out(c.cdr_location),
        meter_id=c.meter_id,
        currency=c.currency,
        tariffs=lst(c.tariffs, tariff_from_model),
        charging_periods=periods,
        signed_data=None if c.signed_data is None else _signed_out(c.signed_data),
        total_cost=price_from_model(c.total_cost),
        total_fixed_cost=_opt_price_out(c.total_fixed_cost),
        total_energy=c.total_energy,
        total_energy_cost=_opt_price_out(c.total_energy_cost),
        total_time=c.total_time,
        total_time_cost=_opt_price_out(c.total_time_cost),
        total_parking_time=c.total_parking_time,
        total_parking_cost=_opt_price_out(c.total_parking_cost),
        total_reservation_cost=_opt_price_out(c.total_reservation_cost),
        remark=c.remark,
        invoice_reference_id=_opt39(c.invoice_reference_id, "CDR.invoice_reference_id"),
        credit=c.credit,
        credit_reference_id=_opt39(c.credit_reference_id, "CDR.credit_reference_id"),
        home_charging_compensation=c.home_charging_compensation,
        last_updated=c.last_updated,
    )


# --- tokens ---------------------------------------------------------------------------------------


def token_to_model(t: w.Token) -> m.Token:
    return m.Token(
        country_code=t.country_code,
        party_id=t.party_id,
        uid=t.uid,
        type=plain(t.type),
        contract_id=t.contract_id,
        issuer=t.issuer,
        valid=t.valid,
        whitelist=m.WhitelistType(t.whitelist),
        last_updated=t.last_updated,
        visual_number=t.visual_number,
        group_id=t.group_id,
        language=t.language,
        default_profile_type=None
        if t.default_profile_type is None
        else m.ProfileType(t.default_profile_type),
        energy_contract=(
            None
            if t.energy_contract is None
            else m.EnergyContract(
                supplier_name=t.energy_contract.supplier_name, contract_id=t.energy_contract.contract_id
            )
        ),
    )


def token_from_model(t: m.Token) -> w.Token:
    return w.Token(
        country_code=_cc(t.country_code, "Token.country_code"),
        party_id=_pid(t.party_id, "Token.party_id"),
        uid=_id36(t.uid, "Token.uid"),
        type=t.type,
        contract_id=_id36(t.contract_id, "Token.contract_id"),
        visual_number=t.visual_number,
        issuer=t.issuer,
        group_id=_opt36(t.group_id, "Token.group_id"),
        valid=t.valid,
        whitelist=w.WhitelistType(t.whitelist),
        language=t.language,
        default_profile_type=None
        if t.default_profile_type is None
        else w.ProfileType(t.default_profile_type),
        energy_contract=(
            None
            if t.energy_contract is None
            else w.EnergyContract(
                supplier_name=t.energy_contract.supplier_name, contract_id=t.energy_contract.contract_id
            )
        ),
        last_updated=t.last_updated,
    )


def location_references_from_model(r: m.LocationReferences) -> w.LocationReferences:
    """2.1.1 ``connector_ids`` are left out (removed in 2.2)."""
    return w.LocationReferences(
        location_id=_id36(r.location_id, "LocationReferences.location_id"),
        evse_uids=_ids36(r.evse_uids, "LocationReferences.evse_uids"),
    )


def authorization_info_to_model(a: w.AuthorizationInfo) -> m.AuthorizationInfo:
    return m.AuthorizationInfo(
        allowed=m.AllowedType(a.allowed),
        token=token_to_model(a.token),
        location=None if a.location is None else location_references_to_model(a.location),
        authorization_reference=a.authorization_reference,
        info=None if a.info is None else _text_in(a.info),
    )


def authorization_info_from_model(a: m.AuthorizationInfo) -> w.AuthorizationInfo:
    """Raises NotRepresentable without ``token`` (required since 2.2; a 2.1.1 answer has none)."""
    if a.token is None:
        raise _missing("AuthorizationInfo.token", "required since 2.2")
    return w.AuthorizationInfo(
        allowed=w.AllowedType(a.allowed),
        token=token_from_model(a.token),
        location=None if a.location is None else location_references_from_model(a.location),
        authorization_reference=_opt36(
            a.authorization_reference, "AuthorizationInfo.authorization_reference"
        ),
        info=None if a.info is None else _text_out(a.info),
    )


# --- credentials ----------------------------------------------------------------------------------


def credentials_to_model(c: w.Credentials) -> m.Credentials:
    return m.Credentials(
        token=c.token,
        url=c.url,
        roles=tuple(
            m.CredentialsRole(
                business_details=_business_in(r.business_details),
                party_id=r.party_id,
                country_code=r.country_code,
                role=m.Role(r.role),
            )
            for r in c.roles
        ),
        hub_party_id=c.hub_party_id,
    )


def credentials_from_model(c: m.Credentials) -> w.Credentials:
    """2.2.1 HUB roles become ``hub_party_id`` (country code + party id); other roles are kept.

    Raises NotRepresentable when no non-HUB role is left (a 2.2.1 hub lists only itself) or a role
    is unknown (2.1.1 origin).
    """
    hub = c.hub_party_id
    roles: list[w.CredentialsRole] = []
    for r in c.roles:
        if r.role is None:
            raise _missing("CredentialsRole.role", "the role is unknown (2.1.1 credentials do not say it)")
        if r.role is m.Role.HUB:
            if hub is None:
                hub = fit(CiString5, f"{r.country_code}{r.party_id}", VERSION, "Credentials.hub_party_id")
            continue
        roles.append(
            w.CredentialsRole(
                role=w.Role(r.role),
                business_details=_business_out(r.business_details),
                party_id=_pid(r.party_id, "CredentialsRole.party_id"),
                country_code=_cc(r.country_code, "CredentialsRole.country_code"),
            )
        )
    if not roles:
        raise _missing(
            "Credentials.roles", "only a HUB role is known; 2.3.0 hubs list the parties they reach"
        )
    return w.Credentials(
        token=c.token,
        url=c.url,
        hub_party_id=None if hub is None else fit(CiString5, hub, VERSION, "Credentials.hub_party_id"),
        roles=roles,
    )


# --- commands -------------------------------------------------------------------------------------


def command_response_from_model(r: m.CommandResponse) -> w.CommandResponse:
    """2.1.1 TIMEOUT is sent as REJECTED; a missing ``timeout`` (2.1.1 origin) raises NotRepresentable."""
    if r.timeout is None:
        raise _missing("CommandResponse.timeout", "required since 2.2")
    result = member(w.CommandResponseType, r.result) or w.CommandResponseType.REJECTED
    return w.CommandResponse(result=result, timeout=r.timeout, message=lst(r.message, _text_out))


def command_result_from_model(r: m.CommandResult) -> w.CommandResult:
    """2.1.1 UNKNOWN_SESSION is sent as REJECTED."""
    result = member(w.CommandResultType, r.result) or w.CommandResultType.REJECTED
    return w.CommandResult(result=result, message=lst(r.message, _text_out))


def cancel_reservation_from_model(c: m.CancelReservation) -> w.CancelReservation:
    return w.CancelReservation(
        response_url=c.response_url,
        reservation_id=_id36(c.reservation_id, "CancelReservation.reservation_id"),
    )


def reserve_now_to_model(r: w.ReserveNow) -> m.ReserveNow:
    return m.ReserveNow(
        response_url=r.response_url,
        token=token_to_model(r.token),
        expiry_date=r.expiry_date,
        reservation_id=r.reservation_id,
        location_id=r.location_id,
        evse_uid=r.evse_uid,
        authorization_reference=r.authorization_reference,
    )


def reserve_now_from_model(r: m.ReserveNow) -> w.ReserveNow:
    return w.ReserveNow(
        response_url=r.response_url,
        token=token_from_model(r.token),
        expiry_date=r.expiry_date,
        reservation_id=_id36(r.reservation_id, "ReserveNow.reservation_id"),
        location_id=_id36(r.location_id, "ReserveNow.location_id"),
        evse_uid=_opt36(r.evse_uid, "ReserveNow.evse_uid"),
        authorization_reference=_opt36(r.authorization_reference, "ReserveNow.authorization_reference"),
    )


def start_session_to_model(s: w.StartSession) -> m.StartSession:
    return m.StartSession(
        response_url=s.response_url,
        token=token_to_model(s.token),
        location_id=s.location_id,
        evse_uid=s.evse_uid,
        connector_id=s.connector_id,
        authorization_reference=s.authorization_reference,
    )


def start_session_from_model(s: m.StartSession) -> w.StartSession:
    return w.StartSession(
        response_url=s.response_url,
        token=token_from_model(s.token),
        location_id=_id36(s.location_id, "StartSession.location_id"),
        evse_uid=_opt36(s.evse_uid, "StartSession.evse_uid"),
        connector_id=_opt36(s.connector_id, "StartSession.connector_id"),
        authorization_reference=_opt36(s.authorization_reference, "StartSession.authorization_reference"),
    )


def stop_session_from_model(s: m.StopSession) -> w.StopSession:
    return w.StopSession(
        response_url=s.response_url, session_id=_id36(s.session_id, "StopSession.session_id")
    )


def unlock_connector_from_model(u: m.UnlockConnector) -> w.UnlockConnector:
    return w.UnlockConnector(
        response_url=u.response_url,
        location_id=_id36(u.location_id, "UnlockConnector.location_id"),
        evse_uid=_id36(u.evse_uid, "UnlockConnector.evse_uid"),
        connector_id=_id36(u.connector_id, "UnlockConnector.connector_id"),
    )


# --- hub client info ------------------------------------------------------------------------------


def client_info_to_model(c: w.ClientInfo) -> m.ClientInfo:
    return m.ClientInfo(
        party_id=c.party_id,
        country_code=c.country_code,
        role=m.Role(c.role),
        status=m.ConnectionStatus(c.status),
        last_updated=c.last_updated,
    )


def client_info_from_model(c: m.ClientInfo) -> w.ClientInfo:
    """Raises NotRepresentable for role HUB (removed in 2.3.0)."""
    return w.ClientInfo(
        party_id=_pid(c.party_id, "ClientInfo.party_id"),
        country_code=_cc(c.country_code, "ClientInfo.country_code"),
        role=require(w.Role, c.role, VERSION, "ClientInfo.role"),
        status=w.ConnectionStatus(c.status),
        last_updated=c.last_updated,
    )


# --- payments -------------------------------------------------------------------------------------


def terminal_to_model(t: w.Terminal) -> m.Terminal:
    return m.Terminal(
        terminal_id=t.terminal_id,
        last_updated=t.last_updated,
        customer_reference=t.customer_reference,
        party_id=t.party_id,
        country_code=t.country_code,
        address=t.address,
        city=t.city,
        postal_code=t.postal_code,
        state=t.state,
        country=t.country,
        coordinates=None if t.coordinates is None else _geo_in(t.coordinates),
        invoice_base_url=t.invoice_base_url,
        invoice_creator=None if t.invoice_creator is None else m.InvoiceCreator(t.invoice_creator),
        reference=t.reference,
        location_ids=seq(t.location_ids),
        evse_uids=seq(t.evse_uids),
    )


def terminal_from_model(t: m.Terminal) -> w.Terminal:
    return w.Terminal(
        terminal_id=_id36(t.terminal_id, "Terminal.terminal_id"),
        customer_reference=_opt36(t.customer_reference, "Terminal.customer_reference"),
        party_id=None if t.party_id is None else _pid(t.party_id, "Terminal.party_id"),
        country_code=None if t.country_code is None else _cc(t.country_code, "Terminal.country_code"),
        address=None if t.address is None else fit(CiString45, t.address, VERSION, "Terminal.address"),
        city=None if t.city is None else fit(CiString45, t.city, VERSION, "Terminal.city"),
        postal_code=None
        if t.postal_code is None
        else fit(CiString10, t.postal_code, VERSION, "Terminal.postal_code"),
        state=None if t.state is None else fit(CiString20, t.state, VERSION, "Terminal.state"),
        country=None if t.country is None else fit(CiString3, t.country, VERSION, "Terminal.country"),
        coordinates=None if t.coordinates is None else _geo_out(t.coordinates),
        invoice_base_url=t.invoice_base_url,
        invoice_creator=None if t.invoice_creator is None else w.InvoiceCreator(t.invoice_creator),
        reference=_opt36(t.reference, "Terminal.reference"),
        location_ids=_ids36(t.location_ids, "Terminal.location_ids"),
        evse_uids=_ids36(t.evse_uids, "Terminal.evse_uids"),
        last_updated=t.last_updated,
    )


def financial_advice_confirmation_to_model(f: w.FinancialAdviceConfirmation) -> m.FinancialAdviceConfirmation:
    return m.FinancialAdviceConfirmation(
        id=f.id,
        authorization_reference=f.authorization_reference,
        total_costs=price_to_model(f.total_costs),
        currency=plain(f.currency),
        eft_data=tuple(plain(e) for e in f.eft_data),
        capture_status_code=m.CaptureStatusCode(f.capture_status_code),
        last_updated=f.last_updated,
        capture_status_message=None if f.capture_status_message is None else plain(f.capture_status_message),
    )


def financial_advice_confirmation_from_model(
    f: m.FinancialAdviceConfirmation,
) -> w.FinancialAdviceConfirmation:
    message = f.capture_status_message
    return w.FinancialAdviceConfirmation(
        id=_id36(f.id, "FinancialAdviceConfirmation.id"),
        authorization_reference=_id36(
            f.authorization_reference, "FinancialAdviceConfirmation.authorization_reference"
        ),
        total_costs=price_from_model(f.total_costs),
        currency=fit(CiString3, f.currency, VERSION, "FinancialAdviceConfirmation.currency"),
        eft_data=[fit(CiString255, e, VERSION, "FinancialAdviceConfirmation.eft_data") for e in f.eft_data],
        capture_status_code=w.CaptureStatusCode(f.capture_status_code),
        capture_status_message=(
            None if message is None else fit(CiString255, message, VERSION, "capture_status_message")
        ),
        last_updated=f.last_updated,
    )
