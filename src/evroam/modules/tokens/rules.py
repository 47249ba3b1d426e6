"""The pure parts of token authorization: no store, no HTTP, no clock of their own.

* :class:`AuthorizationRules` — what an eMSP knows about one of its tokens beyond the OCPI Token:
  until when it may be used (``EXPIRED`` afterwards), whether the account has run out of credit
  (``NO_CREDIT``) and, optionally, the only locations / EVSEs it may charge at (``NOT_ALLOWED``
  elsewhere; a request without location information is then answered with OCPI 2002). Rules are kept
  with the eMSP's own tokens and never leave the eMSP (they are not part of any OCPI object).
* :func:`judge` — the eMSP's answer to a real-time authorization of a known token.
* :func:`route_for` — which way a CPO decides for a token of a given whitelist type.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

import msgspec

from evroam.core.errors import NotEnoughInformation
from evroam.core.types import CiString, DateTime
from evroam.model.enums import AllowedType, WhitelistType
from evroam.model.tokens import LocationReferences, Token

__all__ = ["AuthorizationRules", "LocationRule", "Route", "Verdict", "judge", "local_verdict", "route_for"]


class LocationRule(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A location a restricted token may charge at; ``evse_uids`` ``None`` means all of its EVSEs."""

    location_id: CiString
    evse_uids: tuple[CiString, ...] | None = None


class AuthorizationRules(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The eMSP's own conditions on a token (all optional; no rules = valid tokens are allowed)."""

    valid_until: DateTime | None = None
    """From this moment on the token is answered ``EXPIRED``."""
    no_credit: bool = False
    """The account has no credit left: ``NO_CREDIT``."""
    locations: tuple[LocationRule, ...] | None = None
    """``None``: anywhere. Otherwise only at these locations (and EVSEs): ``NOT_ALLOWED`` elsewhere,
    and a request that does not say where is refused with OCPI 2002 (not enough information)."""


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of :func:`judge`: ``location`` lists only what the driver may use."""

    allowed: AllowedType
    location: LocationReferences | None
    reason: str


def _permitted(
    rules: Sequence[LocationRule], where: LocationReferences
) -> tuple[CiString, ...] | bool | None:
    """The EVSEs of ``where`` the rules permit: ``None`` = the whole location, ``False`` = nothing."""
    matching = [rule for rule in rules if rule.location_id == where.location_id]
    if not matching:
        return False
    if any(rule.evse_uids is None for rule in matching):
        return None
    allowed: list[CiString] = []
    for rule in matching:
        allowed.extend(uid for uid in rule.evse_uids or () if uid not in allowed)
    return tuple(allowed)


def judge(
    token: Token, rules: AuthorizationRules | None, where: LocationReferences | None, now: datetime
) -> Verdict:
    """The eMSP's answer for a known token, checked in this order: blocked (``valid`` false), expired,
    no credit, location restrictions.

    Raises :class:`~evroam.core.errors.NotEnoughInformation` (OCPI 2002) when the token may only charge
    at some locations and ``where`` is ``None``. The returned ``location`` is ``where`` reduced to the
    EVSEs the token may use (all requested ones when the location is not restricted).
    """
    if not token.valid:
        return Verdict(allowed=AllowedType.BLOCKED, location=None, reason="the token is blocked")
    rules = rules or AuthorizationRules()
    if rules.valid_until is not None and now >= rules.valid_until:
        return Verdict(
            allowed=AllowedType.EXPIRED,
            location=None,
            reason=f"the token expired at {rules.valid_until.to_json()}",
        )
    if rules.no_credit:
        return Verdict(allowed=AllowedType.NO_CREDIT, location=None, reason="the account has no credit")
    if rules.locations is None:
        return Verdict(allowed=AllowedType.ALLOWED, location=where, reason="allowed")
    if where is None:
        raise NotEnoughInformation(
            "this token may only charge at some locations: send LocationReferences (location_id)"
        )
    permitted = _permitted(rules.locations, where)
    if permitted is False:
        return Verdict(
            allowed=AllowedType.NOT_ALLOWED,
            location=None,
            reason=f"the token may not charge at location {where.location_id}",
        )
    if permitted is None:
        return Verdict(allowed=AllowedType.ALLOWED, location=where, reason="allowed")
    assert isinstance(permitted, tuple)
    asked = where.evse_uids
    evses = permitted if not asked else tuple(uid for uid in asked if uid in permitted)
    if not evses:
        return Verdict(
            allowed=AllowedType.NOT_ALLOWED,
            location=None,
            reason=f"the token may not charge at the requested EVSEs of location {where.location_id}",
        )
    return Verdict(
        allowed=AllowedType.ALLOWED,
        location=LocationReferences(location_id=where.location_id, evse_uids=evses),
        reason="allowed at some EVSEs only" if asked and len(evses) < len(asked) else "allowed",
    )


class Route(StrEnum):
    """How a CPO decides for one token."""

    LOCAL = "local"
    """From the stored token, no call."""
    REAL_TIME = "real-time"
    """Ask the eMSP; no answer without it."""
    REAL_TIME_OR_LOCAL = "real-time, local when unreachable"
    """Ask the eMSP; decide from the stored token only when the eMSP cannot be reached."""


def route_for(whitelist: WhitelistType, *, allowed_real_time: bool = False) -> Route:
    """OCPI's whitelist table: ALWAYS local; ALLOWED the CPO's choice (``allowed_real_time``, local by
    default); ALLOWED_OFFLINE real-time with a local fallback; NEVER real-time only."""
    if whitelist is WhitelistType.ALWAYS:
        return Route.LOCAL
    if whitelist is WhitelistType.ALLOWED:
        return Route.REAL_TIME_OR_LOCAL if allowed_real_time else Route.LOCAL
    if whitelist is WhitelistType.ALLOWED_OFFLINE:
        return Route.REAL_TIME_OR_LOCAL
    return Route.REAL_TIME


def local_verdict(token: Token, where: LocationReferences | None) -> Verdict:
    """A CPO's own decision from a stored token: ALLOWED when ``valid``, BLOCKED otherwise."""
    if token.valid:
        return Verdict(allowed=AllowedType.ALLOWED, location=where, reason="allowed by the stored token")
    return Verdict(allowed=AllowedType.BLOCKED, location=None, reason="the stored token is not valid")
