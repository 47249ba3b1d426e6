"""OICP <-> canonical converters: EVSE data, status, tokens, pricing, CDRs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import jsonschema
import pytest

from evroam.chargepoint.sink import engine_tariffs
from evroam.core.types import CiString, DateTime
from evroam.model.common import GeoLocation, Price
from evroam.model.enums import ConnectorFormat, DayOfWeek, PowerType, Status, TariffDimensionType
from evroam.model.locations import EVSE, Connector, Hours, Location, RegularHours
from evroam.model.tariffs import PriceComponent, Tariff, TariffElement, TariffRestrictions
from evroam.model.tokens import Token
from evroam.oicp import codec
from evroam.oicp import messages as m
from evroam.oicp.convert import (
    OperatorProfile,
    evse_records,
    identification_of,
    locations_of,
    pricing_record_of,
    status_from_oicp,
    status_to_oicp,
    tariff_of,
    token_of,
)
from evroam.tariffs import Period, Session, State, price
from tests.unit.test_oicp_openapi import merged, openapi

AT = DateTime.parse("2026-03-02T10:00:00Z")
PROFILE = OperatorProfile(operator_id="DE*ABC", operator_name="ABC Charging", hotline="+4930123456")


def _location(**extra: Any) -> Location:
    connector = Connector(
        id=CiString("1"), standard="IEC_62196_T2", format=ConnectorFormat.SOCKET,
        power_type=PowerType.AC_3_PHASE, max_voltage=230, max_amperage=32, max_electric_power=22000,
        last_updated=AT,
    )  # fmt: skip
    evses = (
        EVSE(uid=CiString("E1"), evse_id=CiString("DE*ABC*E1"), status=Status.AVAILABLE,
             connectors=(connector,), last_updated=AT, capabilities=("RFID_READER", "REMOTE_START_STOP_CAPABLE")),
        EVSE(uid=CiString("E2"), evse_id=CiString("DE*ABC*E2"), status=Status.REMOVED,
             connectors=(connector,), last_updated=AT),
        EVSE(uid=CiString("E3"), evse_id=CiString("NL*OTH*E3"), status=Status.AVAILABLE,
             connectors=(connector,), last_updated=AT),
    )  # fmt: skip
    values: dict[str, Any] = {
        "country_code": CiString("DE"), "party_id": CiString("ABC"), "id": CiString("LOC1"),
        "address": "Main street 12a", "city": "Berlin", "country": "DEU", "postal_code": "10115",
        "coordinates": GeoLocation(latitude="52.5200081", longitude="13.404954"), "last_updated": AT,
        "name": "Main street", "time_zone": "Europe/Berlin", "evses": evses,
    }  # fmt: skip
    values.update(extra)
    return Location(**values)


def _schema(role: str, name: str) -> dict[str, Any]:
    return merged(openapi(role)["components"]["schemas"][name])


def test_evse_records_of_a_location() -> None:
    records, skipped = evse_records([_location()], PROFILE, AT)
    assert [r.EvseID for r in records] == ["DE*ABC*E1"]  # REMOVED left out, foreign operator skipped
    assert skipped == ["NL*OTH*E3: not under DE*ABC"]
    record = records[0]
    assert (record.Address.Street, record.Address.HouseNum) == ("Main street", "12a")
    assert record.Address.TimeZone == "UTC+01:00"  # Berlin in March (winter time)
    assert record.GeoCoordinates.DecimalDegree == m.LatLon(Latitude="52.520008", Longitude="13.404954")
    assert record.Plugs == [m.Plug.TYPE_2_OUTLET]
    assert record.ChargingFacilities == [m.ChargingFacility(PowerType=m.PowerType.AC_3_PHASE, Power=22,
                                                            Voltage=230, Amperage=32)]  # fmt: skip
    assert record.AuthenticationModes == [m.AuthenticationMode.NFC_RFID_CLASSIC, m.AuthenticationMode.REMOTE]
    push = m.PushEvseData(
        ActionType=m.ActionType.FULL_LOAD,
        OperatorEvseData=m.OperatorEvseData(OperatorID="DE*ABC", OperatorName="ABC", EvseDataRecord=records),
    )
    # Hubject's own schema accepts what we send
    jsonschema.validate(codec.to_builtins(push), _schema("CPO", "eRoamingPushEvseData"))


def test_opening_hours() -> None:
    hours = Hours(twentyfourseven=False, regular_hours=(RegularHours(weekday=1, period_begin="08:00",
                                                                     period_end="18:00"),))  # fmt: skip
    records, _ = evse_records([_location(opening_times=hours)], PROFILE, AT)
    assert records[0].IsOpen24Hours is False
    assert records[0].OpeningTimes == [m.OpeningTimes(Period=[m.Period(begin="08:00", end="18:00")],
                                                      on=m.Weekday.MONDAY)]  # fmt: skip


def test_records_back_to_a_location() -> None:
    records, _ = evse_records([_location()], PROFILE, AT)
    pulled = [
        m.PullEvseDataRecord(**{f: getattr(r, f) for f in r.__struct_fields__}, OperatorID="DE*ABC",
                             OperatorName="ABC")
        for r in records
    ]  # fmt: skip
    (location,) = locations_of(pulled, AT, {"DE*ABC*E1": Status.CHARGING})
    assert (location.country_code, location.party_id, location.id) == ("DE", "ABC", "LOC1")
    assert location.address == "Main street 12a"
    evse = location.evses[0] if location.evses else None
    assert evse is not None and evse.evse_id == "DE*ABC*E1" and evse.status is Status.CHARGING
    assert evse.connectors[0].standard == "IEC_62196_T2" and evse.connectors[0].max_electric_power == 22000
    deleted = [*pulled[:1]]
    deleted[0] = m.PullEvseDataRecord(**{**{f: getattr(pulled[0], f) for f in pulled[0].__struct_fields__},
                                         "deltaType": m.DeltaType.DELETE})  # fmt: skip
    assert locations_of(deleted, AT)[0].evses[0].status is Status.REMOVED  # type: ignore[index]


@pytest.mark.parametrize(
    ("ocpi", "oicp"),
    [(Status.AVAILABLE, "Available"), (Status.CHARGING, "Occupied"), (Status.BLOCKED, "Occupied"),
     (Status.RESERVED, "Reserved"), (Status.OUTOFORDER, "OutOfService"), (Status.INOPERATIVE, "OutOfService"),
     (Status.UNKNOWN, "Unknown"), (Status.REMOVED, None)],
)  # fmt: skip
def test_status(ocpi: Status, oicp: str | None) -> None:
    assert status_to_oicp(ocpi) == oicp
    assert status_from_oicp(m.EvseStatus.OCCUPIED) is Status.CHARGING
    assert status_from_oicp(m.EvseStatus.EVSE_NOT_FOUND) is Status.UNKNOWN


def test_tokens() -> None:
    rfid = Token(country_code=CiString("DE"), party_id=CiString("XYZ"), uid=CiString("7568290fff765f"),
                 type="RFID", contract_id=CiString("DE-XYZ-C12345678-9"), issuer="XYZ", valid=True,
                 whitelist="NEVER", last_updated=AT)  # type: ignore[arg-type]  # fmt: skip
    assert (
        codec.encode(identification_of(rfid))
        == b'{"RFIDMifareFamilyIdentification":{"UID":"7568290FFF765F"}}'
    )
    app = Token(**{**{f: getattr(rfid, f) for f in rfid.__struct_fields__}, "type": "APP_USER", "uid": "u1"})
    ident = identification_of(app)
    assert ident.RemoteIdentification == m.RemoteIdentification(EvcoID="DE-XYZ-C12345678-9")
    back = token_of(ident, "DE-XYZ", AT)
    assert (back.country_code, back.party_id, back.contract_id, back.type) == ("DE", "XYZ", "DE-XYZ-C12345678-9",
                                                                              "APP_USER")  # fmt: skip


def _tariff(**extra: Any) -> Tariff:
    values: dict[str, Any] = {
        "country_code": CiString("DE"), "party_id": CiString("ABC"), "id": CiString("AC3"), "currency": "EUR",
        "elements": (TariffElement(price_components=(
            PriceComponent(type=TariffDimensionType.ENERGY, price=Decimal("0.30"), step_size=1),
            PriceComponent(type=TariffDimensionType.FLAT, price=Decimal("1.00"), step_size=1),
            PriceComponent(type=TariffDimensionType.PARKING_TIME, price=Decimal("6.00"), step_size=1),
        )),),
        "last_updated": AT,
    }  # fmt: skip
    values.update(extra)
    return Tariff(**values)


def test_pricing_product_round_trip_prices_the_same() -> None:
    tariff = _tariff(max_price=Price(before_taxes=Decimal("20")))
    record = pricing_record_of(tariff, max_power=Decimal(22))
    assert record.ReferenceUnit == "KILOWATT_HOUR" and record.PricePerReferenceUnit == Decimal("0.30")
    assert [(a.AdditionalReference.value, a.PricePerAdditionalReferenceUnit) for a in record.AdditionalReferences or ()] == [
        ("START FEE", Decimal("1.00")), ("PARKING FEE", Decimal("6.00")), ("MAXIMUM FEE", Decimal("20"))]  # fmt: skip
    push = m.PushPricingProductData(ActionType=m.ActionType.FULL_LOAD, PricingProductData=m.PricingProductData(
        OperatorID="DE*ABC", ProviderID="*", PricingDefaultPrice=Decimal(0), PricingDefaultPriceCurrency="EUR",
        PricingDefaultReferenceUnit="KILOWATT_HOUR", PricingProductDataRecords=[record]))  # fmt: skip
    jsonschema.validate(codec.to_builtins(push), _schema("CPO", "eRoamingPushPricingProductData"))
    back = tariff_of(codec.decode(codec.encode(record), m.PricingProductDataRecord), "DE*ABC", AT)
    # 10 kWh in one hour of charging, then 30 minutes parked: 1.00 + 10 x 0.30 + 0.5 h x 6.00 = 7.00
    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    session = Session(start=start, end=datetime(2026, 3, 2, 11, 30, tzinfo=UTC), periods=(
        Period(start=start, energy=Decimal(10)),
        Period(start=datetime(2026, 3, 2, 11, 0, tzinfo=UTC), state=State.PARKING),
    ))  # fmt: skip
    for t in (tariff, back):
        result = price(engine_tariffs([t]), session, "Europe/Berlin")
        assert result.total_cost.excl_vat == Decimal("7.00")


def test_pricing_availability_times() -> None:
    element = TariffElement(
        price_components=(PriceComponent(type=TariffDimensionType.TIME, price=Decimal("2"), step_size=1),),
        restrictions=TariffRestrictions(start_time="08:00", end_time="20:00", day_of_week=(
            DayOfWeek.SATURDAY, DayOfWeek.SUNDAY)),
    )  # fmt: skip
    record = pricing_record_of(_tariff(elements=(element,)))
    assert record.IsValid24hours is False and record.ReferenceUnit == "HOUR"
    assert record.ProductAvailabilityTimes == [m.ProductAvailabilityTimes(
        Periods=[m.Period(begin="08:00", end="20:00")], on=m.Weekday.WEEKEND)]  # fmt: skip
    back = tariff_of(record, "DE*ABC", AT)
    assert back.elements[0].restrictions == element.restrictions
    with pytest.raises(ValueError, match="no OICP"):
        bad = TariffElement(price_components=element.price_components,
                            restrictions=TariffRestrictions(min_kwh=Decimal(5)))  # fmt: skip
        pricing_record_of(_tariff(elements=(bad,)))


def _component(kind: TariffDimensionType, amount: str) -> PriceComponent:
    return PriceComponent(type=kind, price=Decimal(amount), step_size=1)


def test_a_price_per_kwh_beside_a_price_per_hour_is_refused_not_dropped() -> None:
    """The demo site's AC tariff: 0.50 start, 0.35/kWh and 1.00/hour of charging. A pricing product has one
    base price and no additional reference per hour of charging: published as 0.35/kWh + 0.50 start (the
    hour price silently left out), an EMP would price 10 kWh in 2 h at 0.50 + 3.50 = 4.00 where the CPO's
    CDR says 0.50 + 3.50 + 2.00 = 6.00. Refused instead, in either order."""
    start, energy, hour = (
        _component(TariffDimensionType.FLAT, "0.50"),
        _component(TariffDimensionType.ENERGY, "0.35"),
        _component(TariffDimensionType.TIME, "1.00"),
    )
    for components in ((start, energy, hour), (hour, energy)):
        with pytest.raises(ValueError, match="per kWh and a price per hour"):
            pricing_record_of(_tariff(elements=(TariffElement(price_components=components),)))
    # in two elements too (the engine adds the TIME of the second element to the ENERGY of the first)
    with pytest.raises(ValueError, match="per kWh and a price per hour"):
        pricing_record_of(_tariff(elements=(
            TariffElement(price_components=(energy,)), TariffElement(price_components=(hour,)))))  # fmt: skip
    # a price per hour with a start fee (and a parking fee) is a product: HOUR, START FEE in hours
    record = pricing_record_of(_tariff(elements=(TariffElement(price_components=(start, hour)),)))
    assert (record.ReferenceUnit, record.PricePerReferenceUnit) == ("HOUR", Decimal("1.00"))
    assert [(a.AdditionalReference.value, a.AdditionalReferenceUnit, a.PricePerAdditionalReferenceUnit)
            for a in record.AdditionalReferences or ()] == [("START FEE", "HOUR", Decimal("0.50"))]  # fmt: skip


def test_a_dimension_priced_differently_by_time_of_day_is_refused() -> None:
    """Day 0.40/kWh, night 0.20/kWh: a product has one price for all its availability times, so it would
    have priced the night at the day's 0.40. Refused; the same price in several elements is one product
    available at each of their times."""
    day = TariffRestrictions(start_time="08:00", end_time="20:00")
    night = TariffRestrictions(start_time="20:00", end_time="08:00")

    def element(amount: str, when: TariffRestrictions) -> TariffElement:
        return TariffElement(
            price_components=(_component(TariffDimensionType.ENERGY, amount),), restrictions=when
        )

    with pytest.raises(ValueError, match=r"ENERGY priced 0\.40 and 0\.20"):
        pricing_record_of(_tariff(elements=(element("0.40", day), element("0.20", night))))
    record = pricing_record_of(_tariff(elements=(element("0.30", day), element("0.30", night))))
    assert record.PricePerReferenceUnit == Decimal("0.30") and record.IsValid24hours is False
    assert [p.Periods[0].begin for p in record.ProductAvailabilityTimes] == ["08:00", "20:00"]


def test_every_record_validates(tmp_path: Any) -> None:
    """A full EVSE data page as the EMP would receive it passes the EMP document's schema."""
    records, _ = evse_records([_location()], PROFILE, AT)
    pulled = [m.PullEvseDataRecord(**{f: getattr(r, f) for f in r.__struct_fields__}, OperatorID="DE*ABC",
                                   OperatorName="ABC") for r in records]  # fmt: skip
    page = m.EvseDataPage(content=pulled, number=0, size=20, totalElements=1, last=True, totalPages=1, first=True,
                          numberOfElements=1, StatusCode=m.StatusCode(Code="000"))  # fmt: skip
    jsonschema.validate(json.loads(codec.encode(page)), _schema("EMP", "eRoamingEVSEData"))
