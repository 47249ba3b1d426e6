"""Every official OCPI 2.2.1 example decodes into its wire model and encodes back to the same JSON.

The table below maps EVERY file of ``shared/spec/ocpi/examples/2.2.1`` to the model it shows: the
envelope examples to the type of their ``data``, PATCH bodies to the Patch structs, fragments to the
part they show. Known-broken examples are listed separately with the reason and must be rejected
with a 2001 that names the faulty field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evroam.core.codec import decode, encode
from evroam.ocpi import v2_2_1 as ocpi
from evroam.ocpi.base import WireModel
from tests.conftest import ocpi_examples, shared_path
from tests.support.examples import Envelope, assert_rejected, assert_round_trip
from tests.support.jsoncompare import json_differences, load_json

VERSION = "2.2.1"


class EnergyMixFragment(WireModel, kw_only=True):
    """The spec shows energy mixes as the ``energy_mix`` member of a Location."""

    energy_mix: ocpi.EnergyMix


class OpeningTimesFragment(WireModel, kw_only=True):
    """The regular-hours example is the ``opening_times`` member of a Location."""

    opening_times: ocpi.Hours


ROUND_TRIP: dict[str, Any] = {
    "cdr_example.json": ocpi.CDR,
    "credentials_example.json": ocpi.Credentials,
    "credentials_example2.json": ocpi.Credentials,
    "credentials_example3.json": ocpi.Credentials,
    "credentials_example4.json": ocpi.Credentials,
    "location_energymix_example_complete.json": EnergyMixFragment,
    "location_energymix_example_energy_provider.json": EnergyMixFragment,
    "location_energymix_example_simple.json": EnergyMixFragment,
    "location_example.json": ocpi.Location,
    "location_example_parking_garage_opening_hours.json": ocpi.Location,
    "location_example_uc2_destination_charger.json": ocpi.Location,
    "location_example_uc3_destination_charger_not_published.json": ocpi.Location,
    "location_example_uc4_limited_visibility.json": ocpi.Location,
    "location_example_uc5_home_charge_point.json": ocpi.Location,
    "location_hours_247_open_exception_closing.json": ocpi.Hours,
    "location_hours_opening_hours_with_exceptional_closing.json": ocpi.Hours,
    "location_hours_opening_hours_with_exceptional_opening.json": ocpi.Hours,
    "location_patch_example_location.json": ocpi.LocationPatch,
    "location_patch_example_remove_evse.json": ocpi.EVSEPatch,
    "location_patch_example_status.json": ocpi.EVSEPatch,
    "location_patch_example_tariff.json": ocpi.ConnectorPatch,
    "location_regularhours_example.json": OpeningTimesFragment,
    "session_example_1_simple_start.json": ocpi.Session,
    "session_example_2_short_finished.json": ocpi.Session,
    "session_patch_example_charging_period.json": ocpi.SessionPatch,
    "session_patch_example_total_cost.json": ocpi.SessionPatch,
    "tariff_1_simple_2hour.json": ocpi.Tariff,
    "tariff_2_alt_text.json": ocpi.Tariff,
    "tariff_3_alt_url.json": ocpi.Tariff,
    "tariff_4_complex.json": ocpi.Tariff,
    "tariff_5_free_of_charge.json": ocpi.Tariff,
    "tariff_6_025kwh_start_max_price.json": ocpi.Tariff,
    "tariff_8_simple_025kwh.json": ocpi.Tariff,
    "tariff_9_025kwh_start.json": ocpi.Tariff,
    "tariff_10_025kwh_parking_start.json": ocpi.Tariff,
    "tariff_11_not_possible_alt_text.json": ocpi.Tariff,
    "tariff_12_025kwh_min_price.json": ocpi.Tariff,
    "tariff_13_simple_3hour_5parking.json": ocpi.Tariff,
    "tariff_14_step_size.json": ocpi.Tariff,
    "tariff_15_reservation_5_euro_per_hour.json": ocpi.Tariff,
    "tariff_16_reservation_2_euro_fee_5_euro_per_hour.json": ocpi.Tariff,
    "tariff_17_reservation_with_expire_fee.json": ocpi.Tariff,
    "tariff_18_reservation_with_expire_time.json": ocpi.Tariff,
    "tariffrestriction_example_max_duration.json": ocpi.Tariff,
    "tariffrestriction_example_max_power.json": ocpi.Tariff,
    "token_example_1_app_user.json": ocpi.Token,
    "token_example_2_full_rfid.json": ocpi.Token,
    "token_patch_example.json": ocpi.TokenPatch,
    "token_put_example.json": ocpi.Token,
    "transport_and_format_get_token_example.json": Envelope[ocpi.Token],
    "transport_and_format_get_token_list_example.json": Envelope[list[ocpi.Token]],
    "transport_and_format_version_details_example.json": Envelope[ocpi.VersionDetails],
    "transport_and_format_version_info_example.json": Envelope[list[ocpi.Version]],
    "type_displaytext_example.json": ocpi.DisplayText,
    "version_details_example.json": ocpi.VersionDetails,
    "version_details_example2.json": ocpi.VersionDetails,
    "versions_info_example.json": list[ocpi.Version],
}

#: file -> (model, JSON paths the 2001 must name, why the example is broken)
KNOWN_BROKEN: dict[str, tuple[Any, tuple[str, ...], str]] = {
    "tariff_put_example.json": (
        ocpi.Tariff,
        ("$.last_updated",),
        "the PUT body omits last_updated, which a Tariff requires (DIGEST §8)",
    ),
    "location_put_example_add_evse.json": (
        ocpi.EVSE,
        ("$.connectors[0].power_type", "$.physical_reference"),
        "the connector lacks power_type/max_voltage/max_amperage, physical_reference is a number, "
        "and the floor is sent as `floor` instead of `floor_level`",
    ),
}


def example(name: str) -> Path:
    return shared_path("spec", "ocpi", "examples", VERSION, name)


def test_every_example_file_is_in_a_table() -> None:
    on_disk = {path.name for path in ocpi_examples(VERSION)}
    assert not set(ROUND_TRIP) & set(KNOWN_BROKEN)
    assert on_disk == set(ROUND_TRIP) | set(KNOWN_BROKEN)


@pytest.mark.parametrize("name", sorted(ROUND_TRIP))
def test_example_round_trips(name: str) -> None:
    assert_round_trip(example(name), ROUND_TRIP[name])


@pytest.mark.parametrize("name", sorted(KNOWN_BROKEN))
def test_known_broken_example_is_rejected_naming_the_field(name: str) -> None:
    model, paths, _why = KNOWN_BROKEN[name]
    assert_rejected(example(name), model, paths)


def test_known_broken_tariff_put_example_is_fine_once_last_updated_is_added() -> None:
    doc = load_json(example("tariff_put_example.json").read_bytes())
    doc["last_updated"] = "2018-12-05T12:01:09Z"
    tariff = decode(encode(doc), ocpi.Tariff)
    assert tariff.id == "12" and tariff.elements[0].price_components[0].step_size == 300


def test_decoded_example_carries_the_values_of_the_file() -> None:
    # Spot checks that decoding maps fields, not only that it echoes them.
    cdr = decode(example("cdr_example.json").read_bytes(), ocpi.CDR)
    assert cdr.cdr_token.type is ocpi.TokenType.RFID
    assert cdr.cdr_location.connector_standard is ocpi.ConnectorType.IEC_62196_T2
    assert str(cdr.total_cost.excl_vat) == "4.00" and str(cdr.total_cost.incl_vat) == "4.40"
    assert cdr.charging_periods[0].dimensions[0].type is ocpi.CdrDimensionType.TIME
    assert cdr.charging_periods[0].tariff_id == "12"
    assert str(cdr.total_energy) == "15.342"
    assert cdr.last_updated.isoformat() == "2015-06-29T22:01:13+00:00"


def test_the_comparison_helper_notices_real_differences() -> None:
    original = b'{"a": 1.50, "at": "2015-06-29T20:39:09", "gone": null, "b": [1, 2], "s": "X"}'
    same = b'{"a": 1.5, "at": "2015-06-29T20:39:09Z", "b": [1, 2], "s": "X"}'
    assert json_differences(load_json(original), load_json(same)) == []
    changed = b'{"a": 1.51, "at": "2015-06-29T20:39:10Z", "b": [2, 1], "s": "x", "new": true}'
    assert json_differences(load_json(original), load_json(changed)) == [
        "$.a: expected 1.50, got 1.51",
        "$.at: expected '2015-06-29T20:39:09', got '2015-06-29T20:39:10Z'",
        "$.b[0]: expected 1, got 2",
        "$.b[1]: expected 2, got 1",
        "$.s: expected 'X', got 'x'",
        "$.new: unexpected",
    ]
    assert json_differences(load_json(b'{"a": true}'), load_json(b'{"a": 1}')) == [
        "$.a: expected True, got Decimal('1')"
    ]
