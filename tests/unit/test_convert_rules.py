"""The loss rules of docs/versions.md, one by one, on hand-built canonical objects."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from evroam import model as m
from evroam.core.codec import decode, encode
from evroam.core.types import CiString, DateTime
from evroam.ocpi import v2_1_1 as w1
from evroam.ocpi import v2_2_1 as w2
from evroam.ocpi import v2_3_0 as w3
from evroam.ocpi.v2_1_1 import convert as c1
from evroam.ocpi.v2_2_1 import convert as c2
from evroam.ocpi.v2_3_0 import convert as c3

T0 = DateTime.parse("2024-03-01T10:00:00Z")


def ci(value: str) -> CiString:
    return CiString(value)


def connector(
    cid: str = "1", standard: str = "IEC_62196_T2", power: m.PowerType = m.PowerType.AC_3_PHASE
) -> m.Connector:
    return m.Connector(
        id=ci(cid),
        standard=standard,
        format=m.ConnectorFormat.SOCKET,
        power_type=power,
        max_voltage=230,
        max_amperage=32,
        last_updated=T0,
    )


def evse(uid: str, *connectors: m.Connector) -> m.EVSE:
    return m.EVSE(uid=ci(uid), status=m.Status.AVAILABLE, connectors=connectors, last_updated=T0)


def location(**changes: object) -> m.Location:
    base = m.Location(
        country_code=ci("NL"),
        party_id=ci("EXA"),
        id=ci("LOC1"),
        address="Street 1",
        city="Town",
        country="NLD",
        coordinates=m.GeoLocation(latitude="52.1234567", longitude="4.12345"),
        last_updated=T0,
        time_zone="Europe/Amsterdam",
        postal_code="1000AA",
        evses=(evse("E1", connector()),),
    )
    return msgspec.structs.replace(base, **changes)


def cdr_token() -> m.CdrToken:
    return m.CdrToken(
        contract_id=ci("NL-EXA-C1"), uid=ci("U1"), type="RFID", country_code=ci("NL"), party_id=ci("EXA")
    )


def session(**changes: object) -> m.Session:
    base = m.Session(
        country_code=ci("NL"),
        party_id=ci("EXA"),
        id=ci("S1"),
        start_date_time=T0,
        kwh=Decimal("1.5"),
        cdr_token=cdr_token(),
        auth_method=m.AuthMethod.WHITELIST,
        location_id=ci("LOC1"),
        evse_uid=ci("E1"),
        connector_id=ci("1"),
        currency="EUR",
        status=m.SessionStatus.ACTIVE,
        last_updated=T0,
    )
    return msgspec.structs.replace(base, **changes)


def tariff(*elements: m.TariffElement, **changes: object) -> m.Tariff:
    base = m.Tariff(
        country_code=ci("NL"),
        party_id=ci("EXA"),
        id=ci("T1"),
        currency="EUR",
        elements=elements or (element(m.TariffDimensionType.ENERGY),),
        last_updated=T0,
    )
    return msgspec.structs.replace(base, **changes)


def element(kind: m.TariffDimensionType, restrictions: m.TariffRestrictions | None = None) -> m.TariffElement:
    component = m.PriceComponent(type=kind, price=Decimal("0.25"), step_size=1, vat=Decimal("21"))
    return m.TariffElement(price_components=(component,), restrictions=restrictions)


def period(*kinds: m.CdrDimensionType) -> m.ChargingPeriod:
    return m.ChargingPeriod(
        start_date_time=T0, dimensions=tuple(m.CdrDimension(type=k, volume=Decimal(1)) for k in kinds)
    )


def token(kind: str) -> m.Token:
    return m.Token(
        country_code=ci("NL"),
        party_id=ci("EXA"),
        uid=ci("U1"),
        type=kind,
        contract_id=ci("NL-EXA-C1"),
        issuer="Example",
        valid=True,
        whitelist=m.WhitelistType.ALWAYS,
        last_updated=T0,
    )


def valid(wire: msgspec.Struct) -> None:
    """What a converter writes decodes again as the same wire type (it is valid OCPI)."""
    assert encode(decode(encode(wire), type(wire))) == encode(wire)


# --- money ----------------------------------------------------------------------------------------


def test_price_after_taxes_total() -> None:
    assert m.Price(before_taxes=Decimal("4.00")).after_taxes_total() is None
    assert m.Price(before_taxes=Decimal("4.00"), after_taxes=Decimal("4.84")).after_taxes_total() == Decimal(
        "4.84"
    )
    taxes = (m.TaxAmount(name="GST", amount=Decimal("0.20")), m.TaxAmount(name="QST", amount=Decimal("0.40")))
    assert m.Price(before_taxes=Decimal("4.00"), taxes=taxes).after_taxes_total() == Decimal("4.60")
    assert m.Price(before_taxes=Decimal("4.00"), taxes=()).after_taxes_total() == Decimal("4.00")


def test_price_taxes_or_derived() -> None:
    assert m.Price(before_taxes=Decimal("4.00")).taxes_or_derived() is None
    derived = m.Price(before_taxes=Decimal("4.00"), after_taxes=Decimal("4.84")).taxes_or_derived()
    assert derived == (m.TaxAmount(name="VAT", amount=Decimal("0.84")),)
    given = (m.TaxAmount(name="GST", amount=Decimal("0.20"), percentage=Decimal(5)),)
    both = m.Price(before_taxes=Decimal("4.00"), taxes=given, after_taxes=Decimal("4.20"))
    assert both.taxes_or_derived() == given


def test_price_in_each_version() -> None:
    taxed = m.Price(
        before_taxes=Decimal("10.00"),
        taxes=(
            m.TaxAmount(name="GST", amount=Decimal("0.50"), percentage=Decimal(5)),
            m.TaxAmount(name="QST", amount=Decimal("1.00"), account_number="QC-1"),
        ),
    )
    assert c2.price_from_model(taxed) == w2.Price(excl_vat=Decimal("10.00"), incl_vat=Decimal("11.50"))
    assert c3.price_from_model(taxed) == w3.Price(
        before_taxes=Decimal("10.00"),
        taxes=[
            w3.TaxAmount(name="GST", amount=Decimal("0.50"), percentage=Decimal(5)),
            w3.TaxAmount(name="QST", amount=Decimal("1.00"), account_number="QC-1"),
        ],
    )
    assert c3.price_limit_from_model(taxed) == w3.PriceLimit(
        before_taxes=Decimal("10.00"), after_taxes=Decimal("11.50")
    )
    plain = m.Price(before_taxes=Decimal("10.00"))
    assert c2.price_from_model(plain) == w2.Price(excl_vat=Decimal("10.00"))
    assert c3.price_from_model(plain) == w3.Price(before_taxes=Decimal("10.00"))
    s = c1.session_from_model(session(total_cost=taxed), location=location())
    assert s.total_cost == Decimal("10.00")


# --- locations ------------------------------------------------------------------------------------


def test_connector_2_2_1_cannot_name_is_left_out_and_so_is_an_evse_without_connectors() -> None:
    loc = location(
        evses=(
            evse("E1", connector("1"), connector("2", standard="MCS", power=m.PowerType.DC)),
            evse("E2", connector("1", standard="MCS", power=m.PowerType.DC)),
        )
    )
    out = c2.location_from_model(loc)
    valid(out)
    assert out.evses is not None
    assert [(e.uid, [c.id for c in e.connectors]) for e in out.evses] == [("E1", ["1"])]
    with pytest.raises(m.NotRepresentable) as caught:
        c2.connector_from_model(connector("2", standard="MCS"))
    assert (caught.value.version, caught.value.path) == ("2.2.1", "Connector.standard")
    with pytest.raises(m.NotRepresentable):
        c2.evse_from_model(evse("E2", connector("1", standard="MCS")))
    # 2.3.0 keeps them (ConnectorType is an OpenEnum there)
    assert c3.location_from_model(loc).evses is not None
    assert [len(e.connectors) for e in c3.location_from_model(loc).evses or []] == [2, 1]


def test_2_1_1_lacks_2_2_1_connector_types_and_power_types() -> None:
    loc = location(
        evses=(
            evse("E1", connector("1"), connector("2", standard="GBT_DC", power=m.PowerType.DC)),
            evse("E2", connector("1", power=m.PowerType.AC_2_PHASE)),
        )
    )
    out = c1.location_from_model(loc)
    valid(out)
    assert [(e.uid, [c.id for c in e.connectors]) for e in out.evses or []] == [("E1", ["1"])]


def test_enum_values_a_version_lacks_are_dropped_from_lists() -> None:
    logo = m.Image(url="https://x/l.png", category="FUTURE", type=ci("png"))
    loc = location(
        facilities=("HOTEL", "METRO_STATION", "SPACEPORT"),
        images=(m.Image(url="https://x/a.png", category="CHARGER", type=ci("png")), logo),
        operator=m.BusinessDetails(name="Op", logo=logo),
        evses=(
            msgspec.structs.replace(
                evse("E1", connector()),
                capabilities=("RFID_READER", "START_SESSION_CONNECTOR_REQUIRED", "NEW_THING"),
                parking_restrictions=("EV_ONLY", "TAXIS"),
            ),
        ),
        energy_mix=m.EnergyMix(
            is_green_energy=False,
            environ_impact=(
                m.EnvironmentalImpact(category="CARBON_DIOXIDE", amount=Decimal(300)),
                m.EnvironmentalImpact(category="METHANE", amount=Decimal(1)),
            ),
        ),
    )
    new = c2.location_from_model(loc)
    old = c1.location_from_model(loc)
    valid(new)
    valid(old)
    assert new.facilities == ["HOTEL", "METRO_STATION"]
    assert old.facilities == ["HOTEL"]  # METRO_STATION is 2.2+
    assert [i.url for i in new.images or []] == ["https://x/a.png"]
    assert new.operator is not None and new.operator.logo is None
    assert (new.evses or [])[0].capabilities == ["RFID_READER", "START_SESSION_CONNECTOR_REQUIRED"]
    assert (old.evses or [])[0].capabilities == ["RFID_READER"]
    assert (new.evses or [])[0].parking_restrictions == ["EV_ONLY"]
    assert new.energy_mix is not None and [i.category for i in new.energy_mix.environ_impact or []] == [
        "CARBON_DIOXIDE"
    ]
    assert old.energy_mix is not None and [i.source for i in old.energy_mix.environ_impact or []] == [
        "CARBON_DIOXIDE"
    ]
    # 2.3.0 keeps every value as it is
    newest = c3.location_from_model(loc)
    assert newest.facilities == ["HOTEL", "METRO_STATION", "SPACEPORT"]
    assert (newest.evses or [])[0].parking_restrictions == ["EV_ONLY", "TAXIS"]


@pytest.mark.parametrize(
    ("parking_type", "v2_1_1", "v2_2_1", "v2_3_0"),
    [
        (None, "UNKNOWN", None, None),
        ("ON_STREET", "ON_STREET", "ON_STREET", "ON_STREET"),
        ("ON_DRIVEWAY", "OTHER", "ON_DRIVEWAY", "ON_DRIVEWAY"),
        ("ALONG_MOTORWAY", "OTHER", "ALONG_MOTORWAY", "ALONG_MOTORWAY"),
        ("OTHER", "OTHER", None, "OTHER"),
    ],
)
def test_parking_type_and_2_1_1_location_type(
    parking_type: str | None, v2_1_1: str, v2_2_1: str | None, v2_3_0: str | None
) -> None:
    loc = location(parking_type=parking_type)
    assert c1.location_from_model(loc).type == v2_1_1
    assert c2.location_from_model(loc).parking_type == v2_2_1
    assert c3.location_from_model(loc).parking_type == v2_3_0


def test_2_1_1_location_type_unknown_is_no_parking_type() -> None:
    wire = c1.location_from_model(location(parking_type=None))
    assert c1.location_to_model(wire, country_code="NL", party_id="EXA").parking_type is None


def test_2_3_0_only_location_data_is_left_out_of_older_versions() -> None:
    parking = m.Parking(
        id=ci("P1"), vehicle_types=("PERSONAL_VEHICLE",), restricted_to_type=False, reservation_required=False
    )
    loc = location(
        help_phone="+3112345678",
        parking_places=(parking,),
        evses=(
            msgspec.structs.replace(
                evse(
                    "E1", msgspec.structs.replace(connector(), capabilities=("ISO_15118_2_PLUG_AND_CHARGE",))
                ),
                parking=(m.EVSEParking(parking_id=ci("P1"), evse_position=m.EVSEPosition.LEFT),),
                accepted_service_providers=("NL-EXA",),
            ),
        ),
    )
    newest = c3.location_from_model(loc)
    valid(newest)
    assert c3.location_to_model(newest) == loc
    for old in (c2.location_from_model(loc), c1.location_from_model(loc)):
        valid(old)
        text = encode(old)
        for name in (
            b"help_phone",
            b"parking_places",
            b"accepted_service_providers",
            b'"parking"',
            b"capabilities",
        ):
            assert name not in text


def test_2_1_1_location_fields_for_newer_data() -> None:
    loc = location(
        postal_code=None,
        state="Noord-Holland",
        publish=False,
        coordinates=m.GeoLocation(latitude="52.1234567", longitude="4.12345"),
        evses=(
            evse(
                "E1",
                msgspec.structs.replace(
                    connector(), tariff_ids=(ci("T1"), ci("T2")), max_electric_power=22000
                ),
            ),
        ),
    )
    old = c1.location_from_model(loc)
    valid(old)
    assert old.postal_code == ""
    assert (old.coordinates.latitude, old.coordinates.longitude) == ("52.123457", "4.123450")
    con = (old.evses or [])[0].connectors[0]
    assert (con.voltage, con.amperage, con.tariff_id) == (230, 32, "T1")
    assert b"state" not in encode(old) and b"publish" not in encode(old)
    no_tariff = msgspec.structs.replace(connector(), tariff_ids=())
    assert c1.connector_from_model(no_tariff).tariff_id is None


def test_ids_longer_than_a_version_allows_are_refused() -> None:
    long_id = "L" * 39  # a valid 2.1.1 Location.id, too long for 2.2+
    loc = location(id=ci(long_id))
    assert c1.location_from_model(loc).id == long_id
    with pytest.raises(m.NotRepresentable) as caught:
        c2.location_from_model(loc)
    assert (caught.value.version, caught.value.path) == ("2.2.1", "Location.id")
    with pytest.raises(m.NotRepresentable):
        c1.location_from_model(location(address="A" * 46))


@pytest.mark.parametrize(
    ("twentyfourseven", "regular", "v2_1_1", "v2_2_1"),
    [
        (None, True, (None, True), (False, True)),
        (False, True, (None, True), (False, True)),
        (True, False, (True, False), (True, False)),
        (None, False, (True, False), (True, False)),
    ],
)
def test_opening_hours(
    twentyfourseven: bool | None,
    regular: bool,
    v2_1_1: tuple[bool | None, bool],
    v2_2_1: tuple[bool, bool],
) -> None:
    hours = m.Hours(
        twentyfourseven=twentyfourseven,
        regular_hours=(m.RegularHours(weekday=1, period_begin="08:00", period_end="18:00"),)
        if regular
        else None,
    )
    loc = location(opening_times=hours)
    old = c1.location_from_model(loc).opening_times
    new = c2.location_from_model(loc).opening_times
    assert old is not None and new is not None
    assert (old.twentyfourseven, old.regular_hours is not None) == v2_1_1
    assert (new.twentyfourseven, new.regular_hours is not None) == v2_2_1


def test_publish_token_types_2_2_1_lacks_become_other() -> None:
    loc = location(publish=False, publish_allowed_to=(m.PublishTokenType(uid=ci("U1"), type="EMAID"),))
    assert (c2.location_from_model(loc).publish_allowed_to or [])[0].type == w2.TokenType.OTHER
    assert (c3.location_from_model(loc).publish_allowed_to or [])[0].type == "EMAID"


# --- tariffs --------------------------------------------------------------------------------------


def test_tariff_read_from_older_versions_has_prices_without_taxes() -> None:
    wire = c2.tariff_from_model(tariff())
    assert c2.tariff_to_model(wire).tax_included is m.TaxIncluded.NO
    assert c3.tariff_from_model(c2.tariff_to_model(wire)).tax_included == w3.TaxIncluded.NO


@pytest.mark.parametrize("tax_included", [m.TaxIncluded.NO, m.TaxIncluded.N_A])
def test_tariff_without_taxes_in_its_prices_goes_to_older_versions(tax_included: m.TaxIncluded) -> None:
    t = tariff(tax_included=tax_included)
    assert c2.tariff_from_model(t).elements[0].price_components[0].price == Decimal("0.25")
    assert c1.tariff_from_model(t).elements[0].price_components[0].price == Decimal("0.25")


def test_tariff_with_taxes_in_its_prices_is_refused_by_older_versions() -> None:
    t = tariff(tax_included=m.TaxIncluded.YES)
    for convert, version in ((c2.tariff_from_model, "2.2.1"), (c1.tariff_from_model, "2.1.1")):
        with pytest.raises(m.NotRepresentable) as caught:
            convert(t)
        assert (caught.value.version, caught.value.path) == (version, "Tariff.tax_included")
    assert c3.tariff_from_model(t).tax_included == w3.TaxIncluded.YES


def test_tariff_limits_and_preauthorisation() -> None:
    t = tariff(
        min_price=m.Price(before_taxes=Decimal("0.50"), after_taxes=Decimal("0.55")),
        max_price=m.Price(before_taxes=Decimal("10")),
        preauthorize_amount=Decimal("50"),
    )
    new = c2.tariff_from_model(t)
    assert new.min_price == w2.Price(excl_vat=Decimal("0.50"), incl_vat=Decimal("0.55"))
    assert new.max_price == w2.Price(excl_vat=Decimal("10"))
    assert b"preauthorize_amount" not in encode(new)
    newest = c3.tariff_from_model(t)
    assert newest.min_price == w3.PriceLimit(before_taxes=Decimal("0.50"), after_taxes=Decimal("0.55"))
    assert newest.preauthorize_amount == Decimal("50")
    assert c3.tariff_to_model(newest) == t


def test_2_1_1_leaves_out_reservation_elements_and_refuses_current_restrictions() -> None:
    reservation = m.TariffRestrictions(reservation=m.ReservationRestrictionType.RESERVATION)
    t = tariff(element(m.TariffDimensionType.TIME, reservation), element(m.TariffDimensionType.ENERGY))
    old = c1.tariff_from_model(t)
    valid(old)
    assert [e.price_components[0].type for e in old.elements] == ["ENERGY"]
    with pytest.raises(m.NotRepresentable) as only_reservations:
        c1.tariff_from_model(tariff(element(m.TariffDimensionType.TIME, reservation)))
    assert only_reservations.value.path == "Tariff.elements"
    current = tariff(element(m.TariffDimensionType.TIME, m.TariffRestrictions(max_current=Decimal(16))))
    with pytest.raises(m.NotRepresentable) as caught:
        c1.tariff_from_model(current)
    assert caught.value.path == "TariffRestrictions.min_current"
    assert c2.tariff_from_model(current).elements[0].restrictions == w2.TariffRestrictions(
        max_current=Decimal(16)
    )


# --- sessions, CDRs, tokens -----------------------------------------------------------------------


def test_2_1_1_flat_dimension_is_left_out_of_newer_versions() -> None:
    s = session(
        charging_periods=(
            period(m.CdrDimensionType.FLAT),
            period(m.CdrDimensionType.ENERGY, m.CdrDimensionType.FLAT),
        )
    )
    for convert in (c2.session_from_model, c3.session_from_model):
        out = convert(s)
        valid(out)
        assert [[d.type for d in p.dimensions] for p in out.charging_periods or []] == [["ENERGY"]]
    old = c1.session_from_model(s, location=location())
    assert [[d.type for d in p.dimensions] for p in old.charging_periods or []] == [
        ["FLAT"],
        ["ENERGY", "FLAT"],
    ]


def test_newer_dimensions_are_left_out_of_2_1_1() -> None:
    s = session(
        charging_periods=(
            period(m.CdrDimensionType.STATE_OF_CHARGE),
            period(m.CdrDimensionType.ENERGY, m.CdrDimensionType.POWER),
        )
    )
    old = c1.session_from_model(s, location=location())
    assert [[d.type for d in p.dimensions] for p in old.charging_periods or []] == [["ENERGY"]]


def cdr(**changes: object) -> m.CDR:
    base = m.CDR(
        country_code=ci("NL"),
        party_id=ci("EXA"),
        id=ci("C1"),
        start_date_time=T0,
        end_date_time=T0,
        cdr_token=cdr_token(),
        auth_method=m.AuthMethod.COMMAND,
        cdr_location=m.CdrLocation(
            id=ci("LOC1"),
            address="Street 1",
            city="Town",
            country="NLD",
            coordinates=m.GeoLocation(latitude="52.12345", longitude="4.12345"),
            evse_uid=ci("E1"),
            evse_id=ci("NL*EXA*E1"),
            connector_id=ci("1"),
            connector_standard="MCS",
            connector_format=m.ConnectorFormat.CABLE,
            connector_power_type=m.PowerType.DC,
        ),
        currency="EUR",
        charging_periods=(period(m.CdrDimensionType.ENERGY),),
        total_cost=m.Price(before_taxes=Decimal("1.00")),
        total_energy=Decimal(1),
        total_time=Decimal(1),
        last_updated=T0,
    )
    return msgspec.structs.replace(base, **changes)


def test_cdr_without_a_period_a_version_can_carry_is_refused() -> None:
    flat_only = cdr(charging_periods=(period(m.CdrDimensionType.FLAT),))
    with pytest.raises(m.NotRepresentable) as caught:
        c3.cdr_from_model(flat_only)
    assert caught.value.path == "CDR.charging_periods"


def test_cdr_connector_standard_2_2_1_cannot_name_is_refused() -> None:
    c = cdr()
    assert c3.cdr_from_model(c).cdr_location.connector_standard == "MCS"
    with pytest.raises(m.NotRepresentable) as caught:
        c2.cdr_from_model(c)
    assert caught.value.path == "CdrLocation.connector_standard"


def test_auth_method_and_session_status_in_2_1_1() -> None:
    s = session(auth_method=m.AuthMethod.COMMAND, status=m.SessionStatus.RESERVATION)
    old = c1.session_from_model(s, location=location())
    assert (old.auth_method, old.status) == (w1.AuthMethod.AUTH_REQUEST, w1.SessionStatus.PENDING)
    old_cdr = c1.cdr_from_model(cdr(), location=location())
    assert old_cdr.auth_method == w1.AuthMethod.AUTH_REQUEST


@pytest.mark.parametrize(
    ("kind", "v2_1_1", "v2_2_1", "v2_3_0"),
    [
        ("RFID", "RFID", "RFID", "RFID"),
        ("OTHER", "OTHER", "OTHER", "OTHER"),
        ("APP_USER", "OTHER", "APP_USER", "APP_USER"),
        ("AD_HOC_USER", "OTHER", "AD_HOC_USER", "AD_HOC_USER"),
        ("EMAID", "OTHER", "OTHER", "EMAID"),
        ("NEW_KIND", "OTHER", "OTHER", "NEW_KIND"),
    ],
)
def test_token_types(kind: str, v2_1_1: str, v2_2_1: str, v2_3_0: str) -> None:
    t = token(kind)
    assert c1.token_from_model(t).type == v2_1_1
    assert c2.token_from_model(t).type == v2_2_1
    assert c3.token_from_model(t).type == v2_3_0
    iec = msgspec.structs.replace(cdr().cdr_location, connector_standard="IEC_62196_T2")
    with_token = cdr(cdr_token=msgspec.structs.replace(cdr_token(), type=kind), cdr_location=iec)
    assert c2.cdr_from_model(with_token).cdr_token.type == v2_2_1
    assert c3.cdr_from_model(with_token).cdr_token.type == v2_3_0


def test_token_fields_2_1_1_lacks() -> None:
    t = msgspec.structs.replace(
        token("RFID"),
        group_id=ci("G1"),
        default_profile_type=m.ProfileType.GREEN,
        energy_contract=m.EnergyContract(supplier_name="Green Power"),
    )
    old = c1.token_from_model(t)
    valid(old)
    assert old.auth_id == "NL-EXA-C1"
    assert c1.token_to_model(old, country_code="NL", party_id="EXA") == msgspec.structs.replace(
        t, group_id=None, default_profile_type=None, energy_contract=None
    )


# --- credentials and hubs -------------------------------------------------------------------------


def role(kind: m.Role | None, country: str, party: str) -> m.CredentialsRole:
    return m.CredentialsRole(
        business_details=m.BusinessDetails(name=f"{country}{party}"),
        party_id=ci(party),
        country_code=ci(country),
        role=kind,
    )


def test_2_2_1_hub_role_becomes_2_3_0_hub_party_id() -> None:
    creds = m.Credentials(
        token="tok",
        url="https://hub.example/versions",
        roles=(role(m.Role.HUB, "NL", "HUB"), role(m.Role.CPO, "DE", "ABC")),
    )
    newest = c3.credentials_from_model(creds)
    valid(newest)
    assert newest.hub_party_id == "NLHUB"
    assert [(r.role, r.country_code, r.party_id) for r in newest.roles] == [("CPO", "DE", "ABC")]
    with pytest.raises(m.NotRepresentable) as caught:
        c3.credentials_from_model(m.Credentials(token="t", url="u", roles=(role(m.Role.HUB, "NL", "HUB"),)))
    assert caught.value.path == "Credentials.roles"


def test_2_3_0_hub_party_id_is_left_out_of_older_versions() -> None:
    creds = m.Credentials(
        token="t", url="https://x/versions", roles=(role(m.Role.EMSP, "NL", "EXA"),), hub_party_id=ci("NLHUB")
    )
    assert b"hub_party_id" not in encode(c2.credentials_from_model(creds))
    old = c1.credentials_from_model(
        m.Credentials(
            token="t",
            url="https://x/versions",
            roles=(role(m.Role.EMSP, "NL", "EXA"), role(m.Role.CPO, "DE", "ABC")),
        )
    )
    assert (old.country_code, old.party_id, old.business_details.name) == ("NL", "EXA", "NLEXA")


def test_client_info_with_role_hub_is_refused_by_2_3_0() -> None:
    info = m.ClientInfo(
        party_id=ci("HUB"),
        country_code=ci("NL"),
        role=m.Role.HUB,
        status=m.ConnectionStatus.CONNECTED,
        last_updated=T0,
    )
    assert c2.client_info_from_model(info).role == w2.Role.HUB
    with pytest.raises(m.NotRepresentable) as caught:
        c3.client_info_from_model(info)
    assert caught.value.path == "ClientInfo.role"
    cpo = msgspec.structs.replace(info, role=m.Role.CPO)
    assert c3.client_info_to_model(c3.client_info_from_model(cpo)) == cpo
    assert c2.client_info_to_model(c2.client_info_from_model(cpo)) == cpo


def test_not_representable_is_a_value_error_naming_version_and_field() -> None:
    error = m.NotRepresentable("2.1.1", "CDR.credit", "2.1.1 has no credit CDRs")
    assert isinstance(error, ValueError)
    assert str(error) == "OCPI 2.1.1 cannot carry CDR.credit: 2.1.1 has no credit CDRs"


def test_every_refusal_of_the_converters_is_documented() -> None:
    root = Path(__file__).resolve().parents[2]
    doc = (root / "docs" / "versions.md").read_text(encoding="utf-8")
    paths: set[str] = set()
    for version in ("v2_1_1", "v2_2_1", "v2_3_0"):
        source = (root / "src" / "evroam" / "ocpi" / version / "convert.py").read_text(encoding="utf-8")
        paths.update(re.findall(r'_missing\(\s*"([^"]+)"', source))
        paths.update(re.findall(r'require\(\s*[\w.]+,\s*[\w.]+,\s*VERSION,\s*"([^"]+)"', source))
    assert {"Location.time_zone", "CDR.credit", "ClientInfo.role", "CdrLocation.connector_standard"} <= paths
    undocumented = sorted(p for p in paths if f"`{p}`" not in doc)
    assert not undocumented
