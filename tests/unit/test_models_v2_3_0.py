"""OCPI 2.3.0 wire models: OpenEnums, taxes, parking, payments, what is shared with 2.2.1, the table."""

from __future__ import annotations

import json
import typing
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from evroam.core.codec import decode, encode
from evroam.core.errors import ValidationFailed
from evroam.ocpi import v2_2_1
from evroam.ocpi import v2_3_0 as ocpi
from evroam.ocpi.table import InterfaceRole
from tests.support.examples import named_paths

CONNECTOR: dict[str, Any] = {
    "id": "1",
    "standard": "IEC_62196_T2",
    "format": "SOCKET",
    "power_type": "AC_3_PHASE",
    "max_voltage": 230,
    "max_amperage": 16,
    "last_updated": "2024-06-24T12:39:09Z",
}
EVSE: dict[str, Any] = {
    "uid": "3256",
    "status": "AVAILABLE",
    "connectors": [CONNECTOR],
    "last_updated": "2024-06-24T12:39:09Z",
}
LOCATION: dict[str, Any] = {
    "country_code": "BE",
    "party_id": "BEC",
    "id": "LOC1",
    "publish": True,
    "address": "F.Rooseveltlaan 3A",
    "city": "Gent",
    "country": "BEL",
    "coordinates": {"latitude": "51.047599", "longitude": "3.729944"},
    "evses": [EVSE],
    "time_zone": "Europe/Brussels",
    "last_updated": "2024-06-24T12:39:09Z",
}
TOKEN: dict[str, Any] = {
    "country_code": "DE",
    "party_id": "TNM",
    "uid": "012345678",
    "type": "RFID",
    "contract_id": "DE8ACC12E46L89",
    "issuer": "TheNewMotion",
    "valid": True,
    "whitelist": "ALLOWED",
    "last_updated": "2024-12-10T17:16:15Z",
}
TARIFF: dict[str, Any] = {
    "country_code": "CA",
    "party_id": "FLO",
    "id": "12",
    "currency": "CAD",
    "elements": [{"price_components": [{"type": "TIME", "price": 2.00, "step_size": 1}]}],
    "tax_included": "NO",
    "last_updated": "2024-12-05T18:30:14Z",
}
PARKING: dict[str, Any] = {
    "id": "P1",
    "vehicle_types": ["PERSONAL_VEHICLE"],
    "restricted_to_type": False,
    "reservation_required": False,
}
TERMINAL: dict[str, Any] = {"terminal_id": "T-1", "last_updated": "2024-12-10T17:16:15Z"}
FAC: dict[str, Any] = {
    "id": "F-1",
    "authorization_reference": "pp-1",
    "total_costs": {"before_taxes": 4.00, "taxes": [{"name": "VAT", "percentage": 10, "amount": 0.40}]},
    "currency": "EUR",
    "eft_data": ["Mastercard", "AID: 1234"],
    "capture_status_code": "SUCCESS",
    "last_updated": "2024-12-10T17:16:15Z",
}


def body(doc: Any, **changes: Any) -> bytes:
    if isinstance(doc, dict):
        doc = {**doc, **changes}
    return json.dumps(doc).encode()


def rejected_paths(data: bytes, model: Any) -> set[str]:
    with pytest.raises(ValidationFailed) as caught:
        decode(data, model)
    assert caught.value.ocpi_status == 2001
    return named_paths(caught.value)


def round_trip(data: bytes, model: Any) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(encode(decode(data, model)))
    return out


# --- OpenEnums -------------------------------------------------------------------------------------


def _with_evse(**changes: Any) -> bytes:
    return body(LOCATION, evses=[{**EVSE, **changes}])


