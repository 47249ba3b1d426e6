"""Official examples, read into the canonical model and written back in the same version, are unchanged.

For every example that shows whole objects (Location, Tariff, Session, CDR, Token, Credentials and,
in 2.3.0, Terminal; also inside envelopes and lists) of OCPI 2.1.1, 2.2.1 and 2.3.0:
wire -> canonical -> same-version wire gives byte-identical JSON, the result is valid wire JSON, and
the canonical object survives its own JSON encoding (as the store keeps it).

The shared data (the converters per version and wire type, the example cases, the loader) is also
used by ``test_convert_*.py``. The example tables are the wire helpers' (``test_examples_v*.py``);
only the entries whose model is a whole object a converter exists for are taken, plus a few
known-broken examples repaired with the one missing field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, get_args, get_origin

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
from tests.conftest import shared_path
from tests.support.jsoncompare import load_json
from tests.unit import test_examples_v2_1_1 as ex1
from tests.unit import test_examples_v2_2_1 as ex2
from tests.unit import test_examples_v2_3_0 as ex3

#: The owner given to 2.1.1 readers (2.1.1 objects carry no country_code/party_id).
OWNER = {"country_code": "BE", "party_id": "BEC"}

Pair = tuple[Callable[[Any], Any], Callable[[Any], Any]]

CONVERTERS: dict[str, dict[type, Pair]] = {
    "2.1.1": {
        w1.Location: (partial(c1.location_to_model, **OWNER), c1.location_from_model),
        w1.Tariff: (partial(c1.tariff_to_model, **OWNER), c1.tariff_from_model),
        w1.Session: (partial(c1.session_to_model, **OWNER), c1.session_from_model),
        w1.CDR: (partial(c1.cdr_to_model, **OWNER), c1.cdr_from_model),
        w1.Token: (partial(c1.token_to_model, **OWNER), c1.token_from_model),
        w1.Credentials: (c1.credentials_to_model, c1.credentials_from_model),
    },
    "2.2.1": {
        w2.Location: (c2.location_to_model, c2.location_from_model),
        w2.Tariff: (c2.tariff_to_model, c2.tariff_from_model),
        w2.Session: (c2.session_to_model, c2.session_from_model),
        w2.CDR: (c2.cdr_to_model, c2.cdr_from_model),
        w2.Token: (c2.token_to_model, c2.token_from_model),
        w2.Credentials: (c2.credentials_to_model, c2.credentials_from_model),
    },
    "2.3.0": {
        w3.Location: (c3.location_to_model, c3.location_from_model),
        w3.Tariff: (c3.tariff_to_model, c3.tariff_from_model),
        w3.Session: (c3.session_to_model, c3.session_from_model),
        w3.CDR: (c3.cdr_to_model, c3.cdr_from_model),
        w3.Token: (c3.token_to_model, c3.token_from_model),
        w3.Credentials: (c3.credentials_to_model, c3.credentials_from_model),
        w3.Terminal: (c3.terminal_to_model, c3.terminal_from_model),
    },
}

_TABLES = {"2.1.1": (ex1.ROUND_TRIP, ex1.LENIENT), "2.2.1": (ex2.ROUND_TRIP,), "2.3.0": (ex3.ROUND_TRIP,)}

#: Known-broken examples that show a whole object once the one missing field is added:
#: (version, file) -> (wire type, JSON members to set at the top or in ``tariffs[0]``).
REPAIRED: dict[tuple[str, str], tuple[type, dict[str, Any], dict[str, Any]]] = {
    ("2.1.1", "mod_tariffs__01__example_new_tariff_2_euro_per_hour.json"): (
        w1.Tariff,
        {"last_updated": "2015-06-29T20:39:09Z"},
        {},
    ),
    ("2.2.1", "tariff_put_example.json"): (w2.Tariff, {"last_updated": "2018-12-05T12:01:09Z"}, {}),
    ("2.3.0", "tariff_put_example.json"): (w3.Tariff, {"last_updated": "2018-12-05T12:01:09Z"}, {}),
    ("2.3.0", "cdr_example.json"): (w3.CDR, {}, {"tax_included": "NO"}),
}


def _model(entry: Any) -> Any:
    return entry[0] if isinstance(entry, tuple) else entry


def _leaf(model: Any) -> Any:
    while get_origin(model) is not None:
        (model,) = get_args(model)
    return model


def cases(version: str, kinds: tuple[type, ...] | None = None) -> list[tuple[str, Any]]:
    """(file, model) of every example of ``version`` that shows whole objects a converter handles."""
    wanted = kinds if kinds is not None else tuple(CONVERTERS[version])
    out: list[tuple[str, Any]] = []
    for table in _TABLES[version]:
        for name, entry in table.items():
            model = _model(entry)
            if _leaf(model) in wanted:
                out.append((name, model))
    for (v, name), (model, _top, _tariff) in REPAIRED.items():
        if v == version and model in wanted:
            out.append((name, model))
    return sorted(out, key=lambda case: case[0])


def _path(version: str, name: str) -> Path:
    return shared_path("spec", "ocpi", "examples", version, name)


def load(version: str, name: str, model: Any) -> Any:
    """The decoded example (repaired first when it is a known-broken one)."""
    raw = _path(version, name).read_bytes()
    repair = REPAIRED.get((version, name))
    if repair is not None:
        _model_type, top, tariff = repair
        doc = load_json(raw)
        doc.update(top)
        for t in doc.get("tariffs", []):
            t.update(tariff)
        raw = encode(doc)
    return decode(raw, model)


def objects(decoded: Any, model: Any) -> Iterator[Any]:
    """The whole objects inside a decoded example (unwrapping envelopes and lists)."""
    origin = get_origin(model)
    if origin is list:
        (item,) = get_args(model)
        for element in decoded:
            yield from objects(element, item)
    elif origin is not None:  # an envelope: Envelope[X]
        (data,) = get_args(model)
        yield from objects(decoded.data, data)
    else:
        yield decoded


PARAMS = [pytest.param(v, name, model, id=f"{v}/{name}") for v in CONVERTERS for name, model in cases(v)]


@pytest.mark.parametrize(("version", "name", "model"), PARAMS)
def test_example_survives_canonical_round_trip(version: str, name: str, model: Any) -> None:
    decoded = load(version, name, model)
    found = list(objects(decoded, model))
    assert found, f"{name} holds no object"
    for wire in found:
        to_model, from_model = CONVERTERS[version][type(wire)]
        canonical = to_model(wire)
        assert isinstance(canonical, m.CanonicalModel)
        back = from_model(canonical)
        assert type(back) is type(wire)
        assert encode(back) == encode(wire)
        # what the converter wrote is valid wire JSON of that version
        assert encode(decode(encode(back), type(wire))) == encode(wire)
        # the canonical object survives its own JSON encoding unchanged
        stored = decode(encode(canonical), type(canonical))
        assert stored == canonical
        assert encode(stored) == encode(canonical)


@pytest.mark.parametrize(
    ("version", "kinds"),
    [
        ("2.1.1", {w1.Location, w1.Tariff, w1.Session, w1.CDR, w1.Token, w1.Credentials}),
        ("2.2.1", {w2.Location, w2.Tariff, w2.Session, w2.CDR, w2.Token, w2.Credentials}),
        ("2.3.0", {w3.Location, w3.Tariff, w3.Session, w3.CDR, w3.Token, w3.Credentials, w3.Terminal}),
    ],
)
def test_the_examples_cover_every_converted_object(version: str, kinds: set[type]) -> None:
    covered = set()
    for name, model in cases(version):
        covered.update(type(o) for o in objects(load(version, name, model), model))
    assert covered == kinds


def test_2_1_1_objects_take_the_owner_given() -> None:
    location = load("2.1.1", "mod_locations__06__example.json", w1.Location)
    canonical = CONVERTERS["2.1.1"][w1.Location][0](location)
    assert (canonical.country_code, canonical.party_id, canonical.id) == ("BE", "BEC", "LOC1")
    assert canonical.country_code == "be"  # CiString: case-insensitive, spelling kept
    assert str.__str__(canonical.country_code) == OWNER["country_code"]
    assert canonical.publish is True
    assert canonical.parking_type == "ON_STREET"
    connector = canonical.evses[0].connectors[0]
    assert (connector.max_voltage, connector.max_amperage, connector.tariff_ids) == (220, 16, ("11",))


def test_2_1_1_cdr_keeps_its_location_and_summarises_it() -> None:
    cdr = load("2.1.1", "mod_cdrs__01__example_of_a_cdr.json", w1.CDR)
    canonical = CONVERTERS["2.1.1"][w1.CDR][0](cdr)
    assert canonical.location is not None and canonical.location.id == "LOC1"
    summary = canonical.cdr_location
    assert (summary.id, summary.evse_uid, summary.evse_id, summary.connector_id) == (
        "LOC1",
        "3256",
        "BE-BEC-E041503003",
        "1",
    )
    assert summary.connector_standard == "IEC_62196_T2"
    assert summary.connector_format is m.ConnectorFormat.SOCKET
    assert summary.connector_power_type is m.PowerType.AC_1_PHASE
    assert canonical.cdr_token == m.CdrToken(contract_id=CiString("DE8ACC12E46L89"))
    assert canonical.cdr_token.uid is None
    assert canonical.total_cost == m.Price(before_taxes=Decimal("4.00"))
    assert canonical.tariffs is not None and canonical.tariffs[0].party_id == "BEC"


def test_2_1_1_session_references_its_first_evse_and_connector() -> None:
    name = "mod_sessions__03__simple_session_example_of_a_short_finished_session.json"
    session = CONVERTERS["2.1.1"][w1.Session][0](load("2.1.1", name, w1.Session))
    assert (session.location_id, session.evse_uid, session.connector_id) == ("LOC1", "3256", "1")
    assert session.cdr_token.contract_id == "DE8ACC12E46L89"
    assert session.total_cost == m.Price(before_taxes=Decimal("8.50"))
    assert session.location is not None and session.location.evses is not None


def test_2_3_0_open_enum_values_survive() -> None:
    token = load("2.3.0", "token_example_2_full_rfid.json", w3.Token)
    strange = decode(encode(token).replace(b'"RFID"', b'"FUTURE_TYPE"'), w3.Token)
    to_model, from_model = CONVERTERS["2.3.0"][w3.Token]
    canonical = to_model(strange)
    assert canonical.type == "FUTURE_TYPE"
    assert encode(from_model(canonical)) == encode(strange)
