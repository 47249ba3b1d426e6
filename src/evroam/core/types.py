"""Scalar types shared by every OCPI version: CiString, DateTime, money.

* ``CiString`` is a ``str`` that compares and hashes case-insensitively and keeps the spelling it
  was given (it goes out on the wire exactly as it came in). The length-bound variants
  (``CiString36`` ...) are checked when decoding; the check also enforces printable ASCII.
* ``DateTime`` is a timezone-aware ``datetime`` always in UTC. Decoding accepts ``Z``, numeric
  offsets (converted to UTC), no designator (taken as UTC, as the spec says) and fractional
  seconds; encoding always writes UTC with ``Z``.
* Money is ``decimal.Decimal``; ``Money`` is only an alias that documents intent.

The codec hooks that teach msgspec these types live in :mod:`evroam.core.codec`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, ClassVar, Self

import msgspec

__all__ = [
    "CiString",
    "CiString2",
    "CiString3",
    "CiString4",
    "CiString5",
    "CiString10",
    "CiString16",
    "CiString20",
    "CiString25",
    "CiString32",
    "CiString36",
    "CiString39",
    "CiString45",
    "CiString48",
    "CiString50",
    "CiString64",
    "CiString255",
    "DateTime",
    "Money",
    "Number",
    "String2",
    "String3",
    "String4",
    "String5",
    "String10",
    "String12",
    "String16",
    "String20",
    "String25",
    "String36",
    "String39",
    "String45",
    "String48",
    "String50",
    "String64",
    "String100",
    "String255",
    "String512",
    "String5000",
    "Url",
    "parse_number",
]

Money = Decimal

if TYPE_CHECKING:
    Number = Decimal
else:

    class Number(Decimal):
        """Marker type of OCPI ``number`` fields; decoded values are plain, finite ``Decimal``s.

        msgspec would otherwise accept strings such as ``"NaN"`` or ``"Infinity"`` for a ``Decimal``
        field and later write them out as invalid JSON. The codec's decode hook accepts JSON numbers
        (exactly, no float on the way) and numeric strings, and rejects anything not finite. For type
        checkers ``Number`` *is* ``Decimal``; arithmetic on it yields plain ``Decimal``s.
        """

        __slots__ = ()


def parse_number(value: object) -> Number:
    """Validate a decoded JSON value for a ``Number`` field (used by the codec's decode hook)."""
    if isinstance(value, bool):
        raise TypeError("Expected `number`, got `bool`")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except ArithmeticError:
            raise ValueError("Expected `number`, got a string that is not a number") from None
    else:
        raise TypeError(f"Expected `number`, got `{type(value).__name__}`")
    if not number.is_finite():
        raise ValueError("Expected a finite `number`")
    return Number(number)


class CiString(str):
    """Case-insensitive string: equal to any ``str`` with the same case-folded value."""

    __slots__ = ()
    max_length: ClassVar[int | None] = None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return self.casefold() == other.casefold()
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self) -> int:
        return hash(self.casefold())

    def __repr__(self) -> str:
        return f"CiString({str.__repr__(self)})"

    @property
    def key(self) -> str:
        """The normalised form used for storage keys and lookups."""
        return self.casefold()

    @classmethod
    def parse(cls, value: object) -> Self:
        """Validate a decoded JSON value and wrap it (used by the codec's decode hook)."""
        if not isinstance(value, str):
            raise TypeError(f"Expected `str`, got `{type(value).__name__}`")
        if cls.max_length is not None and len(value) > cls.max_length:
            raise ValueError(f"Expected `str` of length <= {cls.max_length}")
        if not (value.isascii() and value.isprintable()):
            raise ValueError("Expected printable ASCII characters only")
        return cls(value)


class CiString2(CiString):
    __slots__ = ()
    max_length = 2


class CiString3(CiString):
    __slots__ = ()
    max_length = 3


class CiString4(CiString):
    __slots__ = ()
    max_length = 4


class CiString5(CiString):
    __slots__ = ()
    max_length = 5


class CiString10(CiString):
    __slots__ = ()
    max_length = 10


class CiString16(CiString):
    __slots__ = ()
    max_length = 16


class CiString20(CiString):
    __slots__ = ()
    max_length = 20


class CiString25(CiString):
    __slots__ = ()
    max_length = 25


class CiString32(CiString):
    __slots__ = ()
    max_length = 32


class CiString36(CiString):
    __slots__ = ()
    max_length = 36


class CiString39(CiString):
    __slots__ = ()
    max_length = 39


class CiString45(CiString):
    __slots__ = ()
    max_length = 45


class CiString48(CiString):
    __slots__ = ()
    max_length = 48


class CiString50(CiString):
    __slots__ = ()
    max_length = 50


class CiString64(CiString):
    __slots__ = ()
    max_length = 64


class CiString255(CiString):
    __slots__ = ()
    max_length = 255


