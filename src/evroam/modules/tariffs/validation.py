"""Validation of Tariff objects a CPO imports: every violation of every object, reported at once.

Beyond each version's wire model, the import refuses two tariffs with the same owner and id.
"""

from __future__ import annotations

from evroam.core.errors import ValidationFailed, Violation
from evroam.model.tariffs import Tariff

from .._shared import decode_each, duplicates
from .convert import tariff_converters

__all__ = ["parse_tariffs"]


def parse_tariffs(data: bytes, version: str, *, owner: tuple[str, str] | None = None) -> list[Tariff]:
    """The canonical tariffs of a JSON array of OCPI ``version`` Tariff objects (``owner`` is needed for
    2.1.1, whose Tariffs carry none). Raises one ``ValidationFailed`` listing every violation."""
    wire = tariff_converters(version)
    if not wire.carries_owner("Tariff") and owner is None:
        raise ValidationFailed([Violation("$", f"OCPI {version} Tariffs carry no owner: name the party")])
    items, violations = decode_each(data, wire.models["Tariff"], "Tariff")
    cc, pid = owner or ("", "")
    tariffs = [
        (i, wire.tariff_to_model(item, country_code=cc, party_id=pid))
        for i, item in enumerate(items)
        if item is not None
    ]
    ids = [(f"$[{i}].id", f"{t.country_code}*{t.party_id}*{t.id}") for i, t in tariffs]
    violations.extend(Violation(path, f"tariff {key} is given twice") for path, key in duplicates(ids))
    if violations:
        raise ValidationFailed(violations, f"{len(violations)} problem(s) found, nothing imported")
    return [t for _, t in tariffs]
