"""The conversion engine (``evroam.ocpi._convert_core``) on small made-up classes, and the refusals
its generated writers can make in each OCPI version, checked against docs/versions.md."""

from __future__ import annotations

import inspect
import traceback
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import msgspec
import pytest

from evroam import model as m
from evroam.core.types import CiString, CiString4, DateTime
from evroam.model.common import CanonicalModel, NotRepresentable
from evroam.ocpi._convert_core import Spec, Version, source, when_missing
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_1_1 import convert as c1
from evroam.ocpi.v2_2_1 import convert as c2
from evroam.ocpi.v2_3_0 import convert as c3

# --- a canonical model and a "wire version" that lacks the colour BLUE ----------------------------


class Colour(StrEnum):
    RED = "RED"
    GREEN = "GREEN"
    BLUE = "BLUE"


class WireColour(StrEnum):
    RED = "RED"
    GREEN = "GREEN"


class Part(CanonicalModel, frozen=True):
    id: CiString
    colour: Colour
    shade: Colour | None = None
    labels: tuple[str, ...] | None = None  # an OpenEnum: any string
    weight: int | None = None


class Box(CanonicalModel, frozen=True):
    name: str
    parts: tuple[Part, ...]
    spare: Part | None = None
    note: str | None = None


class WirePart(WireModel, kw_only=True):
    id: CiString4
    colour: WireColour
    shade: WireColour | None = None
    labels: list[WireColour] | None = None
    mass: int | None = None


class WireBox(WireModel, kw_only=True):
    name: str
    parts: Annotated[list[WirePart], msgspec.Meta(min_length=1)]
    spare: WirePart | None = None


SPECS = {Part: Spec(names={"weight": "mass"})}
T0 = DateTime.parse("2024-03-01T10:00:00Z")


def part(pid: str = "P1", colour: Colour = Colour.RED, **changes: object) -> Part:
    return msgspec.structs.replace(Part(id=CiString(pid), colour=colour), **changes)


def test_fields_are_mapped_by_name_renamed_and_dropped() -> None:
    v = Version("9.9", SPECS)
    write = v.writer(Box, WireBox)
    box = Box(name="b", parts=(part(weight=3),), note="not in the wire version")
    assert write(box) == WireBox(
        name="b", parts=[WirePart(id=CiString4("P1"), colour=WireColour.RED, mass=3)]
    )
    read = v.reader(WireBox, Box)
    back = read(write(box))
    assert back == msgspec.structs.replace(box, note=None)
    assert type(back.parts) is tuple and type(back.parts[0].colour) is Colour


def test_a_value_the_version_lacks_is_dropped_from_lists_none_when_optional_refused_when_required() -> None:
    write = Version("9.9", SPECS).writer(Part, WirePart)
    out = write(part(shade=Colour.BLUE, labels=("GREEN", "BLUE", "PINK", "RED")))
    assert out.shade is None
    assert out.labels == ["GREEN", "RED"]
    with pytest.raises(NotRepresentable) as caught:
        write(part(colour=Colour.BLUE))
    assert (caught.value.version, caught.value.path) == ("9.9", "WirePart.colour")


def test_an_object_the_version_cannot_write_is_dropped_from_its_list_and_an_empty_list_refused() -> None:
    write = Version("9.9", SPECS).writer(Box, WireBox)
    out = write(Box(name="b", parts=(part("P1", Colour.BLUE), part("P2")), spare=part("P3", Colour.BLUE)))
    assert [p.id for p in out.parts] == ["P2"]
    assert out.spare is None
    with pytest.raises(NotRepresentable) as caught:
        write(Box(name="b", parts=(part("P1", Colour.BLUE),)))
    assert caught.value.path == "WireBox.parts"


def test_a_fallback_replaces_the_values_the_version_lacks() -> None:
    v = Version("9.9", SPECS, fallbacks={WireColour: WireColour.GREEN})
    out = v.writer(Box, WireBox)(Box(name="b", parts=(part(colour=Colour.BLUE, labels=("BLUE",)),)))
    assert (out.parts[0].colour, out.parts[0].labels) == (WireColour.GREEN, [WireColour.GREEN])


def test_identifiers_are_checked_against_the_wire_length() -> None:
    write = Version("9.9", SPECS).writer(Part, WirePart)
    assert write(part("ABCD")).id == "ABCD"
    with pytest.raises(NotRepresentable) as caught:
        write(part("ABCDE"))
    assert (caught.value.path, caught.value.reason) == ("WirePart.id", "Expected `str` of length <= 4")


def test_checks_run_first_and_overrides_and_params_compute_fields() -> None:
    specs = {
        Part: Spec(
            checks=(when_missing("Part.weight", "the weight is unknown", "weight"),),
            write={"mass": lambda p, factor: p.weight * factor},
            write_params=("factor",),
        )
    }
    v = Version("9.9", specs)
    write = v.writer_with_params(Part, WirePart)
    assert write(part(weight=2), 10).mass == 20
    with pytest.raises(NotRepresentable) as caught:
        write(part("TOO-LONG", weight=None), 10)  # the check comes before the id's length
    assert (caught.value.path, caught.value.reason) == ("Part.weight", "the weight is unknown")
    with pytest.raises(TypeError):
        v.writer(Part, WirePart)  # the plain accessor refuses a pair that takes parameters
    assert "Part.weight" in v.refusals()


