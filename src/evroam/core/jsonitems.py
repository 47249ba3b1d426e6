"""The items of a top-level JSON array, one at a time, from a stream of byte chunks.

``evroam locations import`` reads files of any size (a CPO's 100,000 locations are about 150 MB of
JSON): :func:`iter_items` cuts the bytes of each top-level array item out of the chunks as they come
(a single top-level object counts as an array of one), so that only one chunk and the item in progress
are held at a time. The item bytes are not checked beyond their brackets and strings: the caller
decodes each one (msgspec), which reports anything else wrong with it.

The scanner skips, with one regular expression match, everything between two brackets (whitespace,
numbers, literals, and strings with their escapes, brackets inside strings included), so its Python
loop runs once per bracket, not once per byte.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

__all__ = ["JsonItemsError", "iter_items"]

# everything up to the next bracket or unterminated string: runs of plain bytes and whole strings
_SKIP = re.compile(rb'(?:[^"\[\]{}]+|"[^"\\]*(?:\\.[^"\\]*)*")*', re.DOTALL)
# a scalar item of the top-level array: up to the next comma or closing bracket outside a string
_SCALAR = re.compile(rb'(?:[^",\]\[{}]+|"[^"\\]*(?:\\.[^"\\]*)*")*', re.DOTALL)
_SPACE = re.compile(rb"[ \t\r\n]*")
_OPEN = frozenset(b"[{")
_CLOSE = frozenset(b"]}")


class JsonItemsError(ValueError):
    """The bytes are not a JSON array (or object) of items; ``offset``: where, in bytes from the start."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} at byte {offset}")
        self.message = message
        self.offset = offset


class _Buffer:
    """The unread bytes, refilled from the chunks; positions are kept relative to ``data``."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self.data = b""
        self.base = 0  # offset in the stream of data[0]
        self.eof = False

    def more(self, keep_from: int) -> int:
        """Drop ``data[:keep_from]``, append the next chunk; returns how far positions moved (to
        subtract from them). At the end of the stream sets ``eof``."""
        for chunk in self._chunks:
            if chunk:
                self.data = self.data[keep_from:] + chunk
                self.base += keep_from
                return keep_from
        self.eof = True
        return 0


def iter_items(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Each item of the top-level JSON array in ``chunks`` as bytes (a top-level object: that object).

    Raises :class:`JsonItemsError` when the top level is neither, an array is not closed, or something
    other than whitespace follows it."""
    buf = _Buffer(chunks)
    pos = _skip_space(buf, 0)
    if pos >= len(buf.data):
        raise JsonItemsError("no JSON value", buf.base + pos)
    first = buf.data[pos]
    if first == ord("{"):
        item, pos = _bracketed(buf, pos)
        yield item
    elif first == ord("["):
        pos += 1
        expect_item = True  # after "[" or ","
        pos = _skip_space(buf, pos)
        if pos < len(buf.data) and buf.data[pos] == ord("]"):
            pos += 1
        else:
            while True:
                pos = _skip_space(buf, pos)
                if pos >= len(buf.data):
                    raise JsonItemsError("the array is not closed", buf.base + pos)
                c = buf.data[pos]
                if expect_item:
                    if c in _OPEN:
                        item, pos = _bracketed(buf, pos)
                    elif c in _CLOSE or c == ord(","):
                        raise JsonItemsError("an array item is missing", buf.base + pos)
                    else:
                        item, pos = _scalar(buf, pos)
                    yield item
                    expect_item = False
                elif c == ord(","):
                    pos += 1
                    expect_item = True
                elif c == ord("]"):
                    pos += 1
                    break
                else:
                    raise JsonItemsError("expected ',' or ']' after an array item", buf.base + pos)
    else:
        raise JsonItemsError("expected a JSON array or object", buf.base + pos)
    pos = _skip_space(buf, pos)
    if pos < len(buf.data):
        raise JsonItemsError("unexpected data after the JSON value", buf.base + pos)


def _skip_space(buf: _Buffer, pos: int) -> int:
    while True:
        end = _SPACE.match(buf.data, pos)
        assert end is not None
        pos = end.end()
        if pos < len(buf.data) or buf.eof:
            return pos
        pos -= buf.more(pos)


def _bracketed(buf: _Buffer, start: int) -> tuple[bytes, int]:
    """The object or array starting at ``start`` (its bytes) and the position after it."""
    depth = 0
    pos = start
    while True:
        data = buf.data
        match = _SKIP.match(data, pos)
        assert match is not None
        pos = match.end()
        if pos >= len(data) or data[pos] == ord('"'):  # the end of the bytes, or of them within a string
            if buf.eof:
                raise JsonItemsError("unterminated string or value", buf.base + pos)
            moved = buf.more(start)
            start -= moved
            pos -= moved
            continue
        c = data[pos]
        pos += 1
        if c in _OPEN:
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return data[start:pos], pos


def _scalar(buf: _Buffer, start: int) -> tuple[bytes, int]:
    """A string, number or literal item starting at ``start`` and the position after it."""
    pos = start
    while True:
        data = buf.data
        match = _SCALAR.match(data, pos)
        assert match is not None
        pos = match.end()
        if pos >= len(data) or data[pos] == ord('"'):
            if buf.eof:
                if pos >= len(data):
                    return data[start:pos].rstrip(), pos
                raise JsonItemsError("unterminated string", buf.base + pos)
            moved = buf.more(start)
            start -= moved
            pos -= moved
            continue
        return data[start:pos].rstrip(), pos
