"""Converters of the smaller objects: commands and their answers, authorization, charging profiles,
charging preferences, hub client info and payments. Wire JSON written by hand from the spec."""

from __future__ import annotations

import json
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

TOKEN_2_1_1 = {
    "uid": "012345678",
    "type": "RFID",
    "auth_id": "DE8ACC12E46L89",
    "issuer": "TheNewMotion",
    "valid": True,
    "whitelist": "ALLOWED",
    "last_updated": "2015-06-29T22:39:09Z",
}
TOKEN_2_2 = {
    "country_code": "DE",
    "party_id": "TNM",
    "uid": "012345678",
    "type": "RFID",
    "contract_id": "DE8ACC12E46L89",
    "issuer": "TheNewMotion",
    "valid": True,
    "whitelist": "ALLOWED",
    "last_updated": "2015-06-29T22:39:09Z",
}
URL = "https://emsp.example/ocpi/commands/START_SESSION/1234"


def wire(doc: dict[str, Any], tp: Any) -> Any:
    return decode(json.dumps(doc), tp)


def same(a: Any, b: Any) -> None:
    assert encode(a) == encode(b)


# (wire type, JSON, to_model, from_model) of every command object, per version
CASES_2_2 = [
    (
        "StartSession",
        {
            "response_url": URL,
            "token": TOKEN_2_2,
            "location_id": "LOC1",
            "evse_uid": "3256",
            "connector_id": "1",
            "authorization_reference": "AUTH-1",
        },
    ),
    ("StopSession", {"response_url": URL, "session_id": "S1"}),
    (
        "ReserveNow",
        {
            "response_url": URL,
            "token": TOKEN_2_2,
            "expiry_date": "2024-01-01T10:00:00Z",
            "reservation_id": "R-1",
            "location_id": "LOC1",
            "evse_uid": "3256",
            "authorization_reference": "AUTH-2",
        },
    ),
    ("CancelReservation", {"response_url": URL, "reservation_id": "R-1"}),
    (
        "UnlockConnector",
        {"response_url": URL, "location_id": "LOC1", "evse_uid": "3256", "connector_id": "1"},
    ),
    ("CommandResponse", {"result": "ACCEPTED", "timeout": 30, "message": [{"language": "en", "text": "ok"}]}),
    ("CommandResult", {"result": "EVSE_OCCUPIED", "message": [{"language": "en", "text": "busy"}]}),
    (
        "AuthorizationInfo",
        {
            "allowed": "ALLOWED",
            "token": TOKEN_2_2,
            "authorization_reference": "AUTH-3",
            "location": {"location_id": "LOC1", "evse_uids": ["3256"]},
            "info": {"language": "en", "text": "welcome"},
        },
    ),
    ("LocationReferences", {"location_id": "LOC1", "evse_uids": ["3256", "3257"]}),
    (
        "ChargingPreferences",
        {
            "profile_type": "GREEN",
            "departure_time": "2024-01-01T18:00:00Z",
            "energy_need": 20.5,
            "discharge_allowed": False,
        },
    ),
    (
        "ChargingProfile",
        {
            "start_date_time": "2024-01-01T10:00:00Z",
            "duration": 3600,
            "charging_rate_unit": "W",
            "min_charging_rate": 1000.0,
            "charging_profile_period": [
                {"start_period": 0, "limit": 11000.0},
                {"start_period": 1800, "limit": 7400.5},
            ],
        },
    ),
    ("SetChargingProfile", {"charging_profile": {"charging_rate_unit": "A"}, "response_url": URL}),
    (
        "ActiveChargingProfile",
        {
            "start_date_time": "2024-01-01T10:00:00Z",
            "charging_profile": {"charging_rate_unit": "A", "charging_profile_period": []},
        },
    ),
    ("ChargingProfileResponse", {"result": "TOO_OFTEN", "timeout": 10}),
    (
        "ActiveChargingProfileResult",
        {
            "result": "ACCEPTED",
            "profile": {
                "start_date_time": "2024-01-01T10:00:00Z",
                "charging_profile": {"charging_rate_unit": "W"},
            },
        },
    ),
    ("ChargingProfileResult", {"result": "REJECTED"}),
    ("ClearProfileResult", {"result": "UNKNOWN"}),
    (
        "ClientInfo",
        {
            "party_id": "EXA",
            "country_code": "NL",
            "role": "CPO",
            "status": "PLANNED",
            "last_updated": "2024-01-01T10:00:00Z",
        },
    ),
]

_SNAKE = {
    "StartSession": "start_session",
    "StopSession": "stop_session",
    "ReserveNow": "reserve_now",
    "CancelReservation": "cancel_reservation",
    "UnlockConnector": "unlock_connector",
    "CommandResponse": "command_response",
    "CommandResult": "command_result",
    "AuthorizationInfo": "authorization_info",
    "LocationReferences": "location_references",
    "ChargingPreferences": "charging_preferences",
    "ChargingProfile": "charging_profile",
    "SetChargingProfile": "set_charging_profile",
    "ActiveChargingProfile": "active_charging_profile",
    "ChargingProfileResponse": "charging_profile_response",
    "ActiveChargingProfileResult": "active_charging_profile_result",
    "ChargingProfileResult": "charging_profile_result",
    "ClearProfileResult": "clear_profile_result",
    "ClientInfo": "client_info",
}


