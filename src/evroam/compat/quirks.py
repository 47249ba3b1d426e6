"""The partner deviations evroam can tolerate, and named profiles that bundle them.

Each :class:`Quirk` is one documented way a real partner deviates from the OCPI text. None is on by
default: an operator switches them on per partner (``evroam compat set PARTNER ...``), so that a
partner that follows the text is never second-guessed. ``docs/interop.md`` lists which peer needs
which, and why.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["PROFILES", "Quirk", "describe"]


class Quirk(StrEnum):
    LIST_WRAPPED_OBJECTS = "list-wrapped-objects"
    STATUS_SCHEDULE_OBJECT = "status-schedule-object"
    PAGINATION_BY_OFFSET = "pagination-by-offset"
    HEADER_URL_ORIGIN = "header-url-origin"
    ENDPOINT_TRAILING_SLASH = "endpoint-trailing-slash"
    ERRORS_WITHOUT_ENVELOPE = "errors-without-envelope"
    CDR_LOCATION_REBUILT = "cdr-location-rebuilt"
    COMMANDS_ENDPOINT_UNLISTED = "commands-endpoint-unlisted"
    CHARGING_PROFILE_PERIOD_OBJECT = "charging-profile-period-object"


_DESCRIPTIONS: dict[Quirk, str] = {
    Quirk.LIST_WRAPPED_OBJECTS: (
        "answers about one object (GET one Location/EVSE/Connector/Token/CDR, authorize, command "
        "response) carry `data` as a one-element list: the list is unwrapped"
    ),
    Quirk.STATUS_SCHEDULE_OBJECT: (
        "EVSE.status_schedule is one object instead of a list: sent as its first entry (omitted when "
        "empty), received objects become one-entry lists"
    ),
    Quirk.PAGINATION_BY_OFFSET: (
        'the Link rel="next" URL of list answers is unusable (wrong scheme, wrong role path, '
        "`date_from=None`): the next page is our own request again with the link's offset and limit"
    ),
    Quirk.HEADER_URL_ORIGIN: (
        "URLs in Location and Link headers name another scheme or host than the one we called: they "
        "are moved onto the origin we called"
    ),
    Quirk.ENDPOINT_TRAILING_SLASH: (
        "the partner appends object paths to our endpoint URLs without a slash: our version details "
        "give it every module URL with a trailing slash"
    ),
    Quirk.ERRORS_WITHOUT_ENVELOPE: (
        'error answers carry `{"detail": ...}` instead of an OCPI envelope: an envelope is made with '
        "the status code the spec prescribes (404 on tokens: 2004, on locations: 2003, 422: 2001)"
    ),
    Quirk.CDR_LOCATION_REBUILT: (
        "the Location header answering a CDR POST is not a URL below the CDRs endpoint (e.g. "
        "`.../VersionNumber.v_2_2_1/ModuleID.cdrs/ID`): it is rebuilt as `{endpoint}/{id of the CDR "
        "in the answer}`"
    ),
    Quirk.COMMANDS_ENDPOINT_UNLISTED: (
        "a CPO serves the commands RECEIVER interface but leaves it out of its version details: it is "
        "added, at the URL of its locations endpoint with `locations` replaced by `commands`"
    ),
    Quirk.CHARGING_PROFILE_PERIOD_OBJECT: (
        "ChargingProfile.charging_profile_period is one object and `min_charge_rate` (not "
        "`min_charging_rate`) is required: a profile of one period is sent with the period as an object "
        "and `min_charge_rate` (0 without a minimum), one of several periods as it is (the partner "
        "refuses it); a received object becomes a one-entry list, `min_charge_rate` `min_charging_rate`"
    ),
}

#: Named bundles of quirks, for the peers evroam is tested against (``tests/interop``).
PROFILES: dict[str, frozenset[Quirk]] = {
    "extrawest-ocpi": frozenset(Quirk),
}


def describe(quirk: Quirk) -> str:
    """One line saying what the partner does and what evroam does about it."""
    return _DESCRIPTIONS[quirk]
