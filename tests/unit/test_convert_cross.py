"""Official examples converted across versions: lossless where the versions overlap, and exactly the
documented losses (docs/versions.md) where they do not."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from evroam import model as m
from evroam.core.codec import decode, encode
from evroam.core.types import CiString
from evroam.ocpi import v2_1_1 as w1
from evroam.ocpi import v2_2_1 as w2
from evroam.ocpi import v2_3_0 as w3
from evroam.ocpi.v2_1_1 import convert as c1
from evroam.ocpi.v2_2_1 import convert as c2
from evroam.ocpi.v2_3_0 import convert as c3
from tests.support.jsoncompare import json_differences, load_json
from tests.unit.test_convert import CONVERTERS, cases, load, objects


def _pair(version: str, kind: str) -> tuple[Any, Any]:
    for wire_type, pair in CONVERTERS[version].items():
        if wire_type.__name__ == kind:
            return pair
    raise KeyError(kind)


def _via(canonical: Any, version: str, kind: str) -> Any:
    """canonical -> ``version`` wire (checked valid) -> canonical."""
    to_model, from_model = _pair(version, kind)
    wire = from_model(canonical)
    assert encode(decode(encode(wire), type(wire))) == encode(wire)
    if version == "2.1.1" and kind != "Credentials":  # 2.1.1 readers take the owner
        return getattr(c1, f"{_snake(kind)}_to_model")(
            wire, country_code=canonical.country_code, party_id=canonical.party_id
        )
    return to_model(wire)


def _snake(kind: str) -> str:
    return {"CDR": "cdr"}.get(kind, kind.lower())


def _differences(original: Any, result: Any) -> list[str]:
    return json_differences(load_json(encode(original)), load_json(encode(result)))


def _objects(version: str) -> list[Any]:
    out = []
    for name, model in cases(version):
        for index, wire in enumerate(objects(load(version, name, model), model)):
            out.append(pytest.param(wire, id=f"{name}[{index}]"))
    return out


# --- 2.2.1 <-> 2.3.0 ------------------------------------------------------------------------------


@pytest.mark.parametrize("wire", _objects("2.2.1"))
def test_2_2_1_object_survives_a_trip_through_2_3_0(wire: Any) -> None:
    kind = type(wire).__name__
    to_model, from_model = _pair("2.2.1", kind)
    back = from_model(_via(to_model(wire), "2.3.0", kind))
    assert encode(back) == encode(wire)


#: 2.3.0 examples that lose data in 2.2.1: file -> JSON paths missing after 2.3.0 -> 2.2.1 -> 2.3.0
LOST_IN_2_2_1 = {
    "location_example.json": {"$.parking_places", "$.evses[0].parking", "$.evses[1].parking"},
    "location_example_parking_garage_opening_hours.json": {"$.parking_places", "$.evses[0].parking"},
}


@pytest.mark.parametrize("wire", [p for p in _objects("2.3.0") if type(p.values[0]) is not w3.Terminal])
def test_2_3_0_object_through_2_2_1_loses_only_2_3_0_data(wire: Any, request: pytest.FixtureRequest) -> None:
    kind = type(wire).__name__
    name = request.node.callspec.id.split("[")[0]
    to_model, from_model = _pair("2.3.0", kind)
    canonical = to_model(wire)
    if isinstance(canonical, m.Tariff) and canonical.tax_included is m.TaxIncluded.YES:
        with pytest.raises(m.NotRepresentable) as caught:
            c2.tariff_from_model(canonical)
        assert (caught.value.version, caught.value.path) == ("2.2.1", "Tariff.tax_included")
        return
    back = from_model(_via(canonical, "2.2.1", kind))
    expected = {f"{p}: missing" for p in LOST_IN_2_2_1.get(name, set())}
    assert set(_differences(wire, back)) == expected


def test_the_inclusive_north_american_tariff_is_the_one_2_2_1_refuses() -> None:
    tariff = c3.tariff_to_model(load("2.3.0", "tariff_20_simple_north_american_inclusive.json", w3.Tariff))
    assert tariff.tax_included is m.TaxIncluded.YES
    exclusive = c3.tariff_to_model(load("2.3.0", "tariff_19_simple_north_american_exclusive.json", w3.Tariff))
    assert exclusive.tax_included is m.TaxIncluded.NO
    assert c2.tariff_from_model(exclusive).currency == "CAD"


def test_cdr_money_2_2_1_to_2_3_0_and_back() -> None:
    wire = load("2.2.1", "cdr_example.json", w2.CDR)
    cdr = c2.cdr_to_model(wire)
    assert cdr.total_cost == m.Price(before_taxes=Decimal("4.00"), after_taxes=Decimal("4.40"))
    as_2_3_0 = c3.cdr_from_model(cdr)
    assert as_2_3_0.total_cost == w3.Price(
        before_taxes=Decimal("4.00"), taxes=[w3.TaxAmount(name="VAT", amount=Decimal("0.40"))]
    )
    assert as_2_3_0.tariffs is not None and as_2_3_0.tariffs[0].tax_included == w3.TaxIncluded.NO
    assert encode(c2.cdr_from_model(c3.cdr_to_model(as_2_3_0))) == encode(wire)


def test_cdr_money_2_3_0_to_2_2_1_and_back() -> None:
    wire = load("2.3.0", "cdr_example.json", w3.CDR)  # repaired: tariffs[0].tax_included = NO
    cdr = c3.cdr_to_model(wire)
    assert cdr.total_cost.taxes == (m.TaxAmount(name="VAT", amount=Decimal("0.40")),)
    as_2_2_1 = c2.cdr_from_model(cdr)
    assert as_2_2_1.total_cost == w2.Price(excl_vat=Decimal("4.00"), incl_vat=Decimal("4.40"))
    assert as_2_2_1.total_time_cost == w2.Price(excl_vat=Decimal("4.00"), incl_vat=Decimal("4.40"))
    assert encode(c3.cdr_from_model(c2.cdr_to_model(as_2_2_1))) == encode(wire)


# --- to and from 2.1.1 ----------------------------------------------------------------------------

#: 2.2.1 examples through 2.1.1 and back: file -> the differences, each a documented loss.
LOST_IN_2_1_1: dict[str, set[str]] = {
    # Location: publish/publish_allowed_to do not exist (a 2.1.1 Location is published);
    # ParkingType ON_DRIVEWAY is 2.1.1 LocationType OTHER, which no 2.2.1 ParkingType names.
    "location_example_uc3_destination_charger_not_published.json": {"$.publish: expected False, got True"},
    "location_example_uc4_limited_visibility.json": {
        "$.publish: expected False, got True",
        "$.publish_allowed_to: missing",
    },
    "location_example_uc5_home_charge_point.json": {
        "$.publish: expected False, got True",
        "$.publish_allowed_to: missing",
        "$.parking_type: missing",
    },
    # Tariff: no VAT, type, min/max price or validity dates; reservation elements left out.
    "tariff_1_simple_2hour.json": {"$.elements[0].price_components[0].vat: missing"},
    "tariff_2_alt_text.json": {"$.type: missing", "$.elements[0].price_components[0].vat: missing"},
    "tariff_3_alt_url.json": {
        "$.type: missing",
        "$.elements[0].price_components[0].vat: missing",
        "$.elements[0].price_components[1].vat: missing",
    },
    "tariff_6_025kwh_start_max_price.json": {
        "$.max_price: missing",
        "$.end_date_time: missing",
        "$.elements[0].price_components[0].vat: missing",
        "$.elements[0].price_components[1].vat: missing",
    },
    "tariff_8_simple_025kwh.json": {"$.elements[0].price_components[0].vat: missing"},
    "tariff_9_025kwh_start.json": {
        "$.elements[0].price_components[0].vat: missing",
        "$.elements[0].price_components[1].vat: missing",
    },
    "tariff_10_025kwh_parking_start.json": {
        f"$.elements[0].price_components[{i}].vat: missing" for i in range(3)
    },
    "tariff_11_not_possible_alt_text.json": {
        "$.type: missing",
        "$.elements[0].price_components[0].vat: missing",
        "$.elements[0].price_components[1].vat: missing",
    },
    "tariff_12_025kwh_min_price.json": {
        "$.min_price: missing",
        "$.elements[0].price_components[0].vat: missing",
    },
    "tariff_13_simple_3hour_5parking.json": {
        "$.elements[0].price_components[0].vat: missing",
        "$.elements[0].price_components[1].vat: missing",
    },
    "tariff_15_reservation_5_euro_per_hour.json": {"$.elements: expected 2 items, got 1"},
    "tariff_16_reservation_2_euro_fee_5_euro_per_hour.json": {"$.elements: expected 2 items, got 1"},
    "tariff_17_reservation_with_expire_fee.json": {"$.elements: expected 3 items, got 1"},
    "tariff_18_reservation_with_expire_time.json": {"$.elements: expected 3 items, got 1"},
    "tariff_put_example.json": {"$.elements[0].price_components[0].vat: missing"},
    "tariffrestriction_example_max_duration.json": {"$.type: missing"}
    | {f"$.elements[{i}].price_components[0].vat: missing" for i in range(3)},
    "tariffrestriction_example_max_power.json": {"$.type: missing"}
    | {f"$.elements[{i}].price_components[0].vat: missing" for i in range(3)},
    # Token: no group_id/default_profile_type/energy_contract; APP_USER is OTHER.
    "token_example_1_app_user.json": {"$.type: expected 'APP_USER', got 'OTHER'"},
    "token_example_2_full_rfid.json": {
        "$.group_id: missing",
        "$.default_profile_type: missing",
        "$.energy_contract: missing",
    },
    "token_put_example.json": {"$.group_id: missing"},
}

#: 2.2.1 examples 2.1.1 refuses: file -> the NotRepresentable path
REFUSED_BY_2_1_1 = {"tariff_4_complex.json": "TariffRestrictions.min_current"}


@pytest.mark.parametrize(
    "wire",
    [p for p in _objects("2.2.1") if type(p.values[0]) in (w2.Location, w2.Tariff, w2.Token)],
)
def test_2_2_1_object_through_2_1_1_loses_only_what_2_1_1_lacks(
    wire: Any, request: pytest.FixtureRequest
) -> None:
    kind = type(wire).__name__
    name = request.node.callspec.id.split("[")[0]
    to_model, from_model = _pair("2.2.1", kind)
    canonical = to_model(wire)
    if name in REFUSED_BY_2_1_1:
        with pytest.raises(m.NotRepresentable) as caught:
            _via(canonical, "2.1.1", kind)
        assert (caught.value.version, caught.value.path) == ("2.1.1", REFUSED_BY_2_1_1[name])
        return
    back = from_model(_via(canonical, "2.1.1", kind))
    assert set(_differences(wire, back)) == LOST_IN_2_1_1.get(name, set())


@pytest.mark.parametrize(
    "wire", [p for p in _objects("2.1.1") if type(p.values[0]) in (w1.Location, w1.Tariff, w1.Token)]
)
@pytest.mark.parametrize("version", ["2.2.1", "2.3.0"])
def test_2_1_1_object_survives_a_trip_through_newer_versions(wire: Any, version: str) -> None:
    kind = type(wire).__name__
    to_model, from_model = _pair("2.1.1", kind)
    if isinstance(wire, w1.Location) and wire.time_zone is None:
        # 2.2+ requires time_zone, which this 2.1.1 example does not give (see the refusal test)
        wire = msgspec.structs.replace(wire, time_zone="Europe/Brussels")
    back = from_model(_via(to_model(wire), version, kind))
    assert encode(back) == encode(wire)


def test_2_1_1_credentials_survive_newer_versions_once_the_role_is_known() -> None:
    wire = load("2.1.1", "credentials__01__example.json", w1.Credentials)
    unknown_role = c1.credentials_to_model(wire)
    with pytest.raises(m.NotRepresentable) as caught:
        c2.credentials_from_model(unknown_role)
    assert caught.value.path == "CredentialsRole.role"
    canonical = c1.credentials_to_model(wire, role=m.Role.CPO)
    for to_model, from_model in (
        (c2.credentials_to_model, c2.credentials_from_model),
        (c3.credentials_to_model, c3.credentials_from_model),
    ):
        newer = from_model(canonical)
        assert [(r.role, r.country_code, r.party_id) for r in newer.roles] == [("CPO", "NL", "EXA")]
        assert encode(c1.credentials_from_model(to_model(newer))) == encode(wire)


def test_2_1_1_location_without_time_zone_is_refused_by_2_2_plus() -> None:
    location = c1.location_to_model(
        load("2.1.1", "mod_locations__06__example.json", w1.Location), country_code="BE", party_id="BEC"
    )
    for convert, version in ((c2.location_from_model, "2.2.1"), (c3.location_from_model, "2.3.0")):
        with pytest.raises(m.NotRepresentable) as caught:
            convert(location)
        assert (caught.value.version, caught.value.path) == (version, "Location.time_zone")


@pytest.mark.parametrize(
    "name",
    [
        "mod_sessions__02__simple_session_example_of_a_just_starting_session.json",
        "mod_sessions__03__simple_session_example_of_a_short_finished_session.json",
    ],
)
def test_2_1_1_session_needs_the_token_uid_for_2_2_plus(name: str) -> None:
    wire = load("2.1.1", name, w1.Session)
    session = c1.session_to_model(wire, country_code="BE", party_id="BEC")
    with pytest.raises(m.NotRepresentable) as caught:
        c2.session_from_model(session)
    assert caught.value.path == "Session.cdr_token.uid"
    complete = msgspec.structs.replace(
        session,
        cdr_token=m.CdrToken(
            contract_id=session.cdr_token.contract_id,
            uid=CiString("012345678"),
            type="RFID",
            country_code=CiString("DE"),
            party_id=CiString("TNM"),
        ),
    )
    newer = c2.session_from_model(complete)
    assert (newer.location_id, newer.evse_uid, newer.connector_id) == ("LOC1", "3256", "1")
    assert newer.cdr_token.contract_id == "DE8ACC12E46L89"
    # back to 2.1.1: the canonical object read from 2.2.1 has no Location snapshot ...
    again = c2.session_to_model(newer)
    assert again.location is None
    with pytest.raises(m.NotRepresentable) as missing:
        c1.session_from_model(again)
    assert missing.value.path == "Session.location"
    # ... the stored Location (here: the original snapshot) gives it back
    assert encode(c1.session_from_model(again, location=session.location)) == encode(wire)


def test_2_2_1_session_to_2_1_1_embeds_the_stored_location_reduced_to_its_evse() -> None:
    session = c2.session_to_model(load("2.2.1", "session_example_2_short_finished.json", w2.Session))
    location = c2.location_to_model(load("2.2.1", "location_example.json", w2.Location))
    assert location.evses is not None and len(location.evses) == 2
    old = c1.session_from_model(session, location=location)
    assert (old.id, old.auth_id, old.total_cost) == ("101", "NL-TST-C12345678-S", Decimal("8.50"))
    assert old.start_datetime == session.start_date_time and old.end_datetime == session.end_date_time
    assert old.status == w1.SessionStatus.COMPLETED
    assert old.location.id == "LOC1" and old.location.type == w1.LocationType.ON_STREET
    assert old.location.evses is not None
    assert [e.uid for e in old.location.evses] == ["3256"]
    assert [c.id for c in old.location.evses[0].connectors] == ["1"]
    assert old.charging_periods is not None
    assert [p.start_date_time for p in old.charging_periods] == [
        p.start_date_time for p in session.charging_periods or ()
    ]
    assert encode(decode(encode(old), w1.Session)) == encode(old)


def test_2_2_1_cdr_to_2_1_1() -> None:
    cdr = c2.cdr_to_model(load("2.2.1", "cdr_example.json", w2.CDR))
    with pytest.raises(m.NotRepresentable) as caught:
        c1.cdr_from_model(cdr)
    assert caught.value.path == "CDR.location"
    location = c2.location_to_model(load("2.2.1", "location_example.json", w2.Location))
    old = c1.cdr_from_model(cdr, location=location)
    assert (old.id, old.auth_id, old.total_cost) == ("12345", "DE8ACC12E46L89", Decimal("4.00"))
    assert old.stop_date_time == cdr.end_date_time
    assert old.location.evses is not None and [e.uid for e in old.location.evses] == ["3256"]
    assert old.tariffs is not None and old.tariffs[0].elements[0].price_components[0].price == Decimal("2.00")
    assert encode(decode(encode(old), w1.CDR)) == encode(old)
    credit = msgspec.structs.replace(cdr, id=CiString("12345-C"), credit=True, credit_reference_id=cdr.id)
    with pytest.raises(m.NotRepresentable) as refused:
        c1.cdr_from_model(credit, location=location)
    assert refused.value.path == "CDR.credit"


def test_2_1_1_cdr_needs_the_token_uid_for_2_2_plus() -> None:
    cdr = c1.cdr_to_model(
        load("2.1.1", "mod_cdrs__01__example_of_a_cdr.json", w1.CDR), country_code="BE", party_id="BEC"
    )
    for convert in (c2.cdr_from_model, c3.cdr_from_model):
        with pytest.raises(m.NotRepresentable) as caught:
            convert(cdr)
        assert caught.value.path == "CDR.cdr_token.uid"
