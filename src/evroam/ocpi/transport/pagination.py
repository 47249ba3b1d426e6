"""Pagination of GET-list requests: query parameters in, ``X-Total-Count`` / ``X-Limit`` / ``Link`` out.

The same in all three versions: ``offset`` (default 0), ``limit`` (the server may cap it and reports
its cap in ``X-Limit``), ``date_from`` (inclusive) and ``date_to`` (exclusive) on ``last_updated``.
A page that is not the last carries ``Link: <url>; rel="next"`` repeating every filter of the request
with the next offset; clients follow ``next`` until it is absent (:func:`next_link`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import msgspec

from evroam.core.errors import ValidationFailed, Violation
from evroam.core.types import DateTime

__all__ = [
    "LINK",
    "X_LIMIT",
    "X_TOTAL_COUNT",
    "LinkValue",
    "PageRequest",
    "QueryParams",
    "format_link",
    "next_link",
    "page_headers",
    "parse_link_header",
    "parse_page_request",
    "parse_total_count",
]

X_TOTAL_COUNT = "X-Total-Count"
X_LIMIT = "X-Limit"
LINK = "Link"

#: Query parameters as a mapping, a query string, or (name, value) pairs (repeated names allowed).
QueryParams = Mapping[str, str] | str | Iterable[tuple[str, str]]

_PAGING = ("offset", "limit", "date_from", "date_to")
_DIGITS = re.compile(r"^[0-9]+$")
_NEGATIVE = re.compile(r"^-[0-9]+$")


class PageRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What one GET-list request asked for, with ``limit`` already capped by the server.

    ``filters`` are the request's other query parameters, in order, to be repeated in the next link.
    """

    offset: int = 0
    limit: int
    date_from: DateTime | None = None
    date_to: DateTime | None = None
    filters: tuple[tuple[str, str], ...] = ()

    @property
    def end(self) -> int:
        """One past the last index this page may hold."""
        return self.offset + self.limit

    def window(self, total: int) -> range:
        """The indices (into the ``total`` matching objects) that this page returns."""
        return range(min(self.offset, total), min(self.end, total))

    def has_next(self, total: int) -> bool:
        """Whether objects remain after this page."""
        return self.end < total

    def matches(self, last_updated: datetime) -> bool:
        """``date_from <= last_updated < date_to`` (each bound only when given)."""
        moment = DateTime.from_datetime(last_updated)
        if self.date_from is not None and moment < self.date_from:
            return False
        return not (self.date_to is not None and moment >= self.date_to)


def _pairs(params: QueryParams) -> list[tuple[str, str]]:
    if isinstance(params, str):
        return parse_qsl(params.lstrip("?"), keep_blank_values=True)
    if isinstance(params, Mapping):
        multi = getattr(params, "multi_items", None)  # Litestar / Starlette multi-dicts
        if callable(multi):
            return [(str(k), str(v)) for k, v in multi()]
        return [(str(k), str(v)) for k, v in params.items()]
    return [(str(k), str(v)) for k, v in params]


def _count(name: str, value: str, out: list[Violation]) -> int | None:
    if _DIGITS.fullmatch(value):
        return int(value)
    if _NEGATIVE.fullmatch(value):
        out.append(Violation(name, f"must not be negative, got {value!r}"))
    else:
        out.append(Violation(name, f"must be a whole number, got {value!r}"))
    return None


def parse_page_request(params: QueryParams, *, max_limit: int) -> PageRequest:
    """Read ``offset``, ``limit``, ``date_from``, ``date_to`` and keep every other parameter as a filter.

    ``limit`` defaults to ``max_limit`` and is capped by it; it must be at least 1 (a ``limit=0``
    page could never be followed). An empty value counts as absent. Every bad value is reported at
    once in one :class:`~evroam.core.errors.ValidationFailed` whose paths are the parameter names.
    """
    if max_limit < 1:
        raise ValueError("the server's maximum page size must be at least 1")
    violations: list[Violation] = []
    seen: dict[str, str] = {}
    filters: list[tuple[str, str]] = []
    for name, value in _pairs(params):
        if name not in _PAGING:
            filters.append((name, value))
        elif name in seen:
            violations.append(Violation(name, "given more than once"))
        else:
            seen[name] = value.strip()
    offset = 0
    limit = max_limit
    dates: dict[str, DateTime | None] = {"date_from": None, "date_to": None}
    if seen.get("offset"):
        offset = _count("offset", seen["offset"], violations) or 0
    if seen.get("limit"):
        asked = _count("limit", seen["limit"], violations)
        if asked == 0:
            violations.append(Violation("limit", "must be at least 1"))
        elif asked is not None:
            limit = min(asked, max_limit)
    for name in dates:
        if seen.get(name):
            try:
                dates[name] = DateTime.parse(seen[name])
            except ValueError as exc:
                violations.append(Violation(name, f"{exc}, got {seen[name]!r}"))
    if violations:
        raise ValidationFailed(violations)
    return PageRequest(
        offset=offset,
        limit=limit,
        date_from=dates["date_from"],
        date_to=dates["date_to"],
        filters=tuple(filters),
    )


