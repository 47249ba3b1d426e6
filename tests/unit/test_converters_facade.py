"""The one converter facade (:mod:`evroam.ocpi.converters`): the same call reads and writes every
version, with the owner taken from the caller only where the version's object carries none."""

from __future__ import annotations

import pytest

from evroam import model as m
from evroam.core.codec import decode
from evroam.ocpi.converters import VersionConverters, converters


def _tariff_json(owner: str) -> bytes:
    return (
        b'{"id": "T1", "currency": "EUR", '
        + owner.encode()
        + b'"elements": [{"price_components": [{"type": "TIME", "price": 2.00, "step_size": 300}]}],'
        b' "last_updated": "2026-01-02T03:04:05Z"}'
    )


def test_the_converters_are_cached_per_version() -> None:
    assert converters("2.2.1") is converters("2.2.1")
    assert converters("2.1.1").version == "2.1.1"
    assert converters("2.3.0").models["Location"].__module__.startswith("evroam.ocpi.v2_3_0")


def test_an_unknown_version_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        converters("9.9")


def test_only_2_2_and_later_objects_carry_their_owner() -> None:
    assert not converters("2.1.1").carries_owner("Tariff")
    assert converters("2.2.1").carries_owner("Tariff")
    assert converters("2.3.0").carries_owner("Session")


def test_a_2_1_1_reader_takes_the_owner_from_the_caller() -> None:
    c = converters("2.1.1")
    wire = decode(_tariff_json(""), c.models["Tariff"])
    tariff = c.tariff_to_model(wire, country_code="NL", party_id="ABC")
    assert (str(tariff.country_code), str(tariff.party_id), str(tariff.id)) == ("NL", "ABC", "T1")


def test_a_2_2_1_reader_keeps_the_objects_own_owner() -> None:
    c = converters("2.2.1")
    wire = decode(_tariff_json('"country_code": "DE", "party_id": "XYZ", '), c.models["Tariff"])
    tariff = c.tariff_to_model(wire, country_code="NL", party_id="ABC")
    assert (str(tariff.country_code), str(tariff.party_id)) == ("DE", "XYZ")
    assert isinstance(tariff, m.Tariff)
    assert c.tariff_from_model(tariff) == wire


def test_a_version_without_the_object_says_so() -> None:
    with pytest.raises(KeyError, match="charging_preferences_to_model"):
        converters("2.1.1").charging_preferences_to_model(object())


def test_module_views_are_the_facade() -> None:
    from evroam.modules.locations.convert import location_converters
    from evroam.modules.sessions.convert import session_converters

    assert isinstance(location_converters("2.1.1"), VersionConverters)
    assert session_converters("2.3.0") is converters("2.3.0")
