"""Behaviour of the OCPI 2.1.1 wire models, enums and version table that the examples do not cover.

Expected values come from the 2.1.1 spec (release-2.1.1-bugfixes), written out by hand here.
"""

from __future__ import annotations

import json
from decimal import Decimal
from enum import StrEnum
from typing import Any, get_args, get_origin

import msgspec
import pytest

from evroam.core.codec import decode, encode
from evroam.core.errors import ValidationFailed
from evroam.core.types import CiString, DateTime
from evroam.ocpi import v2_1_1 as m
from evroam.ocpi.base import WireModel
from evroam.ocpi.table import InterfaceRole

SENDER = InterfaceRole.SENDER
RECEIVER = InterfaceRole.RECEIVER


def js(value: Any) -> bytes:
    return json.dumps(value).encode()


def violations(data: Any, model: Any) -> list[str]:
    with pytest.raises(ValidationFailed) as caught:
        decode(js(data), model)
    assert caught.value.ocpi_status == 2001
    return sorted(caught.value.paths)


CONNECTOR = {
    "id": "1",
    "standard": "IEC_62196_T2",
    "format": "SOCKET",
    "power_type": "AC_3_PHASE",
    "voltage": 230,
    "amperage": 16,
    "last_updated": "2015-06-29T20:39:09Z",
}
EVSE = {
    "uid": "3256",
    "status": "AVAILABLE",
    "connectors": [CONNECTOR],
    "last_updated": "2015-06-29T20:39:09Z",
}
LOCATION = {
    "id": "LOC1",
    "type": "ON_STREET",
    "address": "F.Rooseveltlaan 3A",
    "city": "Gent",
    "postal_code": "9000",
    "country": "BEL",
    "coordinates": {"latitude": "51.047599", "longitude": "3.729944"},
    "last_updated": "2015-06-29T20:39:09Z",
}
TOKEN = {
    "uid": "012345678",
    "type": "RFID",
    "auth_id": "DE8ACC12E46L89",
    "issuer": "TheNewMotion",
    "valid": True,
    "whitelist": "ALLOWED",
    "last_updated": "2015-06-29T22:39:09Z",
}


# --- enums: the value sets of the 2.1.1 spec -------------------------------------------------------