def _query(page: PageRequest, offset: int) -> str:
    pairs: list[tuple[str, str]] = [("offset", str(offset)), ("limit", str(page.limit))]
    if page.date_from is not None:
        pairs.append(("date_from", page.date_from.to_json()))
    if page.date_to is not None:
        pairs.append(("date_to", page.date_to.to_json()))
    pairs.extend(page.filters)
    return urlencode(pairs, quote_via=quote, safe="")


def format_link(url: str, rel: str = "next") -> str:
    """One ``Link`` header value: ``<url>; rel="next"``."""
    return f'<{url}>; rel="{rel}"'


def page_headers(url: str, page: PageRequest, total: int, *, max_limit: int) -> dict[str, str]:
    """The pagination headers of the answer to ``page`` when ``total`` objects match its filters.

    ``url`` is the endpoint's public URL (a query string or fragment on it is dropped: the next link's
    query is rebuilt from ``page``). ``Link`` is present only when objects remain after this page.
    """
    if total < 0:
        raise ValueError("total must not be negative")
    headers = {X_TOTAL_COUNT: str(total), X_LIMIT: str(max_limit)}
    if page.has_next(total):
        scheme, netloc, path, _, _ = urlsplit(url)
        headers[LINK] = format_link(urlunsplit((scheme, netloc, path, _query(page, page.end), "")))
    return headers


class LinkValue(msgspec.Struct, frozen=True, kw_only=True):
    """One link of a ``Link`` header (RFC 8288): its target and relation types (lower-cased)."""

    url: str
    rels: tuple[str, ...] = ()


def _skip_spaces(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t":
        i += 1
    return i


def _parse_one_header(text: str, out: list[LinkValue]) -> None:
    i, n = 0, len(text)
    while i < n:
        start = text.find("<", i)
        if start < 0:
            return
        close = text.find(">", start + 1)
        if close < 0:
            return
        url = text[start + 1 : close].strip()
        rels: list[str] = []
        i = close + 1
        # parameters: ; name[=value|="quoted"] ... up to the next top-level comma
        while i < n:
            i = _skip_spaces(text, i)
            if i >= n or text[i] == ",":
                i += 1
                break
            if text[i] != ";":
                i += 1  # stray character: skip it
                continue
            i = _skip_spaces(text, i + 1)
            name_end = i
            while name_end < n and text[name_end] not in "=;,":
                name_end += 1
            name = text[i:name_end].strip().lower()
            i = name_end
            value = ""
            if i < n and text[i] == "=":
                i = _skip_spaces(text, i + 1)
                if i < n and text[i] == '"':
                    i += 1
                    chars: list[str] = []
                    while i < n and text[i] != '"':
                        if text[i] == "\\" and i + 1 < n:
                            i += 1
                        chars.append(text[i])
                        i += 1
                    i += 1  # closing quote
                    value = "".join(chars)
                else:
                    value_end = i
                    while value_end < n and text[value_end] not in ";,":
                        value_end += 1
                    value = text[i:value_end].strip()
                    i = value_end
            if name == "rel":
                rels.extend(v.lower() for v in value.split())
        out.append(LinkValue(url=url, rels=tuple(rels)))


def parse_link_header(values: str | Iterable[str] | None) -> list[LinkValue]:
    """Every link in one or several ``Link`` header values; unparseable fragments are skipped."""
    if values is None:
        return []
    out: list[LinkValue] = []
    for value in [values] if isinstance(values, str) else values:
        _parse_one_header(value, out)
    return out


def next_link(values: str | Iterable[str] | None) -> str | None:
    """The target of the first ``rel="next"`` link, or ``None`` when there is none (last page)."""
    for link in parse_link_header(values):
        if "next" in link.rels and link.url:
            return link.url
    return None


def parse_total_count(value: str | None) -> int | None:
    """``X-Total-Count`` as a number; ``None`` when absent or not a whole number."""
    if value is None or not _DIGITS.fullmatch(value.strip()):
        return None
    return int(value.strip())
