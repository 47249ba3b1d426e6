"""OCPI 2.2.1 wire models: lengths, cardinalities, PATCH bodies, CiStrings, enums, rules, table."""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec
import pytest

from evroam.core.codec import decode, encode
from evroam.core.errors import ValidationFailed
from evroam.ocpi import v2_2_1 as ocpi
from evroam.ocpi.table import InterfaceRole
from tests.support.examples import named_paths

CONNECTOR: dict[str, Any] = {
    "id": "1",
    "standard": "IEC_62196_T2",
    "format": "SOCKET",
    "power_type": "AC_3_PHASE",
    "max_voltage": 230,
    "max_amperage": 16,
    "last_updated": "2019-06-24T12:39:09Z",
}
EVSE: dict[str, Any] = {
    "uid": "3256",
    "status": "AVAILABLE",
    "connectors": [CONNECTOR],
    "last_updated": "2019-06-24T12:39:09Z",
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
    "time_zone": "Europe/Brussels",
    "last_updated": "2019-06-24T12:39:09Z",
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
    "last_updated": "2018-12-10T17:16:15Z",
}
CDR_TOKEN = {"country_code": "DE", "party_id": "TNM", "uid": "012345678", "type": "RFID", "contract_id": "C1"}
CDR: dict[str, Any] = {
    "country_code": "BE",
    "party_id": "BEC",
    "id": "12345",
    "start_date_time": "2015-06-29T21:39:09Z",
    "end_date_time": "2015-06-29T23:37:32Z",
    "cdr_token": CDR_TOKEN,
    "auth_method": "WHITELIST",
    "cdr_location": {
        "id": "LOC1",
        "address": "F.Rooseveltlaan 3A",
        "city": "Gent",
        "country": "BEL",
        "coordinates": {"latitude": "51.047599", "longitude": "3.729944"},
        "evse_uid": "3256",
        "evse_id": "BE*BEC*E041503003",
        "connector_id": "1",
        "connector_standard": "IEC_62196_T1",
        "connector_format": "SOCKET",
        "connector_power_type": "AC_1_PHASE",
    },
    "currency": "EUR",
    "charging_periods": [
        {"start_date_time": "2015-06-29T21:39:09Z", "dimensions": [{"type": "TIME", "volume": 1.973}]}
    ],
    "total_cost": {"excl_vat": 4.00, "incl_vat": 4.40},
    "total_energy": 15.342,
    "total_time": 1.973,
    "last_updated": "2015-06-29T22:01:13Z",
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


# --- valid documents decode --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "model"),
    [
        (CONNECTOR, ocpi.Connector),
        (EVSE, ocpi.EVSE),
        (LOCATION, ocpi.Location),
        (TOKEN, ocpi.Token),
        (CDR, ocpi.CDR),
    ],
)
def test_the_base_documents_of_this_file_are_valid(doc: dict[str, Any], model: Any) -> None:
    assert isinstance(decode(body(doc), model), model)


# --- lengths and formats ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "doc", "field", "ok", "too_long"),
    [
        (ocpi.Location, LOCATION, "id", "x" * 36, "x" * 37),
        (ocpi.Location, LOCATION, "party_id", "ABC", "ABCD"),
        (ocpi.Location, LOCATION, "country_code", "BE", "BEL"),
        (ocpi.Location, LOCATION, "address", "a" * 255, "a" * 256),  # 255 since the 2.2.1-d2 fix
        (ocpi.Location, LOCATION, "state", "s" * 45, "s" * 46),
        (ocpi.Location, LOCATION, "city", "c" * 45, "c" * 46),
        (ocpi.Location, LOCATION, "postal_code", "p" * 10, "p" * 11),
        (ocpi.Location, LOCATION, "country", "BEL", "BELG"),
        (ocpi.EVSE, EVSE, "evse_id", "E" * 48, "E" * 49),
        (ocpi.EVSE, EVSE, "floor_level", "-1", "12345"),
        (ocpi.EVSE, EVSE, "physical_reference", "r" * 16, "r" * 17),
        (ocpi.CDR, CDR, "id", "c" * 39, "c" * 40),  # 39 to leave room for a credit suffix
        (ocpi.Token, TOKEN, "issuer", "i" * 64, "i" * 65),
        (ocpi.Token, TOKEN, "language", "nl", "nld"),
    ],
)
def test_string_lengths(model: Any, doc: dict[str, Any], field: str, ok: str, too_long: str) -> None:
    assert getattr(decode(body(doc, **{field: ok}), model), field) == ok
    assert rejected_paths(body(doc, **{field: too_long}), model) == {f"$.{field}"}


