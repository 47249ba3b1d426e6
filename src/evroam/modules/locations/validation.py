"""Validation of Location objects a CPO imports: every violation of every object, reported at once.

Beyond what each version's wire model checks (types, lengths, required fields, enums), the import
refuses: two locations with the same owner and id; an EVSE uid used twice within one party's
locations; a connector id used twice in one EVSE; ``publish_allowed_to`` on a published location.
"""

from __future__ import annotations

from collections.abc import Sequence

from evroam.core.codec import decode
from evroam.core.errors import InvalidJson, ValidationFailed, Violation
from evroam.model.locations import Location

from .._shared import decode_each, duplicates
from .convert import location_converters

__all__ = ["check_locations", "parse_location_items", "parse_locations"]


def check_locations(locations: Sequence[tuple[int, Location]]) -> list[Violation]:
    """The rules across objects, for ``(index in the file, location)`` pairs."""
    out: list[Violation] = []
    ids = [(f"$[{i}].id", f"{loc.country_code}*{loc.party_id}*{loc.id}") for i, loc in locations]
    out.extend(Violation(path, f"location {key} is given twice") for path, key in duplicates(ids))
    uids = [
        (f"$[{i}].evses[{j}].uid", f"{loc.country_code}*{loc.party_id}*{evse.uid}")
        for i, loc in locations
        for j, evse in enumerate(loc.evses or ())
    ]
    out.extend(Violation(path, f"EVSE uid {key} is used twice") for path, key in duplicates(uids))
    for i, loc in locations:
        for j, evse in enumerate(loc.evses or ()):
            connectors = [
                (f"$[{i}].evses[{j}].connectors[{k}].id", str(c.id)) for k, c in enumerate(evse.connectors)
            ]
            out.extend(
                Violation(path, f"connector id {key} is used twice in EVSE {evse.uid}")
                for path, key in duplicates(connectors)
            )
        if loc.publish and loc.publish_allowed_to:
            out.append(Violation(f"$[{i}].publish_allowed_to", "may only be given when publish is false"))
    return out


def parse_locations(data: bytes, version: str, *, owner: tuple[str, str] | None = None) -> list[Location]:
    """The canonical locations of a JSON array of OCPI ``version`` Location objects.

    OCPI 2.1.1 Locations carry no owner: ``owner`` (``country_code``, ``party_id``) is then required;
    with 2.2+ it is ignored. Raises one :class:`~evroam.core.errors.ValidationFailed` listing every
    violation (paths like ``$[3].evses[0].uid``) when any object is invalid.
    """
    wire = location_converters(version)
    if not wire.carries_owner("Location") and owner is None:
        raise ValidationFailed([Violation("$", f"OCPI {version} Locations carry no owner: name the party")])
    items, violations = decode_each(data, wire.models["Location"], "Location")
    cc, pid = owner or ("", "")
    locations = [
        (i, wire.location_to_model(item, country_code=cc, party_id=pid))
        for i, item in enumerate(items)
        if item is not None
    ]
    violations.extend(check_locations(locations))
    if violations:
        raise ValidationFailed(violations, f"{len(violations)} problem(s) found, nothing imported")
    return [loc for _, loc in locations]


def parse_location_items(
    items: Sequence[bytes], start: int, version: str, *, owner: tuple[str, str] | None = None
) -> tuple[list[tuple[int, Location]], list[Violation]]:
    """Some items of a JSON array of OCPI ``version`` Location objects (each item's bytes; the first is
    item ``start`` of the array), for an import that reads the array a batch at a time: the canonical
    locations with their index, and every violation (decoding, and the rules across the batch's
    objects; the importer checks what repeats across batches against the store)."""
    wire = location_converters(version)
    if not wire.carries_owner("Location") and owner is None:
        return [], [Violation("$", f"OCPI {version} Locations carry no owner: name the party")]
    model = wire.models["Location"]
    cc, pid = owner or ("", "")
    found: list[tuple[int, Location]] = []
    violations: list[Violation] = []
    for i, raw in enumerate(items, start):
        try:
            item = decode(raw, model)
        except ValidationFailed as exc:
            violations.extend(
                Violation(f"$[{i}]" + v.path.removeprefix("$"), v.message) for v in exc.violations
            )
            continue
        except InvalidJson as exc:
            violations.append(Violation(f"$[{i}]", f"not valid JSON: {exc.message}"))
            continue
        found.append((i, wire.location_to_model(item, country_code=cc, party_id=pid)))
    violations.extend(check_locations(found))
    return found, violations