OPEN_ENUM_CASES = [
    # (what, model, document with an unknown value, JSON path to it, the value)
    ("ConnectorType", ocpi.Connector, body(CONNECTOR, standard="NLTNM_MEGA_PLUG"), ["standard"]),
    (
        "ConnectorCapability",
        ocpi.Connector,
        body(CONNECTOR, capabilities=["ISO_15118_20_PLUG_AND_CHARGE", "NLTNM_V2G"]),
        ["capabilities", 1],
    ),
    (
        "Capability",
        ocpi.Location,
        _with_evse(capabilities=["RFID_READER", "NLTNM_QR"]),
        ["evses", 0, "capabilities", 1],
    ),
    (
        "ParkingRestriction",
        ocpi.Location,
        _with_evse(parking_restrictions=["NLTNM_VISITORS"]),
        ["evses", 0, "parking_restrictions", 0],
    ),
    ("ParkingType", ocpi.Location, body(LOCATION, parking_type="NLTNM_FERRY"), ["parking_type"]),
    ("Facility", ocpi.Location, body(LOCATION, facilities=["CAFE", "NLTNM_SAUNA"]), ["facilities", 1]),
    (
        "VehicleType",
        ocpi.Location,
        body(LOCATION, parking_places=[{**PARKING, "vehicle_types": ["NLTNM_TRACTOR"]}]),
        ["parking_places", 0, "vehicle_types", 0],
    ),
    (
        "ImageCategory",
        ocpi.Location,
        body(LOCATION, images=[{"url": "https://x.example/i.png", "category": "NLTNM_MAP", "type": "png"}]),
        ["images", 0, "category"],
    ),
    (
        "EnvironmentalImpactCategory",
        ocpi.EnergyMix,
        body({"is_green_energy": False, "environ_impact": [{"category": "NLTNM_NOX", "amount": 1.5}]}),
        ["environ_impact", 0, "category"],
    ),
    ("TokenType", ocpi.Token, body(TOKEN, type="NLTNM_LICENSE_PLATE"), ["type"]),
    (
        "TokenType (PublishTokenType)",
        ocpi.PublishTokenType,
        body({"uid": "1", "type": "NLTNM_LICENSE_PLATE"}),
        ["type"],
    ),
    (
        "TokenType (CdrToken)",
        ocpi.CdrToken,
        body({"country_code": "DE", "party_id": "TNM", "uid": "1", "type": "NLTNM_X", "contract_id": "C"}),
        ["type"],
    ),
    (
        "ModuleID",
        ocpi.VersionDetails,
        body(
            {
                "version": "2.3.0",
                "endpoints": [{"identifier": "nltnm-tokens", "role": "SENDER", "url": "https://x.example/t"}],
            }
        ),
        ["endpoints", 0, "identifier"],
    ),
    (
        "VersionNumber",
        ocpi.Version,
        body({"version": "2.4.0", "url": "https://x.example/2.4.0"}),
        ["version"],
    ),
]