def test_a_wire_field_without_a_source_is_an_error_when_the_converter_is_built() -> None:
    class Crate(CanonicalModel, frozen=True):
        name: str

    with pytest.raises(TypeError, match=r"WireBox\.parts has no source in Crate"):
        Version("9.9", {}).writer(Crate, WireBox)


def test_the_generated_code_can_be_read_and_shows_in_tracebacks() -> None:
    write = Version("9.9", SPECS).writer(Part, WirePart)
    text = source(write)
    assert text.startswith("def write_WirePart") and "fit(" in text
    try:
        write(part("ABCDE"))
    except NotRepresentable as error:
        shown = "".join(traceback.format_exception(error))
    assert "<evroam.ocpi 9.9 write_WirePart" in shown
    assert "id=fit(" in shown  # the generated line itself


# --- the OCPI versions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        (c1, {"Connector.standard", "Connector.power_type", "EVSE.connectors", "CDR.charging_periods"}),
        (c2, {"Location.time_zone", "Connector.standard", "EVSE.connectors", "CDR.charging_periods"}),
        (c3, {"Location.time_zone", "CDR.charging_periods", "CommandResponse.timeout"}),
    ],
    ids=["2.1.1", "2.2.1", "2.3.0"],
)
def test_every_refusal_of_the_generated_writers_is_documented(module: object, expected: set[str]) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "versions.md").read_text(encoding="utf-8")
    version: Version = module._V  # type: ignore[attr-defined]
    found = version.refusals()
    assert expected <= found
    assert sorted(p for p in found if f"`{p}`" not in doc) == []


def test_2_3_0_writes_connectors_2_2_1_would_drop() -> None:
    """What is dropped depends on the version's enums only: 2.3.0 ConnectorType is an OpenEnum."""
    assert "Connector.standard" not in c3._V.refusals()  # type: ignore[attr-defined]


def _evse(uid: str) -> m.EVSE:
    connector = m.Connector(
        id=CiString("1"),
        standard="IEC_62196_T2",
        format=m.ConnectorFormat.SOCKET,
        power_type=m.PowerType.AC_3_PHASE,
        max_voltage=230,
        max_amperage=32,
        last_updated=T0,
    )
    return m.EVSE(uid=CiString(uid), status=m.Status.AVAILABLE, connectors=(connector,), last_updated=T0)


def test_2_1_1_identifiers_are_checked_against_the_length_2_1_1_allows() -> None:
    assert c1.evse_from_model(_evse("E" * 39)).uid == "E" * 39
    with pytest.raises(NotRepresentable) as caught:
        c1.evse_from_model(_evse("E" * 40))
    assert (caught.value.version, caught.value.path) == ("2.1.1", "EVSE.uid")
    assert caught.value.reason == "longer than the 39 characters 2.1.1 allows"
    token = m.Token(
        country_code=CiString("NL"),
        party_id=CiString("EXA"),
        uid=CiString("U1"),
        type="RFID",
        contract_id=CiString("C" * 37),
        issuer="Example",
        valid=True,
        whitelist=m.WhitelistType.ALWAYS,
        last_updated=T0,
    )
    with pytest.raises(NotRepresentable) as refused:
        c1.token_from_model(token)
    assert refused.value.path == "Token.auth_id"


def test_a_token_identifier_too_long_is_refused_under_the_path_of_its_holder() -> None:
    token = m.CdrToken(
        contract_id=CiString("NL-EXA-C1"),
        uid=CiString("U" * 37),
        type="RFID",
        country_code=CiString("NL"),
        party_id=CiString("EXA"),
    )
    session = m.Session(
        country_code=CiString("NL"),
        party_id=CiString("EXA"),
        id=CiString("S1"),
        start_date_time=T0,
        kwh=Decimal("1"),
        cdr_token=token,
        auth_method=m.AuthMethod.WHITELIST,
        location_id=CiString("LOC1"),
        evse_uid=CiString("E1"),
        connector_id=CiString("1"),
        currency="EUR",
        status=m.SessionStatus.ACTIVE,
        last_updated=T0,
    )
    for convert in (c2.session_from_model, c3.session_from_model):
        with pytest.raises(NotRepresentable) as caught:
            convert(session)
        assert caught.value.path == "Session.cdr_token.uid"


@pytest.mark.parametrize("module", [c1, c2, c3], ids=["2.1.1", "2.2.1", "2.3.0"])
def test_every_exported_converter_exists(module: object) -> None:
    names = module.__all__  # type: ignore[attr-defined]
    assert names == sorted(names, key=lambda n: (n != "VERSION", n))
    for name in names[1:]:
        assert callable(getattr(module, name)), name


def test_2_1_1_readers_of_owned_objects_take_the_owner_by_keyword() -> None:
    """``evroam.ocpi.converters`` tells the versions apart by this signature."""
    owned = ("location", "tariff", "session", "cdr", "token", "reserve_now", "start_session")
    for kind in owned:
        parameters = inspect.signature(getattr(c1, f"{kind}_to_model")).parameters
        assert parameters["country_code"].kind is inspect.Parameter.KEYWORD_ONLY, kind
        assert "country_code" not in inspect.signature(getattr(c2, f"{kind}_to_model")).parameters
        assert "country_code" not in inspect.signature(getattr(c3, f"{kind}_to_model")).parameters
    assert "location" in inspect.signature(c1.session_from_model).parameters
