"""Every official OCPI 2.3.0 example decodes into its wire model and encodes back to the same JSON.

The table below maps EVERY file of ``shared/spec/ocpi/examples/2.3.0`` (core modules and the Payments
module of the ``release-2.3.0-bugfixes`` branch) to the model it shows. Known-broken examples are
listed separately with the reason and must be rejected with a 2001 that names the faulty field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evroam.core.codec import decode, encode
from evroam.ocpi import v2_3_0 as ocpi
from evroam.ocpi.base import WireModel
from tests.conftest import ocpi_examples, shared_path
from tests.support.examples import Envelope, assert_rejected, assert_round_trip
from tests.support.jsoncompare import json_differences, load_json

VERSION = "2.3.0"


class EnergyMixFragment(WireModel, kw_only=True):
    """The spec shows energy mixes as the ``energy_mix`` member of a Location."""

    energy_mix: ocpi.EnergyMix


class OpeningTimesFragment(WireModel, kw_only=True):
    """The regular-hours example is the ``opening_times`` member of a Location."""

    opening_times: ocpi.Hours


ROUND_TRIP: dict[str, Any] = {
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
    "payment_terminal_activate.json": ocpi.TerminalActivation,
    "payment_terminal_create.json": ocpi.TerminalCreation,
    "payment_terminal_create_minimal.json": ocpi.TerminalCreation,
    "payment_terminal_example_assigned_locations.json": ocpi.Terminal,
    "payment_terminal_example_assigned_locations_assigned_evses.json": ocpi.Terminal,
    "payment_terminal_example_newly_created.json": ocpi.Terminal,
    "payment_terminal_location_assignment.json": ocpi.TerminalPatch,
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
    "tariff_19_simple_north_american_exclusive.json": ocpi.Tariff,
    "tariff_20_simple_north_american_inclusive.json": ocpi.Tariff,
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

_FAC_PRICE = (
    "total_costs uses the 2.2.1 Price shape (excl_vat/incl_vat) instead of before_taxes/taxes (DIGEST §8)"
)

#: file -> (model, JSON paths the 2001 must name, why the example is broken)
KNOWN_BROKEN: dict[str, tuple[Any, tuple[str, ...], str]] = {
    "cdr_example.json": (
        ocpi.CDR,
        ("$.tariffs[0].tax_included",),
        "the embedded Tariff lacks tax_included, which 2.3.0 makes required (DIGEST §8)",
    ),
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
    "payment_financial_advice_confirmation_create.json": (
        ocpi.FinancialAdviceConfirmation,
        ("$.total_costs.before_taxes",),
        _FAC_PRICE,
    ),
    "payment_financial_advice_confirmation_example_success.json": (
        ocpi.FinancialAdviceConfirmation,
        ("$.total_costs.before_taxes",),
        _FAC_PRICE,
    ),
    "payment_financial_advice_confirmation_example_failure.json": (
        ocpi.FinancialAdviceConfirmation,
        ("$.total_costs.before_taxes", "$.eft_data"),
        _FAC_PRICE + "; it also omits eft_data, which is required (1..n)",
    ),
    "payment_terminal_put_update.json": (
        ocpi.Terminal,
        ("$.terminal_id",),
        "a PUT carries the whole Terminal, but the example sends only the changed fields (no terminal_id)",
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


def test_cdr_example_round_trips_once_its_tariff_says_whether_taxes_are_included() -> None:
    doc = load_json(example("cdr_example.json").read_bytes())
    doc["tariffs"][0]["tax_included"] = "NO"
    cdr = decode(encode(doc), ocpi.CDR)
    assert json_differences(doc, load_json(encode(cdr))) == []
    assert cdr.tariffs is not None and cdr.tariffs[0].tax_included is ocpi.TaxIncluded.NO
    assert str(cdr.total_cost.before_taxes) == "4.00"
    assert cdr.total_cost.taxes is not None
    assert [(t.name, str(t.amount)) for t in cdr.total_cost.taxes] == [("VAT", "0.40")]


def test_decoded_examples_carry_the_values_of_the_files() -> None:
    location = decode(example("location_example.json").read_bytes(), ocpi.Location)
    assert location.parking_places is not None and [p.id for p in location.parking_places] == ["1", "2", "3"]
    assert location.parking_places[0].vehicle_types == ["PERSONAL_VEHICLE"]
    assert location.evses is not None and location.evses[0].parking is not None
    assert location.evses[0].parking[0].evse_position is ocpi.EVSEPosition.LEFT
    tariff = decode(example("tariff_20_simple_north_american_inclusive.json").read_bytes(), ocpi.Tariff)
    assert tariff.tax_included is ocpi.TaxIncluded.YES and tariff.currency == "CAD"
    minimal = decode(example("payment_terminal_create_minimal.json").read_bytes(), ocpi.TerminalCreation)
    assert minimal.terminal_id == "452cf8a1-79aa-4a0e-9aee-dc788586053c" and minimal.last_updated is None


def test_unknown_fields_anywhere_are_tolerated() -> None:
    """2.3.0 forbids rejecting a payload because of undocumented fields."""
    doc = json.loads(example("location_example.json").read_bytes())
    expected = decode(example("location_example.json").read_bytes(), ocpi.Location)
    doc["nltnm_rating"] = {"stars": 5}
    doc["evses"][0]["nltnm_bay_color"] = "green"
    doc["evses"][0]["connectors"][0]["nltnm_cable_length"] = 4.5
    doc["coordinates"]["nltnm_altitude"] = "12"
    doc["parking_places"][0]["nltnm_surface"] = ["gravel"]
    assert decode(json.dumps(doc).encode(), ocpi.Location) == expected
