"""evroam.core.jsonitems: the items of a top-level JSON array cut out of chunks, whatever the cut."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evroam.core.jsonitems import JsonItemsError, iter_items


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def items_of(data: bytes, size: int) -> list[Any]:
    return [json.loads(item) for item in iter_items(chunked(data, size))]


TRICKY = [
    # whitespace everywhere, nested arrays, strings holding brackets, quotes, commas and escapes
    b' \n\t[ \r\n{"a" : "x]}\\"{[,", "b": [1, [2, {"c": "\\\\"}], []]} ,\n {"d": null} , 3 , '
    b'"s,]\\"" , [ ] , '
    b'{"e": "\\u005d\\n"}, -1.5e3, true, false, null ]\n ',
    b"[]",
    b" [ ] ",
    b"[{}]",
    b'[[["deep"]]]',
    b'["\\\\", "\\\\\\"", "]"]',  # a backslash, an escaped quote after one, a bracket in a string
]


@pytest.mark.parametrize("data", TRICKY)
@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64, 1 << 20])
def test_the_items_are_those_of_the_array_whatever_the_chunk_size(data: bytes, size: int) -> None:
    assert items_of(data, size) == json.loads(data)


@pytest.mark.parametrize("size", [1, 4, 1000])
def test_a_single_object_is_one_item(size: int) -> None:
    data = b'  {"id": "LOC1", "evses": [{"uid": "]"}]}  \n'
    assert items_of(data, size) == [json.loads(data)]


def test_items_come_out_before_the_whole_input_is_read() -> None:
    read: list[int] = []

    def chunks() -> Any:
        for n in range(100):
            read.append(n)
            yield b"[" if n == 0 else b'{"n": %d},' % n
        yield b'{"n": 100}]'

    stream = iter_items(chunks())
    assert json.loads(next(stream)) == {"n": 1}
    assert len(read) <= 3  # one item needs a chunk or two, not all of them


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "no JSON value"),
        (b"   ", "no JSON value"),
        (b'"text"', "expected a JSON array or object"),
        (b"[1,,2]", "an array item is missing"),
        (b"[1,]", "an array item is missing"),
        (b'[{"a": 1}', "the array is not closed"),
        (b'[{"a": 1}] [', "unexpected data after the JSON value"),
        (b'[{"a": "x]', "unterminated string or value"),
        (b'[{"a": 1} {"b": 2}]', "expected ',' or ']' after an array item"),
        (b'{"a": 1} {"b": 2}', "unexpected data after the JSON value"),
    ],
)
@pytest.mark.parametrize("size", [1, 3, 1000])
def test_malformed_input_is_refused_with_where(data: bytes, message: str, size: int) -> None:
    with pytest.raises(JsonItemsError, match=message) as refused:
        list(iter_items(chunked(data, size)))
    assert 0 <= refused.value.offset <= len(data)


_scalars = st.none() | st.booleans() | st.integers() | st.text(alphabet=st.sampled_from('ab[]{},"\\ \n:é'))
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(items=st.lists(_values, max_size=6), size=st.integers(min_value=1, max_value=40), indent=st.booleans())
def test_any_array_comes_back_item_by_item(items: list[Any], size: int, indent: bool) -> None:
    data = json.dumps(items, indent=2 if indent else None, ensure_ascii=False).encode()
    assert items_of(data, size) == items