# Plain (case-sensitive) strings with the spec's maximum lengths.
String2 = Annotated[str, msgspec.Meta(max_length=2)]
String3 = Annotated[str, msgspec.Meta(max_length=3)]
String4 = Annotated[str, msgspec.Meta(max_length=4)]
String5 = Annotated[str, msgspec.Meta(max_length=5)]
String10 = Annotated[str, msgspec.Meta(max_length=10)]
String12 = Annotated[str, msgspec.Meta(max_length=12)]
String16 = Annotated[str, msgspec.Meta(max_length=16)]
String20 = Annotated[str, msgspec.Meta(max_length=20)]
String25 = Annotated[str, msgspec.Meta(max_length=25)]
String36 = Annotated[str, msgspec.Meta(max_length=36)]
String39 = Annotated[str, msgspec.Meta(max_length=39)]
String45 = Annotated[str, msgspec.Meta(max_length=45)]
String48 = Annotated[str, msgspec.Meta(max_length=48)]
String50 = Annotated[str, msgspec.Meta(max_length=50)]
String64 = Annotated[str, msgspec.Meta(max_length=64)]
String100 = Annotated[str, msgspec.Meta(max_length=100)]
String255 = Annotated[str, msgspec.Meta(max_length=255)]
String512 = Annotated[str, msgspec.Meta(max_length=512)]
String5000 = Annotated[str, msgspec.Meta(max_length=5000)]
Url = Annotated[str, msgspec.Meta(max_length=255)]


_DT_RE = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(Z|z|[+-]\d{2}:?\d{2})?$"
)


def _is_canonical(value: str) -> bool:
    """``YYYY-MM-DDTHH:MM:SSZ`` or ``YYYY-MM-DDTHH:MM:SS.<digits>Z``, ASCII (no check of the digits
    of the date and time: the parser that follows checks them)."""
    size = len(value)
    return (
        size >= 20
        and value[-1] == "Z"
        and value[4] == "-"
        and value[7] == "-"
        and value[10] == "T"
        and value[13] == ":"
        and value[16] == ":"
        and value.isascii()
        and (size == 20 or (size > 21 and value[19] == "." and value[20:-1].isdigit()))
    )


class DateTime(datetime):
    """A UTC timestamp as OCPI means it. Always timezone-aware, always UTC."""

    __slots__ = ()

    @classmethod
    def from_datetime(cls, value: datetime) -> DateTime:
        """Convert any datetime; a naive one is taken as UTC."""
        if isinstance(value, DateTime):
            return value
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        elif value.utcoffset() != timedelta(0) or value.tzinfo is not UTC:
            value = value.astimezone(UTC)
        return cls(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
            tzinfo=UTC,
        )

    @classmethod
    def parse(cls, value: object) -> DateTime:
        """Parse an OCPI timestamp string (used by the codec's decode hook)."""
        if type(value) is str and _is_canonical(value):
            # the shape evroam itself writes (UTC, ``Z``): the C parser, ~10x faster than the regex;
            # anything it refuses takes the general path below, which words the error
            try:
                return cls.fromisoformat(value)
            except ValueError:
                pass
        return cls._parse_any(value)

    @classmethod
    def _parse_any(cls, value: object) -> DateTime:
        """:meth:`parse` for every shape OCPI allows, with the error messages."""
        if isinstance(value, datetime):
            return cls.from_datetime(value)
        if not isinstance(value, str):
            raise TypeError(f"Expected `str`, got `{type(value).__name__}`")
        m = _DT_RE.match(value)
        if m is None:
            raise ValueError("Invalid RFC 3339 encoded datetime")
        year, month, day, hour, minute, second, frac, zone = m.groups()
        micro = int((frac + "000000")[:6]) if frac else 0
        try:
            naive = datetime(  # noqa: DTZ001 - the zone is applied just below
                int(year), int(month), int(day), int(hour), int(minute), int(second), micro
            )
        except ValueError as exc:
            raise ValueError(f"Invalid datetime: {exc}") from None
        if zone is None or zone in ("Z", "z"):
            return cls(
                naive.year, naive.month, naive.day, naive.hour, naive.minute, naive.second, micro, tzinfo=UTC
            )
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        if offset >= timedelta(hours=24):
            raise ValueError("Invalid UTC offset")
        try:
            return cls.from_datetime(naive.replace(tzinfo=UTC) - sign * offset)
        except OverflowError:
            raise ValueError("Invalid datetime: out of range once converted to UTC") from None

    def to_json(self) -> str:
        """``YYYY-MM-DDTHH:MM:SS[.fff]Z``; fractional digits only when there are any, trailing zeros cut."""
        # datetime.isoformat gives ``YYYY-MM-DDTHH:MM:SS[.ffffff]`` then the offset (always +00:00 here)
        text = datetime.isoformat(self)
        if self.microsecond:
            return text[:26].rstrip("0") + "Z"
        return text[:19] + "Z"

    def __str__(self) -> str:
        return self.to_json()