def test_display_text_is_limited_to_512_characters() -> None:
    assert decode(b'{"language": "en", "text": "' + b"t" * 512 + b'"}', ocpi.DisplayText).text == "t" * 512
    assert rejected_paths(b'{"language": "en", "text": "' + b"t" * 513 + b'"}', ocpi.DisplayText) == {
        "$.text"
    }


@pytest.mark.parametrize(
    ("latitude", "longitude", "valid"),
    [
        ("51.047599", "3.729944", True),
        (
            "-51.04759",
            "-126.1049651",
            True,
        ),  # 5 and 7 decimals (12 characters: the regex wins over string(11))
        ("-51.0475999", "3.72994", True),
        ("51.0475", "3.729944", False),  # 4 decimals
        ("51.04759912", "3.729944", False),  # 8 decimals
        ("151.047599", "3.729944", False),  # three integer digits in a latitude
        ("51,047599", "3.729944", False),
        ("51.047599", "x3.729944", False),  # the pattern is anchored
        ("51.047599", "3.729944 ", False),
    ],
)
def test_coordinates_follow_the_spec_regex(latitude: str, longitude: str, valid: bool) -> None:
    data = json.dumps({"latitude": latitude, "longitude": longitude}).encode()
    if valid:
        assert decode(data, ocpi.GeoLocation).latitude == latitude
    else:
        assert rejected_paths(data, ocpi.GeoLocation) & {"$.latitude", "$.longitude"}


@pytest.mark.parametrize("value", ["24:00", "7:00", "07:60", "07.00", "07:00:00"])
def test_local_times_are_hh_mm(value: str) -> None:
    data = json.dumps({"weekday": 1, "period_begin": value, "period_end": "20:00"}).encode()
    assert rejected_paths(data, ocpi.RegularHours) == {"$.period_begin"}


def test_weekday_is_one_to_seven_and_restriction_dates_are_iso() -> None:
    ok = decode(b'{"weekday": 7, "period_begin": "00:00", "period_end": "23:59"}', ocpi.RegularHours)
    assert ok.weekday == 7
    assert rejected_paths(
        b'{"weekday": 0, "period_begin": "00:00", "period_end": "23:59"}', ocpi.RegularHours
    ) == {"$.weekday"}
    assert decode(b'{"start_date": "2024-02-29"}', ocpi.TariffRestrictions).start_date == "2024-02-29"
    assert rejected_paths(b'{"start_date": "2024-2-29"}', ocpi.TariffRestrictions) == {"$.start_date"}


def test_image_type_and_size() -> None:
    image = {"url": "https://x.example/a.png", "category": "CHARGER", "type": "png", "width": 99999}
    assert decode(body(image), ocpi.Image).width == 99999
    assert rejected_paths(body(image, width=100000), ocpi.Image) == {"$.width"}
    assert rejected_paths(body(image, type="image"), ocpi.Image) == {"$.type"}


def test_non_ascii_is_refused_in_a_cistring_but_allowed_in_a_string() -> None:
    assert decode(body(LOCATION, city="Liège"), ocpi.Location).city == "Liège"
    assert rejected_paths(body(LOCATION, id="Liège-1"), ocpi.Location) == {"$.id"}


# --- cardinalities -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "doc", "field"),
    [
        (ocpi.EVSE, EVSE, "connectors"),
        (ocpi.CDR, CDR, "charging_periods"),
        (ocpi.VersionDetails, {"version": "2.2.1", "endpoints": []}, "endpoints"),
        (ocpi.Credentials, {"token": "t", "url": "https://x.example/versions", "roles": []}, "roles"),
        (
            ocpi.Tariff,
            {
                "country_code": "DE",
                "party_id": "ALL",
                "id": "T1",
                "currency": "EUR",
                "last_updated": "2018-12-05T12:01:09Z",
            },
            "elements",
        ),
    ],
)
def test_one_or_more_lists_refuse_empty_and_missing(model: Any, doc: dict[str, Any], field: str) -> None:
    assert rejected_paths(body(doc, **{field: []}), model) == {f"$.{field}"}
    missing = {k: v for k, v in doc.items() if k != field}
    assert f"$.{field}" in rejected_paths(body(missing), model)