def _dig(doc: Any, path: list[Any]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


@pytest.mark.parametrize(
    ("what", "model", "data", "path"), OPEN_ENUM_CASES, ids=[c[0] for c in OPEN_ENUM_CASES]
)
def test_unknown_open_enum_values_decode_and_survive_a_round_trip(
    what: str, model: Any, data: bytes, path: list[Any]
) -> None:
    assert _dig(round_trip(data, model), path) == _dig(json.loads(data), path)


def test_known_open_enum_values_compare_equal_to_their_enum_members() -> None:
    connector = decode(body(CONNECTOR, standard="SAE_J3400"), ocpi.Connector)
    assert connector.standard == ocpi.ConnectorType.SAE_J3400
    token = decode(body(TOKEN, type="EMAID"), ocpi.Token)
    assert token.type == ocpi.TokenType.EMAID


def test_open_enum_fields_still_have_to_be_strings() -> None:
    assert rejected_paths(body(CONNECTOR, standard=5), ocpi.Connector) == {"$.standard"}
    assert rejected_paths(body(TOKEN, type=None), ocpi.Token) == {"$.type"}


@pytest.mark.parametrize(
    ("model", "data", "path"),
    [
        (ocpi.Connector, body(CONNECTOR, power_type="AC_4_PHASE"), "$.power_type"),
        (ocpi.Connector, body(CONNECTOR, format="WIRELESS"), "$.format"),
        (ocpi.EVSE, body(EVSE, status="SLEEPING"), "$.status"),
        (ocpi.Tariff, body(TARIFF, tax_included="MAYBE"), "$.tax_included"),
        (ocpi.EVSEParking, body({"parking_id": "P1", "evse_position": "ABOVE"}), "$.evse_position"),
        (ocpi.Parking, body(PARKING, direction="DIAGONAL"), "$.direction"),
        (ocpi.FinancialAdviceConfirmation, body(FAC, capture_status_code="PENDING"), "$.capture_status_code"),
    ],
)
def test_enums_that_are_not_open_stay_closed(model: Any, data: bytes, path: str) -> None:
    assert rejected_paths(data, model) == {path}


def test_role_hub_is_gone_in_2_3_0() -> None:
    role = {"role": "HUB", "business_details": {"name": "Hub"}, "party_id": "HUB", "country_code": "NL"}
    assert rejected_paths(body(role), ocpi.CredentialsRole) == {"$.role"}
    assert decode(body(role), v2_2_1.CredentialsRole).role is v2_2_1.Role.HUB
    assert "HUB" not in {r.value for r in ocpi.Role}


# --- money with taxes --------------------------------------------------------------------------------


def test_price_is_before_taxes_plus_a_list_of_taxes() -> None:
    price = decode(
        b'{"before_taxes": 10.00, "taxes": [{"name": "GST", "account_number": "123", "percentage": 5, '
        b'"amount": 0.50}, {"name": "QST", "percentage": 9.975, "amount": 0.9975}]}',
        ocpi.Price,
    )
    assert price.taxes is not None and [t.name for t in price.taxes] == ["GST", "QST"]
    assert str(price.taxes[1].amount) == "0.9975"
    assert rejected_paths(b'{"excl_vat": 1.00, "incl_vat": 1.21}', ocpi.Price) == {"$.before_taxes"}
    assert rejected_paths(b'{"before_taxes": 1, "taxes": [{"name": "VAT"}]}', ocpi.Price) == {
        "$.taxes[0].amount"
    }
    assert decode(b'{"before_taxes": 0}', ocpi.Price).taxes is None


def test_tariff_needs_tax_included_and_takes_price_limits() -> None:
    missing = {k: v for k, v in TARIFF.items() if k != "tax_included"}
    assert rejected_paths(body(missing), ocpi.Tariff) == {"$.tax_included"}
    tariff = decode(
        body(TARIFF, tax_included="N/A", min_price={"before_taxes": 0.5}, preauthorize_amount=50), ocpi.Tariff
    )
    assert tariff.tax_included is ocpi.TaxIncluded.NOT_APPLICABLE
    assert tariff.min_price is not None and str(tariff.min_price.before_taxes) == "0.5"
    assert json.loads(encode(tariff))["tax_included"] == "N/A"
    assert rejected_paths(body(TARIFF, max_price={"excl_vat": 10}), ocpi.Tariff) == {
        "$.max_price.before_taxes"
    }


def test_session_total_cost_uses_the_2_3_0_price() -> None:
    session = {
        "country_code": "BE",
        "party_id": "BEC",
        "id": "S1",
        "start_date_time": "2024-06-29T21:39:09Z",
        "kwh": 0,
        "cdr_token": {
            "country_code": "DE",
            "party_id": "TNM",
            "uid": "1",
            "type": "RFID",
            "contract_id": "C",
        },
        "auth_method": "WHITELIST",
        "location_id": "LOC1",
        "evse_uid": "3256",
        "connector_id": "1",
        "currency": "EUR",
        "total_cost": {"before_taxes": 2.5},
        "status": "PENDING",
        "last_updated": "2024-06-29T21:39:09Z",
    }
    assert decode(body(session), ocpi.Session).total_cost == ocpi.Price(before_taxes=Decimal("2.5"))
    assert rejected_paths(body(session, total_cost={"excl_vat": 2.5}), ocpi.Session) == {
        "$.total_cost.before_taxes"
    }


# --- locations: parking, new fields, lengths ------------------------------------------------------------


def test_parking_requires_vehicle_types_and_the_two_flags() -> None:
    assert decode(body(PARKING, physical_reference="B" * 12), ocpi.Parking).physical_reference == "B" * 12
    assert rejected_paths(body(PARKING, physical_reference="B" * 13), ocpi.Parking) == {
        "$.physical_reference"
    }
    assert rejected_paths(body(PARKING, vehicle_types=[]), ocpi.Parking) == {"$.vehicle_types"}
    for field in ("vehicle_types", "restricted_to_type", "reservation_required", "id"):
        missing = {k: v for k, v in PARKING.items() if k != field}
        assert rejected_paths(body(missing), ocpi.Parking) == {f"$.{field}"}


def test_new_location_and_evse_fields() -> None:
    location = decode(
        body(
            LOCATION,
            help_phone="+31 20 1234567",
            evses=[{**EVSE, "parking": [{"parking_id": "P1"}], "accepted_service_providers": ["A" * 50]}],
            parking_places=[PARKING],
        ),
        ocpi.Location,
    )
    assert location.help_phone == "+31 20 1234567"
    assert location.evses is not None and location.evses[0].accepted_service_providers == ["A" * 50]
    assert rejected_paths(body(LOCATION, help_phone="1" * 26), ocpi.Location) == {"$.help_phone"}
    too_long = body(LOCATION, evses=[{**EVSE, "accepted_service_providers": ["A" * 51]}])
    assert rejected_paths(too_long, ocpi.Location) == {"$.evses[0].accepted_service_providers[0]"}


def test_credentials_hub_party_id_is_five_characters_at_most() -> None:
    role = {"role": "CPO", "business_details": {"name": "X"}, "party_id": "ABC", "country_code": "NL"}
    creds = {"token": "t", "url": "https://x.example/versions", "roles": [role]}
    assert decode(body(creds, hub_party_id="NLHUB"), ocpi.Credentials).hub_party_id == "nlhub"
    assert rejected_paths(body(creds, hub_party_id="NLHUBX"), ocpi.Credentials) == {"$.hub_party_id"}


@pytest.mark.parametrize(
    ("model", "change"),
    [
        (ocpi.LocationPatch, {"help_phone": "112"}),
        (ocpi.EVSEPatch, {"status": "CHARGING"}),
        (ocpi.ConnectorPatch, {"standard": "NLTNM_MEGA_PLUG"}),
        (ocpi.SessionPatch, {"total_cost": {"before_taxes": 1}}),
        (ocpi.TokenPatch, {"type": "EMAID"}),
    ],
)
def test_patch_bodies_need_last_updated(model: type[Any], change: dict[str, Any]) -> None:
    assert rejected_paths(body(change), model) == {"$.last_updated"}
    patch = decode(body(change, last_updated="2024-06-24T12:39:09Z"), model)
    assert json.loads(encode(patch)).keys() == {*change, "last_updated"}


def test_cistrings_keep_their_spelling() -> None:
    out = round_trip(body(LOCATION, party_id="BeC", evses=[{**EVSE, "uid": "Evse-A"}]), ocpi.Location)
    assert out["party_id"] == "BeC" and out["evses"][0]["uid"] == "Evse-A"


# --- payments -----------------------------------------------------------------------------------------


def test_terminal_bodies_have_the_cardinalities_of_their_request() -> None:
    assert rejected_paths(body({"terminal_id": "T-1"}), ocpi.Terminal) == {"$.last_updated"}
    assert decode(body({"terminal_id": "T-1"}), ocpi.TerminalCreation).terminal_id == "T-1"
    assert rejected_paths(body({"address": "Street 1"}), ocpi.TerminalCreation) == {"$.terminal_id"}
    activation = decode(
        body({"reference": "SN-1", "last_updated": "2024-01-01T00:00:00Z"}), ocpi.TerminalActivation
    )
    assert activation.terminal_id is None and activation.reference == "SN-1"
    assert rejected_paths(body({"reference": "SN-1"}), ocpi.TerminalActivation) == {"$.last_updated"}
    patch = decode(body({"evse_uids": ["E1"]}), ocpi.TerminalPatch)
    assert patch.evse_uids == ["E1"] and patch.last_updated is None


def test_terminal_field_lengths() -> None:
    assert rejected_paths(body(TERMINAL, terminal_id="t" * 37), ocpi.Terminal) == {"$.terminal_id"}
    assert rejected_paths(body(TERMINAL, postal_code="1" * 11), ocpi.Terminal) == {"$.postal_code"}
    assert rejected_paths(body(TERMINAL, address="a" * 46), ocpi.Terminal) == {"$.address"}
    assert rejected_paths(body(TERMINAL, invoice_creator="EMSP"), ocpi.Terminal) == {"$.invoice_creator"}
    terminal = decode(body(TERMINAL, address="a" * 45, state="s" * 20, invoice_creator="PTP"), ocpi.Terminal)
    assert terminal.invoice_creator is ocpi.InvoiceCreator.PTP


def test_financial_advice_confirmation() -> None:
    fac = decode(body(FAC), ocpi.FinancialAdviceConfirmation)
    assert fac.total_costs.taxes is not None and str(fac.total_costs.taxes[0].amount) == "0.4"
    assert fac.capture_status_code is ocpi.CaptureStatusCode.SUCCESS
    assert rejected_paths(body(FAC, eft_data=[]), ocpi.FinancialAdviceConfirmation) == {"$.eft_data"}
    assert rejected_paths(body(FAC, eft_data=["x" * 256]), ocpi.FinancialAdviceConfirmation) == {
        "$.eft_data[0]"
    }
    assert rejected_paths(body(FAC, currency="EURO"), ocpi.FinancialAdviceConfirmation) == {"$.currency"}


# --- what 2.3.0 shares with 2.2.1 -------------------------------------------------------------------------

SHARED = [
    "DisplayText",
    "GeoLocation",
    "EnergySource",
    "AdditionalGeoLocation",
    "Hours",
    "RegularHours",
    "ExceptionalPeriod",
    "StatusSchedule",
    "CdrDimension",
    "ChargingPeriod",
    "SignedData",
    "SignedValue",
    "TariffElement",
    "PriceComponent",
    "TariffRestrictions",
    "EnergyContract",
    "LocationReferences",
    "ChargingPreferences",
    "CancelReservation",
    "StopSession",
    "UnlockConnector",
    "CommandResponse",
    "CommandResult",
    "ChargingProfile",
    "ChargingProfilePeriod",
    "ActiveChargingProfile",
    "SetChargingProfile",
    "ChargingProfileResponse",
    "ActiveChargingProfileResult",
    "ChargingProfileResult",
    "ClearProfileResult",
]


def test_unchanged_classes_are_the_2_2_1_classes() -> None:
    for name in SHARED:
        assert getattr(ocpi, name) is getattr(v2_2_1, name), name


def test_classes_whose_field_types_changed_are_new() -> None:
    shared_names = set(SHARED)
    for name, model in ocpi.SPEC.models.items():
        if name in shared_names or name not in v2_2_1.SPEC.models:
            continue
        assert model is not v2_2_1.SPEC.models[name], name
    assert set(v2_2_1.SPEC.models) <= set(ocpi.SPEC.models)


def test_the_shared_classes_do_not_reach_a_2_2_1_only_type() -> None:
    """A shared class must not contain a class that 2.3.0 redefines (e.g. a 2.2.1 Price or Token)."""
    redefined = {v2_2_1.SPEC.models[n] for n in v2_2_1.SPEC.models if n not in SHARED}

    def types_in(tp: Any) -> list[Any]:
        args = typing.get_args(tp)
        return [t for a in args for t in types_in(a)] if args else [tp]

    for name in SHARED:
        for field in msgspec.structs.fields(getattr(ocpi, name)):
            for tp in types_in(field.type):
                assert tp not in redefined, (name, field.name, tp)


# --- the version table -------------------------------------------------------------------------------


def test_spec_describes_2_3_0() -> None:
    spec = ocpi.SPEC
    assert spec.number == "2.3.0"
    assert spec.token_base64 and spec.routing_headers and spec.endpoint_roles
    assert set(spec.modules) == {m.value for m in ocpi.ModuleID}
    for name, model in spec.models.items():
        assert model.__name__ == name and issubclass(model, msgspec.Struct)


def test_core_modules_have_the_2_2_1_endpoints_with_2_3_0_models() -> None:
    for module_id, old in v2_2_1.SPEC.modules.items():
        new = ocpi.SPEC.modules[module_id]
        assert new.configuration == old.configuration
        for role in InterfaceRole:
            assert [(e.name, e.method, e.path, e.query) for e in new.endpoints(role)] == [
                (e.name, e.method, e.path, e.query) for e in old.endpoints(role)
            ]
    (put_location,) = [
        e
        for e in ocpi.SPEC.modules["locations"].endpoints(InterfaceRole.RECEIVER)
        if e.name == "put_location"
    ]
    assert put_location.request is ocpi.Location
    (authorize,) = [
        e for e in ocpi.SPEC.modules["tokens"].endpoints(InterfaceRole.SENDER) if e.name == "authorize"
    ]
    assert authorize.response is ocpi.AuthorizationInfo


def test_payments_endpoints() -> None:
    payments = ocpi.SPEC.modules["payments"]
    ptp = {e.name: e for e in payments.endpoints(InterfaceRole.SENDER)}
    cpo = {e.name: e for e in payments.endpoints(InterfaceRole.RECEIVER)}
    assert (ptp["list_terminals"].path, ptp["list_terminals"].paginated) == ("terminals", True)
    assert (ptp["activate_terminal"].method, ptp["activate_terminal"].path) == ("POST", "terminals/activate")
    assert ptp["activate_terminal"].request is ocpi.TerminalActivation
    assert ptp["deactivate_terminal"].path == "terminals/{terminal_id}/deactivate"
    assert ptp["patch_terminal"].request is ocpi.TerminalPatch
    assert ptp["list_financial_advice_confirmations"].response == list[ocpi.FinancialAdviceConfirmation]
    assert (cpo["post_terminal"].path, cpo["post_terminal"].request) == ("terminals", ocpi.TerminalCreation)
    assert cpo["post_financial_advice_confirmation"].request is ocpi.FinancialAdviceConfirmation
    assert cpo["get_financial_advice_confirmation"].path == (
        "financial-advice-confirmations/{financial_advice_confirmation_id}"
    )