@pytest.mark.parametrize(("version", "convert", "package"), [("2.2.1", c2, w2), ("2.3.0", c3, w3)])
@pytest.mark.parametrize(("kind", "doc"), CASES_2_2, ids=[k for k, _ in CASES_2_2])
def test_2_2_plus_objects_round_trip_and_cross_between_2_2_1_and_2_3_0(
    version: str, convert: Any, package: Any, kind: str, doc: dict[str, Any]
) -> None:
    original = wire(doc, getattr(package, kind))
    name = _SNAKE[kind]
    canonical = getattr(convert, f"{name}_to_model")(original)
    assert isinstance(canonical, m.CanonicalModel)
    same(getattr(convert, f"{name}_from_model")(canonical), original)
    assert decode(encode(canonical), type(canonical)) == canonical
    other = c3 if convert is c2 else c2
    crossed = getattr(other, f"{name}_from_model")(canonical)
    assert getattr(other, f"{name}_to_model")(crossed) == canonical


# --- 2.1.1 commands -------------------------------------------------------------------------------

CASES_2_1_1 = [
    (
        "StartSession",
        {"response_url": URL, "token": TOKEN_2_1_1, "location_id": "LOC1", "evse_uid": "3256"},
        True,
    ),
    ("StopSession", {"response_url": URL, "session_id": "S1"}, False),
    (
        "ReserveNow",
        {
            "response_url": URL,
            "token": TOKEN_2_1_1,
            "expiry_date": "2024-01-01T10:00:00Z",
            "reservation_id": 42,
            "location_id": "LOC1",
            "evse_uid": "3256",
        },
        True,
    ),
    (
        "UnlockConnector",
        {"response_url": URL, "location_id": "LOC1", "evse_uid": "3256", "connector_id": "1"},
        False,
    ),
    (
        "AuthorizationInfo",
        {
            "allowed": "NO_CREDIT",
            "location": {"location_id": "LOC1", "evse_uids": ["3256"], "connector_ids": ["1", "2"]},
            "info": {"language": "en", "text": "top up"},
        },
        False,
    ),
    ("LocationReferences", {"location_id": "LOC1", "evse_uids": ["3256"], "connector_ids": ["1"]}, False),
]


@pytest.mark.parametrize(("kind", "doc", "owned"), CASES_2_1_1, ids=[k for k, _, _ in CASES_2_1_1])
def test_2_1_1_objects_round_trip(kind: str, doc: dict[str, Any], owned: bool) -> None:
    original = wire(doc, getattr(w1, kind))
    name = _SNAKE[kind]
    reader = getattr(c1, f"{name}_to_model")
    canonical = reader(original, country_code="DE", party_id="TNM") if owned else reader(original)
    same(getattr(c1, f"{name}_from_model")(canonical), original)
    if owned:
        assert canonical.token.country_code == "DE" and canonical.token.contract_id == "DE8ACC12E46L89"


def test_reservation_id_is_an_integer_in_2_1_1_and_a_string_later() -> None:
    old = wire(CASES_2_1_1[2][1], w1.ReserveNow)
    reservation = c1.reserve_now_to_model(old, country_code="DE", party_id="TNM")
    assert reservation.reservation_id == "42"
    newer = c2.reserve_now_from_model(reservation)
    assert newer.reservation_id == "42" and newer.token.contract_id == "DE8ACC12E46L89"
    same(c1.reserve_now_from_model(c2.reserve_now_to_model(newer)), old)
    for text in ("R-1", "007", "4.2", "", "+5"):
        bad = msgspec.structs.replace(reservation, reservation_id=CiString(text))
        with pytest.raises(m.NotRepresentable) as caught:
            c1.reserve_now_from_model(bad)
        assert caught.value.path == "ReserveNow.reservation_id"
    negative = msgspec.structs.replace(reservation, reservation_id=CiString("-3"))
    assert c1.reserve_now_from_model(negative).reservation_id == -3


def test_2_2_commands_to_2_1_1_drop_what_2_1_1_lacks() -> None:
    start = c2.start_session_to_model(wire(CASES_2_2[0][1], w2.StartSession))
    old = c1.start_session_from_model(start)
    assert json.loads(encode(old)) == {
        "response_url": URL,
        "token": TOKEN_2_1_1,
        "location_id": "LOC1",
        "evse_uid": "3256",
    }
    info = c2.authorization_info_to_model(wire(CASES_2_2[7][1], w2.AuthorizationInfo))
    assert json.loads(encode(c1.authorization_info_from_model(info))) == {
        "allowed": "ALLOWED",
        "location": {"location_id": "LOC1", "evse_uids": ["3256"]},
        "info": {"language": "en", "text": "welcome"},
    }