ENUM_VALUES: list[tuple[type[StrEnum], set[str]]] = [
    (m.VersionNumber, {"2.0", "2.1", "2.1.1"}),
    (m.ModuleID, {"cdrs", "commands", "credentials", "locations", "sessions", "tariffs", "tokens"}),
    (
        m.LocationType,
        {"ON_STREET", "PARKING_GARAGE", "UNDERGROUND_GARAGE", "PARKING_LOT", "OTHER", "UNKNOWN"},
    ),
    (
        m.Status,
        {
            "AVAILABLE",
            "BLOCKED",
            "CHARGING",
            "INOPERATIVE",
            "OUTOFORDER",
            "PLANNED",
            "REMOVED",
            "RESERVED",
            "UNKNOWN",
        },
    ),
    (
        m.Capability,
        {
            "CHARGING_PROFILE_CAPABLE",
            "CREDIT_CARD_PAYABLE",
            "REMOTE_START_STOP_CAPABLE",
            "RESERVABLE",
            "RFID_READER",
            "UNLOCK_CAPABLE",
        },
    ),
    (m.ConnectorFormat, {"SOCKET", "CABLE"}),
    (
        m.ConnectorType,
        {"CHADEMO"}
        | {f"DOMESTIC_{c}" for c in "ABCDEFGHIJKL"}
        | {"IEC_60309_2_single_16", "IEC_60309_2_three_16", "IEC_60309_2_three_32", "IEC_60309_2_three_64"}
        | {"IEC_62196_T1", "IEC_62196_T1_COMBO", "IEC_62196_T2", "IEC_62196_T2_COMBO"}
        | {"IEC_62196_T3A", "IEC_62196_T3C", "TESLA_R", "TESLA_S"},
    ),
    (m.PowerType, {"AC_1_PHASE", "AC_3_PHASE", "DC"}),
    (
        m.Facility,
        {
            "HOTEL",
            "RESTAURANT",
            "CAFE",
            "MALL",
            "SUPERMARKET",
            "SPORT",
            "RECREATION_AREA",
            "NATURE",
            "MUSEUM",
            "BUS_STOP",
            "TAXI_STAND",
            "TRAIN_STATION",
            "AIRPORT",
            "CARPOOL_PARKING",
            "FUEL_STATION",
            "WIFI",
        },
    ),
    (m.ImageCategory, {"CHARGER", "ENTRANCE", "LOCATION", "NETWORK", "OPERATOR", "OTHER", "OWNER"}),
    (m.ParkingRestriction, {"EV_ONLY", "PLUGGED", "DISABLED", "CUSTOMERS", "MOTORCYCLES"}),
    (
        m.EnergySourceCategory,
        {"NUCLEAR", "GENERAL_FOSSIL", "COAL", "GAS", "GENERAL_GREEN", "SOLAR", "WIND", "WATER"},
    ),
    (m.EnvironmentalImpactCategory, {"NUCLEAR_WASTE", "CARBON_DIOXIDE"}),
    (m.SessionStatus, {"ACTIVE", "COMPLETED", "INVALID", "PENDING"}),
    (m.AuthMethod, {"AUTH_REQUEST", "WHITELIST"}),
    (m.CdrDimensionType, {"ENERGY", "FLAT", "MAX_CURRENT", "MIN_CURRENT", "PARKING_TIME", "TIME"}),
    (m.TariffDimensionType, {"ENERGY", "FLAT", "PARKING_TIME", "TIME"}),
    (m.DayOfWeek, {"MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"}),
    (m.TokenType, {"OTHER", "RFID"}),
    (m.WhitelistType, {"ALWAYS", "ALLOWED", "ALLOWED_OFFLINE", "NEVER"}),
    (m.Allowed, {"ALLOWED", "BLOCKED", "EXPIRED", "NO_CREDIT", "NOT_ALLOWED"}),
    (m.CommandType, {"RESERVE_NOW", "START_SESSION", "STOP_SESSION", "UNLOCK_CONNECTOR"}),
    (
        m.CommandResponseType,
        {"NOT_SUPPORTED", "REJECTED", "ACCEPTED", "TIMEOUT", "UNKNOWN_SESSION"},
    ),
]


@pytest.mark.parametrize(("enum", "values"), ENUM_VALUES, ids=[e.__name__ for e, _ in ENUM_VALUES])
def test_enum_has_exactly_the_spec_values(enum: type[StrEnum], values: set[str]) -> None:
    assert {member.value for member in enum} == values


def test_every_exported_enum_is_checked() -> None:
    exported = [getattr(m, name) for name in m.__all__]
    enums = {obj for obj in exported if isinstance(obj, type) and issubclass(obj, StrEnum)}
    assert enums == {enum for enum, _ in ENUM_VALUES}
    assert m.AllowedType is m.Allowed  # the 2.2+ name, for code shared across versions


def test_closed_enums_reject_unknown_values() -> None:
    assert violations({**TOKEN, "type": "APP_USER"}, m.Token) == ["$.type"]  # added in 2.2
    assert violations({"result": "CANCELED_RESERVATION"}, m.CommandResponse) == ["$.result"]


# --- the package and its table ------------------------------------------------------------------


def _wire_classes() -> set[type]:
    return {
        obj
        for obj in (getattr(m, name) for name in m.__all__)
        if isinstance(obj, type) and issubclass(obj, msgspec.Struct)
    }


def test_every_exported_struct_is_a_wire_model_listed_in_the_table() -> None:
    classes = _wire_classes()
    assert all(issubclass(cls, WireModel) for cls in classes)
    assert m.SPEC.models == {cls.__name__: cls for cls in classes}
    assert len(classes) == 41


def test_version_table_flags_and_modules() -> None:
    spec = m.SPEC
    assert spec.number == "2.1.1"
    assert spec.token_base64 is False
    assert spec.routing_headers is False
    assert spec.endpoint_roles is False
    assert set(spec.modules) == {
        "credentials",
        "locations",
        "sessions",
        "cdrs",
        "tariffs",
        "tokens",
        "commands",
    }
    assert {mod for mod, spec_ in spec.modules.items() if spec_.configuration} == {"credentials"}


