"""Whatever arrives on the wire, decoding fails only with InvalidJson (HTTP 400) or ValidationFailed (2001).

Three sources of input, for every wire model of every version table:
random bytes, random JSON documents, and random mutations of the official examples.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evroam.core.codec import decode, encode
from evroam.core.errors import InvalidJson, ValidationFailed
from evroam.ocpi.registry import MODELLED_VERSIONS, spec_for
from tests.conftest import OCPI_EXAMPLES, ocpi_examples

FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def all_models() -> list[tuple[str, str, Any]]:
    rows = []
    for version in MODELLED_VERSIONS:
        for name, model in sorted(spec_for(version).models.items()):
            rows.append((version, name, model))
    return rows


MODELS = all_models()
MODEL_IDS = [f"{v}-{n}" for v, n, _ in MODELS]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)


def assert_decodes_or_fails_cleanly(data: bytes, model: Any) -> None:
    try:
        obj = decode(data, model)
    except (InvalidJson, ValidationFailed) as exc:
        assert exc.http_status == 400
        if isinstance(exc, ValidationFailed):
            assert exc.ocpi_status == 2001
            assert exc.violations, "a 2001 must list at least one violation"
        return
    # What decodes must encode again and decode to the same object.
    assert decode(encode(obj), model) == obj


def test_every_version_table_declares_its_models() -> None:
    for version in MODELLED_VERSIONS:
        assert len(spec_for(version).models) >= 20, version


@pytest.mark.parametrize("model", [m for _, _, m in MODELS], ids=MODEL_IDS)
@FUZZ
@given(data=st.binary(max_size=200))
def test_random_bytes(model: Any, data: bytes) -> None:
    assert_decodes_or_fails_cleanly(data, model)


@pytest.mark.parametrize("model", [m for _, _, m in MODELS], ids=MODEL_IDS)
@FUZZ
@given(value=json_values)
def test_random_json(model: Any, value: Any) -> None:
    assert_decodes_or_fails_cleanly(json.dumps(value).encode(), model)


def mutate(doc: Any, draw: Any) -> Any:
    """Apply one random change somewhere inside a JSON document."""
    if isinstance(doc, dict) and doc:
        key = draw(st.sampled_from(sorted(doc)))
        action = draw(st.sampled_from(["drop", "replace", "descend", "add"]))
        copy = dict(doc)
        if action == "drop":
            del copy[key]
        elif action == "replace":
            copy[key] = draw(json_values)
        elif action == "add":
            copy[draw(st.text(max_size=10))] = draw(json_values)
        else:
            copy[key] = mutate(doc[key], draw)
        return copy
    if isinstance(doc, list) and doc:
        index = draw(st.integers(min_value=0, max_value=len(doc) - 1))
        copy = list(doc)
        if draw(st.booleans()):
            copy[index] = mutate(doc[index], draw)
        else:
            del copy[index]
        return copy
    return draw(json_values)


def _decodes(doc: Any, model: Any) -> bool:
    try:
        decode(json.dumps(doc).encode(), model)
    except (InvalidJson, ValidationFailed):
        return False
    return True


def example_documents() -> list[tuple[str, Any, list[Any]]]:
    """Each official example object with the models of its version that accept it unchanged."""
    if not OCPI_EXAMPLES.exists():
        return []
    docs = []
    for version in MODELLED_VERSIONS:
        models = list(spec_for(version).models.values())
        for path in ocpi_examples(version):
            doc = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(doc, dict) and "status_code" in doc:
                doc = doc.get("data")
            if not isinstance(doc, dict):
                continue
            matching = [m for m in models if _decodes(doc, m)]
            if matching:
                docs.append((f"{version}/{path.name}", doc, matching))
    return docs


EXAMPLES = example_documents()


def test_examples_are_available_for_mutation() -> None:
    for version in MODELLED_VERSIONS:
        ocpi_examples(version)  # skips with a message (fails in CI) when ../shared is absent
    assert len(EXAMPLES) >= 100


@pytest.mark.parametrize(("doc", "models"), [(d, m) for _, d, m in EXAMPLES], ids=[i for i, _, _ in EXAMPLES])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_examples(doc: Any, models: list[Any], data: st.DataObject) -> None:
    mutated = mutate(doc, data.draw)
    model = data.draw(st.sampled_from(models))
    assert_decodes_or_fails_cleanly(json.dumps(mutated).encode(), model)
