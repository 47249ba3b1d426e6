"""OICP 2.3 identifier formats, as Hubject's OpenAPI publishes them (``DIGEST.md`` §3.1).

Each type is an ``Annotated[str, msgspec.Meta(pattern=...)]`` so a wire model rejects a malformed value
while it is decoded. The patterns are the OpenAPI ones (case-insensitive EvseID, deviation 11 of the
DIGEST); :func:`normalize_evse_id` and :func:`same_operator` compare the way Hubject does.
"""

from __future__ import annotations

import re
from typing import Annotated

import msgspec

__all__ = [
    "CHARGING_POOL_ID",
    "EVCO_ID",
    "EVSE_ID",
    "HASH_VALUE",
    "LANGUAGE",
    "OPERATOR_ID",
    "PHONE",
    "PROVIDER_ID",
    "PROVIDER_ID_ASTERISK",
    "SESSION_ID",
    "TIME_ZONE",
    "UID",
    "ChargingPoolId",
    "EvcoId",
    "EvseId",
    "HashValue",
    "LanguageCode",
    "OperatorId",
    "PhoneNumber",
    "ProductId",
    "ProviderId",
    "ProviderIdAsterisk",
    "SessionId",
    "TimeZoneOffset",
    "Uid",
    "evse_operator",
    "normalize_id",
    "party_of_operator",
    "party_of_provider",
]

OPERATOR_ID = r"^(([A-Za-z]{2}\*?[A-Za-z0-9]{3})|(\+?[0-9]{1,3}\*[0-9]{3}))$"
PROVIDER_ID = r"^([A-Za-z]{2}\-?[A-Za-z0-9]{3}|[A-Za-z]{2}[\*|-]?[A-Za-z0-9]{3})$"
PROVIDER_ID_ASTERISK = r"^(([A-Za-z]{2}\-?[A-Za-z0-9]{3}|[A-Za-z]{2}[\*|-]?[A-Za-z0-9]{3})|\*)$"
EVSE_ID = (
    r"^(([A-Za-z]{2}\*?[A-Za-z0-9]{3}\*?E[A-Za-z0-9\*]{1,30})|(\+?[0-9]{1,3}\*[0-9]{3}\*[0-9\*]{1,32}))$"
)
EVCO_ID = (
    r"^(([A-Za-z]{2}\-?[A-Za-z0-9]{3}\-?C[A-Za-z0-9]{8}\-?[\d|A-Za-z])"
    r"|([A-Za-z]{2}[\*|\-]?[A-Za-z0-9]{3}[\*|\-]?[A-Za-z0-9]{6}[\*|\-]?[\d|X]))$"
)
CHARGING_POOL_ID = r"([A-Za-z]{2}\*?[A-Za-z0-9]{3}\*?P[A-Za-z0-9\*]{1,30})"
SESSION_ID = r"^[A-Za-z0-9]{8}(-[A-Za-z0-9]{4}){3}-[A-Za-z0-9]{12}$"
UID = r"^([0-9A-F]{8,8}|[0-9A-F]{14,14}|[0-9A-F]{20,20})$"
PHONE = r"^\+[0-9]{5,15}$"
# the CPO variant (bcrypt strings carry `$`, `.` and `/`); deviation 12 of the DIGEST
HASH_VALUE = r"^[0-9A-Za-z\.+/=\$]{10,100}$"
LANGUAGE = r"^[a-z]{2,3}(?:-[A-Z]{2,3}(?:-[a-zA-Z]{4})?)?(?:-x-[a-zA-Z0-9]{1,8})?$"
TIME_ZONE = r"[U][T][C][+,-][0-9][0-9][:][0-9][0-9]"

OperatorId = Annotated[str, msgspec.Meta(pattern=OPERATOR_ID)]
ProviderId = Annotated[str, msgspec.Meta(pattern=PROVIDER_ID)]
ProviderIdAsterisk = Annotated[str, msgspec.Meta(pattern=PROVIDER_ID_ASTERISK)]
EvseId = Annotated[str, msgspec.Meta(pattern=EVSE_ID)]
EvcoId = Annotated[str, msgspec.Meta(pattern=EVCO_ID)]
ChargingPoolId = Annotated[str, msgspec.Meta(pattern=CHARGING_POOL_ID)]
SessionId = Annotated[str, msgspec.Meta(pattern=SESSION_ID)]
Uid = Annotated[str, msgspec.Meta(pattern=UID)]
PhoneNumber = Annotated[str, msgspec.Meta(pattern=PHONE)]
HashValue = Annotated[str, msgspec.Meta(pattern=HASH_VALUE)]
LanguageCode = Annotated[str, msgspec.Meta(pattern=LANGUAGE)]
TimeZoneOffset = Annotated[str, msgspec.Meta(pattern=TIME_ZONE)]
ProductId = Annotated[str, msgspec.Meta(max_length=50)]

_SEPARATORS = re.compile(r"[*\-]")
_ISO_EVSE = re.compile(r"^([A-Za-z]{2})\*?([A-Za-z0-9]{3})\*?E", re.ASCII)
_DIN_EVSE = re.compile(r"^(\+?[0-9]{1,3})\*([0-9]{3})\*", re.ASCII)


def normalize_id(value: str) -> str:
    """An ID without its separators, upper-cased: how two spellings of one ID compare
    (``DE*ABC`` = ``DEABC``; ``DE-XYZ`` = ``DE*XYZ``)."""
    return _SEPARATORS.sub("", value).upper()


def evse_operator(evse_id: str) -> str | None:
    """The OperatorID an EvseID starts with, normalised (``DE*ABC*E1`` -> ``DEABC``), or ``None``."""
    m = _ISO_EVSE.match(evse_id)
    if m is not None:
        return (m.group(1) + m.group(2)).upper()
    m = _DIN_EVSE.match(evse_id)
    if m is not None:
        return normalize_id(m.group(1) + m.group(2))
    return None


def party_of_operator(operator_id: str) -> tuple[str, str]:
    """``(country_code, party_id)`` of an ISO OperatorID (``DE*ABC`` -> ``("DE", "ABC")``).

    Raises ``ValueError`` for a DIN OperatorID (``+49*536``), which has no OCPI party form."""
    flat = normalize_id(operator_id)
    if not re.fullmatch(r"[A-Z]{2}[A-Z0-9]{3}", flat):
        raise ValueError(f"{operator_id!r} is not an ISO OperatorID (no OCPI party form)")
    return flat[:2], flat[2:]


def party_of_provider(provider_id: str) -> tuple[str, str]:
    """``(country_code, party_id)`` of a ProviderID (``DE-XYZ`` -> ``("DE", "XYZ")``)."""
    flat = normalize_id(provider_id)
    if not re.fullmatch(r"[A-Z]{2}[A-Z0-9]{3}", flat):
        raise ValueError(f"{provider_id!r} is not a ProviderID")
    return flat[:2], flat[2:]