def _endpoint(module: str, role: InterfaceRole, name: str) -> Any:
    matches = [e for e in m.SPEC.modules[module].endpoints(role) if e.name == name]
    assert len(matches) == 1, (module, role, name)
    return matches[0]


def test_2_1_1_specific_endpoints() -> None:
    patch = _endpoint("tariffs", RECEIVER, "patch")
    assert (patch.method, patch.path, patch.request) == (
        "PATCH",
        "{country_code}/{party_id}/{tariff_id}",
        m.TariffPatch,
    )
    callback = _endpoint("commands", SENDER, "command_result")
    assert (callback.method, callback.request) == ("POST", m.CommandResponse)
    commands = {e.path: e.request for e in m.SPEC.modules["commands"].endpoints(RECEIVER)}
    assert commands == {
        "RESERVE_NOW": m.ReserveNow,
        "START_SESSION": m.StartSession,
        "STOP_SESSION": m.StopSession,
        "UNLOCK_CONNECTOR": m.UnlockConnector,
    }
    assert all(e.response is m.CommandResponse for e in m.SPEC.modules["commands"].endpoints(RECEIVER))
    # 2.1.1 Tokens Receiver has no ?type= parameter; the authorize call on the Sender has one.
    assert all(e.query == () for e in m.SPEC.modules["tokens"].endpoints(RECEIVER))
    assert _endpoint("tokens", SENDER, "authorize").query == ("type",)


def test_every_list_endpoint_is_paginated_on_the_sender_interface() -> None:
    lists = {
        module: e.response
        for module, spec in m.SPEC.modules.items()
        for e in spec.endpoints(SENDER)
        if e.paginated
    }
    assert lists == {
        "locations": list[m.Location],
        "sessions": list[m.Session],
        "cdrs": list[m.CDR],
        "tariffs": list[m.Tariff],
        "tokens": list[m.Token],
    }
    for module in lists:
        assert _endpoint(module, SENDER, "list").query == ("date_from", "date_to", "offset", "limit")


def _models_in(tp: Any) -> list[Any]:
    if tp is None or tp is type(None):
        return []
    if get_origin(tp) is not None:
        return [inner for arg in get_args(tp) for inner in _models_in(arg)]
    return [tp]


def test_every_endpoint_model_belongs_to_this_version() -> None:
    known = set(m.SPEC.models.values())
    for spec in m.SPEC.modules.values():
        for role in (SENDER, RECEIVER):
            for e in spec.endpoints(role):
                for model in _models_in(e.request) + _models_in(e.response):
                    assert model in known, (spec.id, e.name, model)


# --- PATCH bodies ---------------------------------------------------------------------------------

PATCHES = [
    (m.LocationPatch, m.Location),
    (m.EVSEPatch, m.EVSE),
    (m.ConnectorPatch, m.Connector),
    (m.SessionPatch, m.Session),
    (m.TokenPatch, m.Token),
    (m.TariffPatch, m.Tariff),
]


@pytest.mark.parametrize(("patch", "whole"), PATCHES, ids=[p.__name__ for p, _ in PATCHES])
def test_patch_struct_mirrors_its_object_with_every_field_optional(patch: Any, whole: Any) -> None:
    patch_fields = msgspec.structs.fields(patch)
    assert [f.encode_name for f in patch_fields] == [f.encode_name for f in msgspec.structs.fields(whole)]
    assert not any(f.required for f in patch_fields)
    # In 2.1.1 a PATCH need not carry last_updated, so an empty body is a valid (no-op) PATCH.
    assert encode(decode(b"{}", patch)) == b"{}"


def test_patch_still_validates_what_it_carries() -> None:
    assert violations({"status": "BROKEN"}, m.EVSEPatch) == ["$.status"]
    assert violations({"connectors": []}, m.EVSEPatch) == ["$.connectors"]
    assert violations({"elements": [{"price_components": []}]}, m.TariffPatch) == [
        "$.elements[0].price_components"
    ]
    patch = decode(js({"valid": False, "last_updated": "2015-06-29T22:39:09"}), m.TokenPatch)
    assert patch.valid is False
    assert patch.last_updated == DateTime.parse("2015-06-29T22:39:09Z")
    assert patch.uid is None