def test_zero_or_more_lists_keep_an_explicit_empty_list_and_omit_absent_ones() -> None:
    location = decode(body(LOCATION, evses=[], facilities=[]), ocpi.Location)
    assert location.evses == [] and location.facilities == [] and location.images is None
    out = json.loads(encode(location))
    assert out["evses"] == [] and out["facilities"] == []
    assert "images" not in out and "publish_allowed_to" not in out


@pytest.mark.parametrize(
    ("model", "doc", "field"),
    [
        (ocpi.Location, LOCATION, "time_zone"),  # required since 2.2
        (ocpi.Location, LOCATION, "publish"),
        (ocpi.Connector, CONNECTOR, "max_voltage"),
        (ocpi.Token, TOKEN, "contract_id"),
        (ocpi.CDR, CDR, "total_cost"),
        (ocpi.CdrToken, CDR_TOKEN, "party_id"),  # added in 2.2.1
    ],
)
def test_required_fields(model: Any, doc: dict[str, Any], field: str) -> None:
    missing = {k: v for k, v in doc.items() if k != field}
    assert rejected_paths(body(missing), model) == {f"$.{field}"}


def test_every_violation_of_a_payload_is_reported() -> None:
    bad = body(LOCATION, party_id="ABCD", coordinates={"latitude": "1", "longitude": "2"}, publish="yes")
    assert {"$.party_id", "$.coordinates.latitude", "$.coordinates.longitude", "$.publish"} <= rejected_paths(
        bad, ocpi.Location
    )


# --- PATCH bodies ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "change"),
    [
        (ocpi.LocationPatch, {"name": "New name"}),
        (ocpi.EVSEPatch, {"status": "CHARGING"}),
        (ocpi.ConnectorPatch, {"tariff_ids": ["T1"]}),
        (ocpi.SessionPatch, {"kwh": 15}),
        (ocpi.TokenPatch, {"valid": False}),
    ],
)
def test_patch_bodies_need_last_updated_and_nothing_else(model: type[Any], change: dict[str, Any]) -> None:
    assert rejected_paths(body(change), model) == {"$.last_updated"}
    patch = decode(body(change, last_updated="2019-06-24T12:39:09Z"), model)
    (field,) = change
    assert getattr(patch, field) is not None
    others = [f for f in msgspec.structs.fields(model) if f.name not in (field, "last_updated")]
    assert others and all(getattr(patch, f.name) is None for f in others)
    assert json.loads(encode(patch)).keys() == {field, "last_updated"}


def test_patch_fields_keep_their_constraints() -> None:
    assert rejected_paths(
        b'{"status": "BROKEN", "last_updated": "2019-06-24T12:39:09Z"}', ocpi.EVSEPatch
    ) == {"$.status"}


# --- CiString, DateTime, Decimal -----------------------------------------------------------------------


def test_cistring_fields_compare_case_insensitively_and_keep_their_spelling() -> None:
    location = decode(body(LOCATION, party_id="BeC", id="Loc-Abc"), ocpi.Location)
    assert location.party_id == "BEC" and location.id == "loc-abc"
    out = json.loads(encode(location))
    assert out["party_id"] == "BeC" and out["id"] == "Loc-Abc"


def test_timestamps_go_out_in_utc_with_z() -> None:
    token = decode(body(TOKEN, last_updated="2018-12-10T19:16:15+02:00"), ocpi.Token)
    assert json.loads(encode(token))["last_updated"] == "2018-12-10T17:16:15Z"
    token = decode(body(TOKEN, last_updated="2018-12-10T17:16:15.250"), ocpi.Token)
    assert json.loads(encode(token))["last_updated"] == "2018-12-10T17:16:15.25Z"