def test_2_1_1_answers_to_2_2_plus() -> None:
    info = c1.authorization_info_to_model(wire(CASES_2_1_1[4][1], w1.AuthorizationInfo))
    with pytest.raises(m.NotRepresentable) as caught:
        c2.authorization_info_from_model(info)
    assert caught.value.path == "AuthorizationInfo.token"
    refs = c1.location_references_to_model(wire(CASES_2_1_1[5][1], w1.LocationReferences))
    assert json.loads(encode(c3.location_references_from_model(refs))) == {
        "location_id": "LOC1",
        "evse_uids": ["3256"],
    }


@pytest.mark.parametrize("result", ["ACCEPTED", "REJECTED", "NOT_SUPPORTED", "TIMEOUT", "UNKNOWN_SESSION"])
def test_2_1_1_command_response_is_both_the_answer_and_the_result(result: str) -> None:
    old = wire({"result": result}, w1.CommandResponse)
    answer = c1.command_response_to_model(old)
    assert answer == m.CommandResponse(result=m.CommandResponseType(result))
    same(c1.command_response_from_model(answer), old)
    outcome = c1.command_result_to_model(old)
    assert outcome == m.CommandResult(result=m.CommandResultType(result))
    same(c1.command_result_from_model(outcome), old)


@pytest.mark.parametrize(
    ("result", "v2_1_1"),
    [
        ("ACCEPTED", "ACCEPTED"),
        ("TIMEOUT", "TIMEOUT"),
        ("REJECTED", "REJECTED"),
        ("NOT_SUPPORTED", "NOT_SUPPORTED"),
        ("EVSE_OCCUPIED", "REJECTED"),
        ("EVSE_INOPERATIVE", "REJECTED"),
        ("FAILED", "REJECTED"),
        ("CANCELED_RESERVATION", "REJECTED"),
        ("UNKNOWN_RESERVATION", "REJECTED"),
    ],
)
def test_2_2_command_results_in_2_1_1(result: str, v2_1_1: str) -> None:
    outcome = c2.command_result_to_model(wire({"result": result}, w2.CommandResult))
    assert c1.command_result_from_model(outcome).result == v2_1_1


def test_2_1_1_only_command_values_in_2_2_plus() -> None:
    timeout = m.CommandResponse(result=m.CommandResponseType.TIMEOUT, timeout=30)
    assert c2.command_response_from_model(timeout).result == w2.CommandResponseType.REJECTED
    assert c3.command_result_from_model(
        m.CommandResult(result=m.CommandResultType.UNKNOWN_SESSION)
    ).result == (w3.CommandResultType.REJECTED)
    no_timeout = c1.command_response_to_model(wire({"result": "ACCEPTED"}, w1.CommandResponse))
    with pytest.raises(m.NotRepresentable) as caught:
        c2.command_response_from_model(no_timeout)
    assert caught.value.path == "CommandResponse.timeout"


# --- payments (2.3.0) -----------------------------------------------------------------------------


def test_terminal_round_trip() -> None:
    doc = {
        "terminal_id": "T-1",
        "customer_reference": "CPO-REF",
        "party_id": "EXA",
        "country_code": "NL",
        "address": "Street 1",
        "city": "Vienna",
        "postal_code": "1010",
        "state": "Wien",
        "country": "AUT",
        "coordinates": {"latitude": "48.20849", "longitude": "16.37208"},
        "invoice_base_url": "https://cpo.example/invoices",
        "invoice_creator": "PTP",
        "reference": "SERIAL-1",
        "location_ids": ["LOC1"],
        "evse_uids": [],
        "last_updated": "2024-01-01T10:00:00Z",
    }
    original = wire(doc, w3.Terminal)
    terminal = c3.terminal_to_model(original)
    assert terminal.invoice_creator is m.InvoiceCreator.PTP and terminal.evse_uids == ()
    same(c3.terminal_from_model(terminal), original)


def test_financial_advice_confirmation_round_trip() -> None:
    doc = {
        "id": "FAC-1",
        "authorization_reference": "pp-100100",
        "total_costs": {"before_taxes": 4.00, "taxes": [{"name": "VAT", "percentage": 10, "amount": 0.40}]},
        "currency": "EUR",
        "eft_data": ["Mastercard", "Amount: EUR 4.40"],
        "capture_status_code": "PARTIAL_SUCCESS",
        "capture_status_message": "partly",
        "last_updated": "2024-01-01T10:00:00Z",
    }
    original = wire(doc, w3.FinancialAdviceConfirmation)
    fac = c3.financial_advice_confirmation_to_model(original)
    assert fac.total_costs.after_taxes_total() == Decimal("4.40")
    same(c3.financial_advice_confirmation_from_model(fac), original)