# --- types, cardinalities and formats -------------------------------------------------------------


def test_required_fields_are_reported_together() -> None:
    data = {k: v for k, v in LOCATION.items() if k not in ("type", "postal_code")}
    assert violations(data, m.Location) == ["$.postal_code", "$.type"]


def test_ids_are_case_sensitive_strings_except_the_cdr_id() -> None:
    token = decode(js(TOKEN), m.Token)
    assert type(token.uid) is str
    loc = decode(js({**LOCATION, "id": "Loc1"}), m.Location)
    assert loc.id != "LOC1"  # string(39): case matters in 2.1.1
    cdr_id = msgspec.structs.fields(m.CDR)[0]
    assert cdr_id.name == "id"
    assert issubclass(cdr_id.type, CiString)  # CiString(36) in 2.1.1
    assert cdr_id.type.parse("Abc-1") == "aBC-1"


def test_string_lengths_follow_the_2_1_1_tables() -> None:
    assert violations({**LOCATION, "id": "x" * 40}, m.Location) == ["$.id"]
    decode(js({**LOCATION, "id": "x" * 39}), m.Location)
    assert violations({**EVSE, "evse_id": "E" * 49}, m.EVSE) == ["$.evse_id"]
    decode(js({**EVSE, "evse_id": "E" * 48}), m.EVSE)
    assert violations({**TOKEN, "uid": "u" * 37}, m.Token) == ["$.uid"]
    assert violations({**LOCATION, "postal_code": "12345678901"}, m.Location) == ["$.postal_code"]


@pytest.mark.parametrize(
    ("latitude", "longitude", "ok"),
    [
        ("51.047599", "3.729944", True),
        ("-51.047599", "-126.104965", True),
        ("51.04759", "3.729944", False),  # five decimals: fine in 2.2+, not in 2.1.1
        ("51.0475991", "3.729944", False),
        ("51.047599", "3.72994", False),
        ("151.047599", "3.729944", False),
        ("51,047599", "3.729944", False),
        (" 51.047599", "3.729944", False),
    ],
)
def test_coordinates_are_strings_with_exactly_six_decimals(latitude: str, longitude: str, ok: bool) -> None:
    data = {"latitude": latitude, "longitude": longitude}
    if ok:
        assert decode(js(data), m.GeoLocation).latitude == latitude
    else:
        assert violations(data, m.GeoLocation)


def test_coordinates_as_numbers_are_rejected() -> None:
    assert violations({"latitude": 51.047599, "longitude": "3.729944"}, m.GeoLocation) == ["$.latitude"]


def test_hours_is_a_choice_of_regular_hours_or_twentyfourseven() -> None:
    assert decode(b'{"twentyfourseven": true}', m.Hours).twentyfourseven is True
    regular = decode(
        js({"regular_hours": [{"weekday": 7, "period_begin": "00:00", "period_end": "23:59"}]}), m.Hours
    )
    assert regular.regular_hours is not None
    assert regular.regular_hours[0].weekday == 7
    only_exceptions = {
        "exceptional_closings": [
            {"period_begin": "2014-06-24T00:00:00Z", "period_end": "2014-06-25T00:00:00Z"}
        ]
    }
    assert violations(only_exceptions, m.Hours) == ["$"]
    assert violations({**LOCATION, "opening_times": {}}, m.Location) == ["$.opening_times"]


@pytest.mark.parametrize(
    ("weekday", "begin", "end", "bad"),
    [
        (0, "08:00", "20:00", ["$.weekday"]),
        (8, "08:00", "20:00", ["$.weekday"]),
        (1, "8:00", "20:00", ["$.period_begin"]),
        (1, "08:00", "24:00", ["$.period_end"]),
        (1, "08:60", "20:00", ["$.period_begin"]),
    ],
)
def test_regular_hours_format(weekday: int, begin: str, end: str, bad: list[str]) -> None:
    assert violations({"weekday": weekday, "period_begin": begin, "period_end": end}, m.RegularHours) == bad


