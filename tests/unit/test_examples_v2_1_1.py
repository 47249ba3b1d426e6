"""Every official OCPI 2.1.1 example decodes into the model it shows and encodes back to the same JSON.

The 2.1.1 examples were extracted from the spec's Markdown; ``MANIFEST.tsv`` beside them gives each
file's section and the request line that preceded it (``PUT To URL: ...``, ``PATCH To URL: ...``, or
the field a fragment is the value of). Each file is in exactly one of three tables:

* ``ROUND_TRIP``: decodes, and re-encodes to equal JSON up to the documented normalisations of
  :mod:`tests.support.jsoncompare` (timestamps as instants, numbers as Decimal, explicit nulls);
* ``LENIENT``: decodes, but the spec's JSON is not quite OCPI; the round trip differs exactly at the
  listed places, for the reason given;
* ``BROKEN``: does not fit the spec's own model; decoding fails with one OCPI 2001 whose violations
  name exactly the listed JSON paths.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest

from evroam.core.codec import decode, encode
from evroam.core.errors import ValidationFailed
from evroam.core.status import StatusCode
from evroam.ocpi import v2_1_1 as m
from evroam.ocpi.transport.envelope import Envelope
from tests.conftest import ocpi_examples, shared_path
from tests.support.jsoncompare import json_differences, load_json

VERSION = "2.1.1"

#: file -> (model, what the example shows)
ROUND_TRIP: dict[str, tuple[Any, str]] = {
    "credentials__01__example.json": (m.Credentials, "Credentials object"),
    "mod_locations__01__example_a_simple_status_update.json": (
        m.EVSEPatch,
        "PATCH of EVSE 3255: status only",
    ),
    "mod_locations__02__example_change_the_location_name.json": (
        m.LocationPatch,
        "PATCH of Location 1012: name only",
    ),
    "mod_locations__03__example_set_tariff_update.json": (
        m.ConnectorPatch,
        "PATCH of Connector 2: tariff_id only",
    ),
    "mod_locations__05__example_delete_an_evse.json": (m.EVSEPatch, "PATCH of EVSE 3256: status REMOVED"),
    "mod_locations__06__example.json": (m.Location, "Location with two EVSEs"),
    "mod_locations__07__simple.json": (m.EnergyMix, "fragment: value of energy_mix"),
    "mod_locations__08__tariff_name_based.json": (m.EnergyMix, "fragment: value of energy_mix"),
    "mod_locations__09__complete.json": (m.EnergyMix, "fragment: value of energy_mix"),
    "mod_locations__10__4_19_1_example.json": (m.Hours, "fragment: value of opening_times"),
    "mod_sessions__01__example_update_the_total_cost.json": (m.SessionPatch, "PATCH of Session 101"),
    "mod_sessions__02__simple_session_example_of_a_just_starting_session.json": (
        m.Session,
        "Session, PENDING",
    ),
    "mod_sessions__03__simple_session_example_of_a_short_finished_session.json": (
        m.Session,
        "Session, COMPLETED with charging periods",
    ),
    # The spec prints "PUT To URL" above this body, but it is the example of the PATCH section and
    # only holds the changed `elements`: a TariffPatch (a PUT would need id, currency, last_updated).
    "mod_tariffs__02__example_change_tariff_to_2_50.json": (m.TariffPatch, "PATCH of Tariff 12"),
    "mod_tariffs__03__simple_tariff_example_2_euro_per_hour.json": (m.Tariff, "Tariff"),
    "mod_tariffs__04__simple_tariff_example_with_alternative_multi_language_text.json": (
        m.Tariff,
        "Tariff with tariff_alt_text",
    ),
    "mod_tariffs__05__simple_tariff_example_with_alternative_url.json": (m.Tariff, "Tariff with alt URL"),
    "mod_tariffs__06__complex_tariff_example.json": (m.Tariff, "Tariff with restrictions"),
    "mod_tariffs__07__free_of_charge_tariff_example.json": (m.Tariff, "Tariff, free of charge"),
    "mod_tokens__01__example_put_a_new_token.json": (m.Token, "PUT of Token 012345678"),
    "mod_tokens__02__example_invalidate_a_token.json": (m.TokenPatch, "PATCH of Token 012345678"),
    "mod_tokens__03__example.json": (m.Token, "Token"),
    "transport_and_format__01__example_version_information_response_list_of_objects.json": (
        Envelope[list[m.Version]],
        "envelope: version list (lists 1.9, a version no enum knows)",
    ),
    "transport_and_format__02__example_version_details_response_one_object.json": (
        Envelope[m.VersionDetails],
        "envelope: version details",
    ),
    "transport_and_format__03__example_tokens_get_response_with_one_token_object_cpo_end_po.json": (
        Envelope[m.Token],
        "envelope: one Token",
    ),
    "transport_and_format__04__example_tokens_get_response_with_list_of_token_objects_emsp_.json": (
        Envelope[list[m.Token]],
        "envelope: list of Tokens",
    ),
    "transport_and_format__05__example_response_with_an_error_contains_no_data_field.json": (
        Envelope[None],
        "envelope: error 2001 without data",
    ),
    "version_information_endpoint__01__example.json": (list[m.Version], "data of the version list"),
    "version_information_endpoint__02__example.json": (m.VersionDetails, "data of version details"),
}

#: file -> (model, JSON paths where the round trip differs, why)
LENIENT: dict[str, tuple[Any, list[str], str]] = {
    "mod_cdrs__01__example_of_a_cdr.json": (
        m.CDR,
        ["$.tariffs[0].elements[0].price_components[0].price"],
        'the embedded tariff\'s price is the JSON string "2.00" instead of a number; the Decimal field '
        "accepts the numeric string and it goes out as the number 2.00",
    ),
}

#: file -> (model, JSON paths of the violations, why)
BROKEN: dict[str, tuple[Any, list[str], str]] = {
    "mod_locations__04__example_add_an_evse.json": (
        m.EVSE,
        [
            "$.connectors[0].power_type",
            "$.connectors[0].voltage",
            "$.connectors[0].amperage",
            "$.connectors[0].last_updated",
            "$.floor_level",
            "$.physical_reference",
            "$.last_updated",
        ],
        "PUT of a new EVSE, but the connector lacks power_type/voltage/amperage/last_updated, "
        "floor_level and physical_reference are numbers instead of strings, and last_updated is missing",
    ),
    "mod_tariffs__01__example_new_tariff_2_euro_per_hour.json": (
        m.Tariff,
        ["$.last_updated"],
        "PUT of a new Tariff without the required last_updated",
    ),
}


def _path(difference: str) -> str:
    return difference.split(":", 1)[0]


def _check_type(obj: Any, model: Any) -> None:
    """``obj`` is an instance of ``model`` (``list[X]`` and ``Envelope[X]`` checked one level down)."""
    origin = get_origin(model)
    if origin is list:
        (item,) = get_args(model)
        assert isinstance(obj, list)
        assert obj, "an example list is never empty"
        for element in obj:
            _check_type(element, item)
    elif origin is Envelope:
        (data,) = get_args(model)
        assert isinstance(obj, Envelope)
        if data is type(None):
            assert obj.data is None
        else:
            _check_type(obj.data, data)
    else:
        assert isinstance(obj, model)


def _example(name: str) -> Path:
    return shared_path("spec", "ocpi", "examples", VERSION, name)


def test_every_example_file_is_in_exactly_one_table() -> None:
    files = {path.name for path in ocpi_examples(VERSION)}
    tables = [set(ROUND_TRIP), set(LENIENT), set(BROKEN)]
    assert not (tables[0] & tables[1] or tables[0] & tables[2] or tables[1] & tables[2])
    listed = set().union(*tables)
    assert files - listed == set(), "example files no table covers"
    assert listed - files == set(), "tables name files that do not exist"
    assert len(files) == 32


def _model_of(name: str) -> Any:
    for table in (ROUND_TRIP, LENIENT, BROKEN):
        if name in table:
            return table[name][0]
    raise KeyError(name)


def test_tables_agree_with_the_manifest() -> None:
    """A body after ``PATCH To URL`` is a Patch struct, after ``PUT To URL`` a whole object, and a
    fragment is the class of the field it is the value of."""
    manifest = shared_path("spec", "ocpi", "examples", VERSION, "MANIFEST.tsv")
    with manifest.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    assert {row["file"] for row in rows} == {path.name for path in ocpi_examples(VERSION)}
    fragments = {'"energy_mix":': m.EnergyMix, '"opening_times":': m.Hours}
    # The one documented exception: the tariff PATCH section's example printed with "PUT To URL".
    patch_despite_put_line = {"mod_tariffs__02__example_change_tariff_to_2_50.json"}
    checked = 0
    for row in rows:
        model = _model_of(row["file"])
        prefix = row["prefix_line_or_error"]
        if prefix.startswith("PATCH To URL") or row["file"] in patch_despite_put_line:
            assert model.__name__.endswith("Patch"), row["file"]
            checked += 1
        elif prefix.startswith("PUT To URL"):
            assert not model.__name__.endswith("Patch"), row["file"]
            checked += 1
        elif prefix in fragments:
            assert model is fragments[prefix], row["file"]
            checked += 1
        else:
            assert prefix == "", f"unexpected manifest prefix {prefix!r}"
    assert checked == 14  # 7 PATCH bodies, 3 PUT bodies, 4 fragments


@pytest.mark.parametrize("name", sorted(ROUND_TRIP))
def test_example_round_trips(name: str) -> None:
    model, _ = ROUND_TRIP[name]
    original = _example(name).read_bytes()
    obj = decode(original, model)
    _check_type(obj, model)
    produced = encode(obj)
    assert json_differences(load_json(original), load_json(produced)) == []
    assert decode(produced, model) == obj


@pytest.mark.parametrize("name", sorted(LENIENT))
def test_lenient_example_differs_only_where_documented(name: str) -> None:
    model, paths, _ = LENIENT[name]
    original = _example(name).read_bytes()
    obj = decode(original, model)
    _check_type(obj, model)
    differences = json_differences(load_json(original), load_json(encode(obj)))
    assert [_path(d) for d in differences] == paths


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_example_fails_with_2001_naming_the_bad_fields(name: str) -> None:
    model, paths, _ = BROKEN[name]
    with pytest.raises(ValidationFailed) as caught:
        decode(_example(name).read_bytes(), model)
    assert caught.value.ocpi_status == StatusCode.INVALID_OR_MISSING_PARAMETERS
    assert sorted(caught.value.paths) == sorted(paths)


def test_the_cdr_example_keeps_its_numbers_exact() -> None:
    cdr = decode(_example("mod_cdrs__01__example_of_a_cdr.json").read_bytes(), m.CDR)
    assert str(cdr.total_cost) == "4.00"
    assert str(cdr.total_energy) == "15.342"
    assert str(cdr.tariffs[0].elements[0].price_components[0].price) == "2.00"  # type: ignore[index]
    assert cdr.location.evses[0].connectors[0].tariff_id == "11"  # type: ignore[index]
    assert cdr.charging_periods[0].dimensions[0].type is m.CdrDimensionType.TIME
