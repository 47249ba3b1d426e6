"""Reading and writing OICP bodies.

:func:`decode` parses JSON (numbers as ``Decimal``, never float), then applies what real traffic and
Hubject's documents need before the wire model validates it:

* explicit ``null`` members are dropped (Hubject sends absent optionals as ``null``; no schema is
  nullable: pitfall 3 of the DIGEST);
* keys that Hubject's documents spell two ways are read under the spelling the models use
  (:data:`KEY_ALIASES`, deviations 1, 2, 4 and 5);
* ``ErrorType`` values written with a space (``Connector Error``, the CPO AsciiDoc) are read without
  it (deviation 8).

Errors are the house's: :class:`~evroam.core.errors.InvalidJson` and one
:class:`~evroam.core.errors.ValidationFailed` listing every violation.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

import msgspec

from evroam.core import codec as core_codec
from evroam.core.errors import InvalidJson

__all__ = ["KEY_ALIASES", "decode", "encode", "normalize", "to_builtins"]

T = TypeVar("T")

#: Other spellings found in Hubject's documents -> the key the models use.
KEY_ALIASES: dict[str, str] = {
    "ChargingStationID": "ChargingStationId",
    "HubProviderId": "HubProviderID",
    "EMPPartnerSessionId": "EMPPartnerSessionID",
    "CDRForwarder": "CDRForwarded",
}
_ERROR_TYPES = {"Connector Error": "ConnectorError", "Critical Error": "CriticalError"}

_json = msgspec.json.Decoder(float_hook=Decimal)


def normalize(value: Any) -> Any:
    """``value`` (parsed JSON) with nulls dropped and the key aliases applied, recursively."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if item is None:
                continue
            name: str = KEY_ALIASES.get(key) or key
            if name != key and name in value and value[name] is not None:
                continue  # both spellings: the models' one wins
            if name == "ErrorType" and isinstance(item, str):
                item = _ERROR_TYPES.get(item, item)
            out[name] = normalize(item)
        return out
    if isinstance(value, list):
        return [normalize(item) for item in value]
    return value


def parse(data: bytes | str) -> Any:
    """Parsed, normalised JSON (no model)."""
    core_codec.check_depth(data)
    try:
        return normalize(_json.decode(data))
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise InvalidJson(f"The body is not valid JSON: {exc}") from None


def decode(data: bytes | str, tp: type[T] | Any) -> T:
    """Decode an OICP body into the wire model ``tp`` (see the module docstring)."""
    return core_codec.convert(parse(data), tp)  # type: ignore[no-any-return]


def encode(obj: Any) -> bytes:
    """Compact JSON of a wire model (absent optionals left out, ``Decimal`` as a JSON number)."""
    return core_codec.encode(obj)


def to_builtins(obj: Any) -> Any:
    """A wire model as plain JSON values (what goes on the wire, parsed)."""
    return _json.decode(encode(obj))