def test_tariff_restriction_formats() -> None:
    ok = {"start_time": "13:30", "end_time": "19:45", "start_date": "2015-12-24", "end_date": "2015-12-27"}
    restrictions = decode(js(ok), m.TariffRestrictions)
    assert (restrictions.start_time, restrictions.end_date) == ("13:30", "2015-12-27")
    assert violations({"start_date": "24-12-2015"}, m.TariffRestrictions) == ["$.start_date"]
    assert violations({"end_time": "7:45"}, m.TariffRestrictions) == ["$.end_time"]
    assert violations({"day_of_week": ["MON"]}, m.TariffRestrictions) == ["$.day_of_week[0]"]
    assert violations({"type": "TIME", "price": 1, "step_size": -1}, m.PriceComponent) == ["$.step_size"]


@pytest.mark.parametrize("percentage", [-1, 100.5])
def test_energy_source_percentage_is_between_0_and_100(percentage: Any) -> None:
    assert violations({"source": "SOLAR", "percentage": percentage}, m.EnergySource) == ["$"]


@pytest.mark.parametrize("percentage", ["NaN", "Infinity", "-inf", "sNaN", "twelve", True])
def test_numbers_must_be_finite_numbers(percentage: Any) -> None:
    assert violations({"source": "SOLAR", "percentage": percentage}, m.EnergySource) == ["$.percentage"]


def test_environmental_impact_uses_the_2_1_1_field_name_source() -> None:
    impact = decode(b'{"source": "CARBON_DIOXIDE", "amount": 372}', m.EnvironmentalImpact)
    assert impact.source is m.EnvironmentalImpactCategory.CARBON_DIOXIDE
    assert violations({"category": "CARBON_DIOXIDE", "amount": 372}, m.EnvironmentalImpact) == ["$.source"]


def test_money_and_quantities_are_exact_decimals() -> None:
    session = decode(
        js(
            {
                "id": "101",
                "start_datetime": "2015-06-29T22:39:09",
                "kwh": 0.1,
                "auth_id": "DE8ACC12E46L89",
                "auth_method": "WHITELIST",
                "location": LOCATION,
                "currency": "EUR",
                "total_cost": 0.2,
                "status": "ACTIVE",
                "last_updated": "2015-06-29T22:39:09",
            }
        ),
        m.Session,
    )
    assert isinstance(session.kwh, Decimal)
    assert session.total_cost is not None
    assert session.kwh + session.total_cost == Decimal("0.3")
    assert b'"kwh":0.1,' in encode(session)


def test_datetimes_without_zone_are_utc_and_go_out_with_z() -> None:
    token = decode(js({**TOKEN, "last_updated": "2015-06-29T22:39:09"}), m.Token)
    assert token.last_updated == DateTime.parse("2015-06-29T22:39:09Z")
    assert b'"last_updated":"2015-06-29T22:39:09Z"' in encode(token)
    shifted = decode(js({**TOKEN, "last_updated": "2015-06-30T00:39:09+02:00"}), m.Token)
    assert shifted.last_updated == token.last_updated


def test_optional_fields_are_omitted_but_explicit_empty_lists_survive() -> None:
    evse = decode(js({**EVSE, "status_schedule": [], "evse_id": None}), m.EVSE)
    out = json.loads(encode(evse))
    assert out["status_schedule"] == []
    assert "evse_id" not in out
    assert "capabilities" not in out


def test_unknown_fields_are_ignored() -> None:
    token = decode(js({**TOKEN, "group_id": "G1", "x_vendor": {"a": 1}}), m.Token)
    assert "group_id" not in json.loads(encode(token))


def test_connector_uses_voltage_amperage_and_a_single_tariff_id() -> None:
    connector = decode(js({**CONNECTOR, "tariff_id": "11"}), m.Connector)
    assert (connector.voltage, connector.amperage, connector.tariff_id) == (230, 16, "11")
    without = {k: v for k, v in CONNECTOR.items() if k != "voltage"}
    assert violations({**without, "max_voltage": 230}, m.Connector) == ["$.voltage"]


def test_evse_needs_at_least_one_connector() -> None:
    assert violations({**EVSE, "connectors": []}, m.EVSE) == ["$.connectors"]