def test_money_is_decimal_and_stays_exact() -> None:
    cdr = decode(body(CDR, total_cost={"excl_vat": 0.1, "incl_vat": 0.121}), ocpi.CDR)
    assert str(cdr.total_cost.excl_vat) == "0.1" and str(cdr.total_cost.incl_vat) == "0.121"
    assert b'"total_cost":{"excl_vat":0.1,"incl_vat":0.121}' in encode(cdr)


# --- enums ------------------------------------------------------------------------------------------


def test_enums_are_closed_in_2_2_1() -> None:
    assert rejected_paths(body(CONNECTOR, standard="MCS"), ocpi.Connector) == {"$.standard"}
    assert rejected_paths(body(TOKEN, type="EMAID"), ocpi.Token) == {"$.type"}
    assert rejected_paths(body(EVSE, capabilities=["RFID_READER", "TELEPORT"]), ocpi.EVSE) == {
        "$.capabilities[1]"
    }


def test_enum_values_are_the_wire_spelling() -> None:
    assert ocpi.ConnectorType.IEC_60309_2_SINGLE_16 == "IEC_60309_2_single_16"
    assert ocpi.ChargingRateUnit.W == "W"
    assert ocpi.Role.HUB == "HUB"
    assert ocpi.VersionNumber.V2_2_1 == "2.2.1"
    assert decode(body(CONNECTOR, standard="IEC_60309_2_three_32"), ocpi.Connector).standard is (
        ocpi.ConnectorType.IEC_60309_2_THREE_32
    )


def test_unknown_fields_are_ignored() -> None:
    token = decode(body(TOKEN, x_custom_field={"a": 1}, another=[1, 2]), ocpi.Token)
    assert "x_custom_field" not in json.loads(encode(token))


# --- cross-field rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "valid"),
    [
        ({"uid": "123", "type": "RFID"}, True),
        ({"visual_number": "12345-67", "issuer": "NewMotion"}, True),
        ({"group_id": "G1"}, True),
        ({"uid": "123"}, False),  # uid needs type
        ({"visual_number": "12345-67"}, False),  # visual_number needs issuer
        ({"issuer": "NewMotion", "type": "RFID"}, False),  # none of uid / visual_number / group_id
    ],
)
def test_publish_token_rules(token: dict[str, Any], valid: bool) -> None:
    if valid:
        decode(body(token), ocpi.PublishTokenType)
    else:
        assert rejected_paths(body(token), ocpi.PublishTokenType) == {"$"}
        nested = body(LOCATION, publish=False, publish_allowed_to=[{"group_id": "G"}, token])
        assert rejected_paths(nested, ocpi.Location) == {"$.publish_allowed_to[1]"}


def test_hours_need_regular_hours_unless_always_open() -> None:
    assert decode(b'{"twentyfourseven": true}', ocpi.Hours).regular_hours is None
    assert rejected_paths(b'{"twentyfourseven": false}', ocpi.Hours) == {"$"}
    assert rejected_paths(b'{"twentyfourseven": false, "regular_hours": []}', ocpi.Hours) == {"$"}


def test_credit_cdr_needs_the_reference_of_the_credited_cdr() -> None:
    credit_cost = {"excl_vat": -4.00}
    assert rejected_paths(body(CDR, id="12345-C", credit=True, total_cost=credit_cost), ocpi.CDR) == {"$"}
    cdr = decode(
        body(CDR, id="12345-C", credit=True, credit_reference_id="12345", total_cost=credit_cost), ocpi.CDR
    )
    assert cdr.credit is True and cdr.total_cost.excl_vat < 0


def test_start_session_with_a_connector_needs_the_evse() -> None:
    start = {
        "response_url": "https://x.example/r/1",
        "token": TOKEN,
        "location_id": "LOC1",
        "connector_id": "1",
    }
    assert rejected_paths(body(start), ocpi.StartSession) == {"$"}
    assert decode(body(start, evse_uid="3256"), ocpi.StartSession).connector_id == "1"


# --- the version table -------------------------------------------------------------------------------


def test_spec_describes_2_2_1() -> None:
    spec = ocpi.SPEC
    assert spec.number == "2.2.1"
    assert spec.token_base64 and spec.routing_headers and spec.endpoint_roles
    assert set(spec.modules) == {m.value for m in ocpi.ModuleID}
    assert {m for m, s in spec.modules.items() if s.configuration} == {"credentials", "hubclientinfo"}


