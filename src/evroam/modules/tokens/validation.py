"""Validation of the Token objects an eMSP imports: every violation of every object, reported at once.

An import file is a JSON array of OCPI Token objects of one version. Each object may also carry the
eMSP's own conditions for real-time authorization in an ``authorization_rules`` member (never sent to
partners)::

    {"country_code": "NL", "party_id": "MSP", "uid": "04A1B2C3", "type": "RFID", ...,
     "authorization_rules": {"valid_until": "2026-12-31T23:59:59Z", "no_credit": false,
                             "locations": [{"location_id": "LOC1", "evse_uids": ["E1", "E2"]}]}}

Beyond each version's wire model, the import refuses two tokens with the same owner, uid and type.
"""

from __future__ import annotations

import msgspec

from evroam.core.errors import ValidationFailed, Violation

from .._shared import decode_each, duplicates
from .convert import token_converters
from .ports import ImportedToken
from .rules import AuthorizationRules

__all__ = ["parse_tokens"]


class _WithRules(msgspec.Struct, kw_only=True):
    authorization_rules: AuthorizationRules | None = None


def parse_tokens(data: bytes, version: str, *, owner: tuple[str, str] | None = None) -> list[ImportedToken]:
    """The canonical tokens (with their rules) of a JSON array of OCPI ``version`` Token objects
    (``owner`` is needed for 2.1.1, whose Tokens carry none). Raises one ``ValidationFailed`` listing
    every violation."""
    wire = token_converters(version)
    if not wire.carries_owner("Token") and owner is None:
        raise ValidationFailed([Violation("$", f"OCPI {version} Tokens carry no owner: name the party")])
    items, violations = decode_each(data, wire.models["Token"], "Token")
    extras, rule_violations = decode_each(data, _WithRules, "Token")
    violations.extend(rule_violations)
    cc, pid = owner or ("", "")
    found: list[tuple[int, ImportedToken]] = []
    for i, (item, extra) in enumerate(zip(items, extras, strict=True)):
        if item is None or extra is None:
            continue
        token = wire.token_to_model(item, country_code=cc, party_id=pid)
        found.append((i, ImportedToken(token=token, rules=extra.authorization_rules)))
    keys = [
        (f"$[{i}].uid", f"{t.token.country_code}*{t.token.party_id}*{t.token.type}:{t.token.uid}")
        for i, t in found
    ]
    violations.extend(Violation(path, f"token {key} is given twice") for path, key in duplicates(keys))
    if violations:
        raise ValidationFailed(violations, f"{len(violations)} problem(s) found, nothing imported")
    return [t for _, t in found]