def test_cdr_accepts_the_2_1_1_flat_dimension() -> None:
    period = decode(
        js({"start_date_time": "2015-06-29T21:39:09Z", "dimensions": [{"type": "FLAT", "volume": 1}]}),
        m.ChargingPeriod,
    )
    assert period.dimensions[0].type is m.CdrDimensionType.FLAT
    assert violations({"start_date_time": "2015-06-29T21:39:09Z", "dimensions": []}, m.ChargingPeriod) == [
        "$.dimensions"
    ]


# --- versions, credentials, tokens and commands -------------------------------------------------


def test_version_list_tolerates_versions_and_modules_it_does_not_know() -> None:
    versions = decode(
        js([{"version": "2.2.1", "url": "https://x/2.2.1"}, {"version": "2.1.1", "url": "https://x/2.1.1"}]),
        list[m.Version],
    )
    assert [v.version for v in versions] == ["2.2.1", "2.1.1"]
    assert versions[1].version == m.VersionNumber.V2_1_1
    details = decode(
        js(
            {
                "version": "2.1.1",
                "endpoints": [
                    {"identifier": "locations", "url": "https://x/locations"},
                    {"identifier": "nltnm-tokens", "url": "https://x/custom"},
                ],
            }
        ),
        m.VersionDetails,
    )
    assert [e.module for e in details.endpoints] == [m.ModuleID.LOCATIONS, None]
    assert violations(
        {"version": "2.2.1", "endpoints": [{"identifier": "tokens", "url": "u"}]}, m.VersionDetails
    ) == ["$.version"]
    assert violations({"version": "2.1.1", "endpoints": []}, m.VersionDetails) == ["$.endpoints"]


def test_credentials_carry_one_party_and_its_business_details() -> None:
    data = {
        "token": "t" * 64,
        "url": "https://x/versions",
        "business_details": {"name": "X"},
        "party_id": "EXA",
        "country_code": "NL",
    }
    creds = decode(js(data), m.Credentials)
    assert (creds.party_id, creds.country_code, creds.business_details.name) == ("EXA", "NL", "X")
    assert violations({**data, "token": "t" * 65, "party_id": "EXAM"}, m.Credentials) == [
        "$.party_id",
        "$.token",
    ]
    assert violations({k: v for k, v in data.items() if k != "business_details"}, m.Credentials) == [
        "$.business_details"
    ]


def test_authorization_info_and_location_references() -> None:
    info = decode(
        js(
            {
                "allowed": "NO_CREDIT",
                "location": {"location_id": "LOC1", "evse_uids": ["3256"], "connector_ids": ["1", "2"]},
            }
        ),
        m.AuthorizationInfo,
    )
    assert info.allowed is m.Allowed.NO_CREDIT
    assert info.location is not None
    assert info.location.connector_ids == ["1", "2"]
    assert violations({"location": {"evse_uids": []}}, m.AuthorizationInfo) == [
        "$.allowed",
        "$.location.location_id",
    ]


def test_command_bodies() -> None:
    reserve = decode(
        js(
            {
                "response_url": "https://emsp/commands/RESERVE_NOW/1",
                "token": TOKEN,
                "expiry_date": "2015-06-29T23:39:09Z",
                "reservation_id": 42,
                "location_id": "LOC1",
            }
        ),
        m.ReserveNow,
    )
    assert reserve.reservation_id == 42
    assert reserve.token.auth_id == "DE8ACC12E46L89"
    assert violations(
        {
            "response_url": "u",
            "token": TOKEN,
            "expiry_date": "2015-06-29T23:39:09Z",
            "reservation_id": "42",
            "location_id": "L",
        },
        m.ReserveNow,
    ) == ["$.reservation_id"]
    assert violations({"response_url": "u", "location_id": "L", "evse_uid": "E"}, m.UnlockConnector) == [
        "$.connector_id"
    ]
    assert decode(b'{"result": "TIMEOUT"}', m.CommandResponse).result is m.CommandResponseType.TIMEOUT
    assert decode(js({"response_url": "u", "session_id": "101"}), m.StopSession).session_id == "101"
    start = decode(
        js({"response_url": "u", "token": TOKEN, "location_id": "LOC1", "evse_uid": "3256"}), m.StartSession
    )
    assert start.evse_uid == "3256"
