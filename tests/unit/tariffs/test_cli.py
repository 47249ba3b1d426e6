"""``evroam tariffs price`` through click's CliRunner."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from evroam.tariffs.cli import tariffs
from tests.conftest import shared_path


def example(version: str, name: str) -> str:
    return str(shared_path("spec", "ocpi", "examples", version, f"{name}.json"))


def run(*args: str) -> Any:
    result = CliRunner().invoke(tariffs, ["price", *args])
    return result


def write(tmp_path: Path, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


COMPLEX_SATURDAY_CDR = {
    "country_code": "DE",
    "party_id": "ALL",
    "id": "sat",
    "start_date_time": "2024-01-20T12:30:00Z",
    "end_date_time": "2024-01-20T15:35:00Z",
    "currency": "EUR",
    "charging_periods": [
        {
            "start_date_time": "2024-01-20T12:30:00Z",
            "dimensions": [
                {"type": "ENERGY", "volume": 40},
                {"type": "TIME", "volume": 1.9},
                {"type": "MIN_CURRENT", "volume": 43},
            ],
            "tariff_id": "14",
        },
        {
            "start_date_time": "2024-01-20T14:24:00Z",
            "dimensions": [{"type": "PARKING_TIME", "volume": 1.1833}],
            "tariff_id": "14",
        },
    ],
    "total_cost": {"excl_vat": 0, "incl_vat": 0},
    "total_energy": 40,
    "total_time": 3.0833,
    "last_updated": "2024-01-20T15:35:00Z",
}


def test_price_cdr_example_as_json_under_cdr_field_names() -> None:
    cdr = example("2.2.1", "cdr_example")
    result = run(cdr, cdr, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output, parse_float=Decimal)
    assert data["total_cost"] == {"excl_vat": Decimal("4.00"), "incl_vat": Decimal("4.40")}
    assert data["total_time_cost"] == {"excl_vat": Decimal("4.00"), "incl_vat": Decimal("4.40")}
    assert data["total_energy_cost"] == {"excl_vat": Decimal("0.00"), "incl_vat": Decimal("0.00")}
    assert data["total_energy"] == Decimal("15.342")  # spread from the CDR's total_energy
    assert data["total_time"] == Decimal("1.973056")  # 21:39:09 .. 23:37:32
    assert data["charging_periods"][0]["tariff_id"] == "12"
    assert "explanation" not in data


def test_price_230_cdr_example_writes_taxes() -> None:
    cdr = example("2.3.0", "cdr_example")
    result = run(cdr, cdr, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output, parse_float=Decimal)
    assert data["total_cost"] == {
        "before_taxes": Decimal("4.00"),
        "taxes": [{"name": "VAT", "percentage": Decimal("10.0"), "amount": Decimal("0.40")}],
    }


def test_time_zone_option_decides_local_restrictions(tmp_path: Path) -> None:
    cdr = write(tmp_path, "cdr.json", COMPLEX_SATURDAY_CDR)
    tariff = example("2.2.1", "tariff_4_complex")
    amsterdam = json.loads(
        run(tariff, cdr, "--json", "--time-zone", "Europe/Amsterdam").output, parse_float=Decimal
    )
    # Saturday 13:30 local: 114 min at 1.25/h, parking 71 -> 75 min at 6.00/h (10:00-17:00 Saturday)
    assert amsterdam["total_cost"] == {"excl_vat": Decimal("12.38"), "incl_vat": Decimal("13.98")}
    exact = json.loads(
        run(tariff, cdr, "--json", "--time-zone", "Europe/Amsterdam", "--places", "4").output,
        parse_float=Decimal,
    )
    assert exact["total_cost"] == {"excl_vat": Decimal("12.3750"), "incl_vat": Decimal("13.9750")}
    # in Tokyo the parking (23:24 .. 00:35) is outside 10:00-17:00: not priced
    tokyo = json.loads(run(tariff, cdr, "--json", "--time-zone", "Asia/Tokyo").output, parse_float=Decimal)
    assert tokyo["total_parking_cost"] == {"excl_vat": Decimal("0.00"), "incl_vat": Decimal("0.00")}


def test_readable_breakdown_and_explanation(tmp_path: Path) -> None:
    cdr = write(tmp_path, "cdr.json", COMPLEX_SATURDAY_CDR)
    result = run(example("2.2.1", "tariff_4_complex"), cdr, "--time-zone", "Europe/Amsterdam", "--explain")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "OCPI 2.2.1, EUR, time zone Europe/Amsterdam" in out
    assert "2024-01-20 13:30:00 .. 15:24:00  CHARGING" in out
    assert "TIME by elements[3].price_components[0]" in out
    assert "PARKING_TIME by elements[5].price_components[0]" in out
    total = next(line for line in out.splitlines() if line.strip().startswith("total_cost"))
    assert total.split()[1:] == ["12.38", "13.98"]
    assert "Explanation:" in out
    assert "step_size" in out and "rounded up to a multiple of 300 s" in out


def test_explain_json_lists_every_line(tmp_path: Path) -> None:
    cdr = write(tmp_path, "cdr.json", COMPLEX_SATURDAY_CDR)
    result = run(
        example("2.2.1", "tariff_4_complex"), cdr, "--json", "--explain", "--time-zone", "Europe/Amsterdam"
    )
    data = json.loads(result.output, parse_float=Decimal)
    kinds = [(line["kind"], line["dimension"], line["component"]) for line in data["explanation"]]
    assert ("flat", "FLAT", "elements[0].price_components[0]") in kinds
    assert ("step_size", "PARKING_TIME", "elements[5].price_components[0]") in kinds


def test_tariffs_from_a_list_an_envelope_and_a_cdr(tmp_path: Path) -> None:
    tariff = json.loads(Path(example("2.2.1", "tariff_1_simple_2hour")).read_text())
    session = {
        "start_date_time": "2024-01-15T10:00:00Z",
        "end_date_time": "2024-01-15T12:30:00Z",
        "kwh": 10,
        "charging_periods": [
            {"start_date_time": "2024-01-15T10:00:00Z", "dimensions": [{"type": "ENERGY", "volume": 10}]}
        ],
        "total_cost": {"excl_vat": 0},
    }
    s = write(tmp_path, "session.json", session)
    envelope = {"data": [tariff], "status_code": 1000, "timestamp": "2024-01-15T00:00:00Z"}
    for source in ([tariff], envelope, {"tariffs": [tariff], "start_date_time": "2024-01-15T10:00:00Z"}):
        result = run(write(tmp_path, "t.json", source), s, "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["total_cost"] == {"excl_vat": 5.0, "incl_vat": 5.5}


def test_211_version_detected_and_total_cost_is_a_number(tmp_path: Path) -> None:
    cdr = example("2.1.1", "mod_cdrs__01__example_of_a_cdr")
    result = run(cdr, cdr, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output, parse_float=Decimal)
    assert isinstance(data["total_cost"], Decimal)  # 2.1.1: a number, excl. VAT
    assert "stop_date_time" in data and "total_time_cost" not in data
    forced = run(cdr, cdr, "--json", "--ocpi-version", "2.1.1")  # was --version: one name everywhere
    assert forced.output == result.output


def test_ongoing_session_with_now(tmp_path: Path) -> None:
    tariff = example("2.2.1", "tariff_1_simple_2hour")
    session = write(
        tmp_path,
        "s.json",
        {
            "start_date_time": "2024-01-15T10:00:00Z",
            "kwh": 3,
            "status": "ACTIVE",
            "total_cost": {"excl_vat": 0},
        },
    )
    result = run(tariff, session, "--json", "--now", "2024-01-15T11:00:00Z")
    data = json.loads(result.output, parse_float=Decimal)
    assert data["provisional"] is True
    assert data["total_cost"] == {"excl_vat": Decimal("2.00"), "incl_vat": Decimal("2.20")}


@pytest.mark.parametrize(
    ("tariff_data", "session_data", "args", "message"),
    [
        ("not json", {}, [], "not valid JSON"),
        ({"id": "1"}, {"start_date_time": "2024-01-15T10:00:00Z"}, [], "neither a Tariff"),
        ({"id": "1", "currency": "EUR", "elements": []}, {"id": "x"}, [], "not an OCPI Session or CDR"),
        (
            {
                "id": "1",
                "currency": "EUR",
                "elements": [{"price_components": [{"type": "TIME", "price": 1}]}],
            },
            {"start_date_time": "2024-01-15T10:00:00Z"},
            ["--time-zone", "Mars/Olympus"],
            "unknown time zone",
        ),
    ],
)
def test_errors_are_reported_not_raised(
    tmp_path: Path, tariff_data: Any, session_data: Any, args: list[str], message: str
) -> None:
    t = tmp_path / "t.json"
    t.write_text(tariff_data if isinstance(tariff_data, str) else json.dumps(tariff_data))
    result = run(str(t), write(tmp_path, "s.json", session_data), *args)
    assert result.exit_code == 1
    assert message in result.output