def _types_in(annotation: Any) -> list[Any]:
    if annotation is None:
        return []
    args = getattr(annotation, "__args__", None)
    if args:
        return [t for a in args for t in _types_in(a)]
    return [annotation]


def test_every_model_of_the_table_is_a_listed_wire_model() -> None:
    listed = set(ocpi.SPEC.models.values())
    for module in ocpi.SPEC.modules.values():
        for role in InterfaceRole:
            for endpoint in module.endpoints(role):
                for tp in _types_in(endpoint.request) + _types_in(endpoint.response):
                    if tp is type(None) or tp is ocpi.ChargingPreferencesResponse:
                        continue
                    assert tp in listed, f"{module.id} {endpoint.name}: {tp}"
    for name, model in ocpi.SPEC.models.items():
        assert model.__name__ == name and issubclass(model, msgspec.Struct)


def test_endpoint_names_are_unique_and_paths_well_formed() -> None:
    for module in ocpi.SPEC.modules.values():
        for role in InterfaceRole:
            names = [e.name for e in module.endpoints(role)]
            assert len(names) == len(set(names)), (module.id, role)
            for e in module.endpoints(role):
                assert e.method in {"GET", "POST", "PUT", "PATCH", "DELETE"}
                assert re.fullmatch(r"([A-Za-z_]+|\{[a-z_]+\})(/([A-Za-z_]+|\{[a-z_]+\}))*|", e.path), e.path


@pytest.mark.parametrize(
    ("module", "role", "name", "method", "path", "sent", "answered"),
    [
        ("locations", "RECEIVER", "patch_evse", "PATCH", "{country_code}/{party_id}/{location_id}/{evse_uid}",
         ocpi.EVSEPatch, None),
        ("locations", "SENDER", "list", "GET", "", None, list[ocpi.Location]),
        ("sessions", "SENDER", "set_charging_preferences", "PUT", "{session_id}/charging_preferences",
         ocpi.ChargingPreferences, ocpi.ChargingPreferencesResponse),
        ("tokens", "SENDER", "authorize", "POST", "{token_uid}/authorize",
         ocpi.LocationReferences | None, ocpi.AuthorizationInfo),
        ("tariffs", "RECEIVER", "delete", "DELETE", "{country_code}/{party_id}/{tariff_id}", None, None),
        ("commands", "RECEIVER", "start_session", "POST", "START_SESSION", ocpi.StartSession,
         ocpi.CommandResponse),
        ("commands", "SENDER", "command_result", "POST", "{response_url}", ocpi.CommandResult, None),
        ("chargingprofiles", "RECEIVER", "set_profile", "PUT", "{session_id}", ocpi.SetChargingProfile,
         ocpi.ChargingProfileResponse),
        ("hubclientinfo", "RECEIVER", "put", "PUT", "{country_code}/{party_id}", ocpi.ClientInfo, None),
        ("credentials", "SENDER", "register", "POST", "", ocpi.Credentials, ocpi.Credentials),
    ],
)  # fmt: skip
def test_selected_endpoints(
    module: str, role: str, name: str, method: str, path: str, sent: Any, answered: Any
) -> None:
    (endpoint,) = [e for e in ocpi.SPEC.modules[module].endpoints(InterfaceRole(role)) if e.name == name]
    assert (endpoint.method, endpoint.path, endpoint.request, endpoint.response) == (
        method,
        path,
        sent,
        answered,
    )


def test_list_endpoints_are_paginated_with_the_standard_query() -> None:
    for module in ocpi.SPEC.modules.values():
        for endpoint in module.endpoints(InterfaceRole.SENDER):
            if endpoint.name == "list":
                assert endpoint.paginated and endpoint.method == "GET"
                assert endpoint.query == ("date_from", "date_to", "offset", "limit")
    lists = [
        m.id
        for m in ocpi.SPEC.modules.values()
        for e in m.endpoints(InterfaceRole.SENDER)
        if e.name == "list"
    ]
    assert sorted(lists) == ["cdrs", "hubclientinfo", "locations", "sessions", "tariffs", "tokens"]
