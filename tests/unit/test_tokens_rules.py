"""The pure token rules: the eMSP's verdict (order of checks, EVSE filtering, 2002) and the CPO's
whitelist table."""

from __future__ import annotations

import pytest

from evroam import model as m
from evroam.core.errors import NotEnoughInformation
from evroam.core.types import CiString, DateTime
from evroam.modules.tokens.decision import issuer_from_uid
from evroam.modules.tokens.repository import split_object_id, token_key, token_object_id
from evroam.modules.tokens.rules import AuthorizationRules, LocationRule, Route, judge, route_for

from .test_tokens_support import token

NOW = DateTime.parse("2026-03-01T12:00:00Z")
A = m.AllowedType


def where(location_id: str, *evses: str) -> m.LocationReferences:
    return m.LocationReferences(
        location_id=CiString(location_id), evse_uids=tuple(CiString(e) for e in evses) or None
    )


def rules(**kw: object) -> AuthorizationRules:
    return AuthorizationRules(**kw)  # type: ignore[arg-type]


def only(location_id: str, *evses: str) -> LocationRule:
    return LocationRule(
        location_id=CiString(location_id), evse_uids=tuple(CiString(e) for e in evses) or None
    )


def test_a_valid_token_without_rules_is_allowed_and_echoes_where() -> None:
    v = judge(token("T1"), None, where("L1", "E1"), NOW)
    assert v.allowed is A.ALLOWED
    assert v.location == where("L1", "E1")
    assert judge(token("T1"), None, None, NOW).location is None


@pytest.mark.parametrize(
    ("valid", "r", "expected"),
    [
        # blocked wins over everything, expiry over credit, credit over locations
        (False, rules(valid_until=DateTime.parse("2026-01-01T00:00:00Z"), no_credit=True), A.BLOCKED),
        (True, rules(valid_until=DateTime.parse("2026-01-01T00:00:00Z"), no_credit=True), A.EXPIRED),
        (True, rules(valid_until=NOW), A.EXPIRED),  # the moment itself is already expired
        (True, rules(valid_until=DateTime.parse("2026-03-01T12:00:01Z")), A.ALLOWED),
        (True, rules(no_credit=True, locations=(only("L9"),)), A.NO_CREDIT),
        (True, rules(locations=(only("L9"),)), A.NOT_ALLOWED),
    ],
)
def test_checks_come_in_order(valid: bool, r: AuthorizationRules, expected: m.AllowedType) -> None:
    assert judge(token("T1", valid=valid), r, where("L1"), NOW).allowed is expected


def test_a_location_restricted_token_needs_a_location_2002() -> None:
    with pytest.raises(NotEnoughInformation) as caught:
        judge(token("T1"), rules(locations=(only("L1"),)), None, NOW)
    assert (caught.value.http_status, int(caught.value.ocpi_status)) == (400, 2002)
    # a blocked token needs no location to be refused
    assert judge(token("T1", valid=False), rules(locations=(only("L1"),)), None, NOW).allowed is A.BLOCKED


def test_the_answer_lists_only_the_permitted_evses() -> None:
    r = rules(locations=(only("L1", "E1", "E2"), only("l1", "E3")))
    v = judge(token("T1"), r, where("L1", "E2", "E5", "e3"), NOW)
    assert v.allowed is A.ALLOWED
    assert v.location == where("L1", "E2", "e3")
    # no EVSE asked: every permitted EVSE of the location
    assert judge(token("T1"), r, where("l1"), NOW).location == where("L1", "E1", "E2", "E3")
    # only forbidden EVSEs asked
    assert judge(token("T1"), r, where("L1", "E7"), NOW).allowed is A.NOT_ALLOWED
    # a whole location permitted: the request is echoed
    whole = rules(locations=(only("L2"),))
    assert judge(token("T1"), whole, where("L2", "X", "Y"), NOW).location == where("L2", "X", "Y")


@pytest.mark.parametrize(
    ("whitelist", "allowed_real_time", "route"),
    [
        (m.WhitelistType.ALWAYS, False, Route.LOCAL),
        (m.WhitelistType.ALWAYS, True, Route.LOCAL),
        (m.WhitelistType.ALLOWED, False, Route.LOCAL),
        (m.WhitelistType.ALLOWED, True, Route.REAL_TIME_OR_LOCAL),
        (m.WhitelistType.ALLOWED_OFFLINE, False, Route.REAL_TIME_OR_LOCAL),
        (m.WhitelistType.NEVER, False, Route.REAL_TIME),
        (m.WhitelistType.NEVER, True, Route.REAL_TIME),
    ],
)
def test_the_whitelist_table(whitelist: m.WhitelistType, allowed_real_time: bool, route: Route) -> None:
    assert route_for(whitelist, allowed_real_time=allowed_real_time) is route


def test_the_store_key_holds_type_and_uid() -> None:
    assert token_object_id("04:A1", "RFID") == "RFID:04:A1"
    assert split_object_id("APP_USER:04:A1") == ("04:A1", "APP_USER")
    rfid, app = token_key("NL", "MSP", "X1", "RFID"), token_key("NL", "MSP", "X1", "APP_USER")
    assert rfid.folded != app.folded
    assert token_key("nl", "msp", "x1", "rfid").folded == rfid.folded


@pytest.mark.parametrize(
    ("uid", "issuer"),
    [
        ("NL-MSP-C12345678-X", ("NL", "MSP")),
        ("demspC12345678", ("DE", "MSP")),
        ("04A1B2C3D4", None),
        ("NL-MS", None),
    ],
)
def test_issuer_from_an_emaid_shaped_uid(uid: str, issuer: tuple[str, str] | None) -> None:
    assert issuer_from_uid(uid) == issuer
