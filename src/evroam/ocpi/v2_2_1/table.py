"""The OCPI 2.2.1 version table: every module, its Sender and Receiver endpoints, and every object.

Paths are relative to the module's URL. Two placeholders are special:

* ``{response_url}`` stands for the absolute URL a command carried in its ``response_url`` field (the
  asynchronous result is POSTed there; its shape is the requester's choice). The three charging-profile
  results have a body type each, so they get evroam's own layout of those URLs instead
  (``set|active|clear/{request_id}``), which lets one node serve them side by side;
* the CDR Receiver's ``{country_code}/{party_id}/{cdr_id}`` is how evroam lays out the URL it returns
  in the ``Location`` header of a CDR POST (the spec lets the eMSP choose it).

``versions`` is not in ``modules``: it has no ModuleID and is not listed in version details; its
objects (Version, VersionDetails, Endpoint) are in ``models``.

:func:`build_modules` takes the object classes by name, so OCPI 2.3.0 (same endpoints, different
objects) builds its table from the same data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evroam.ocpi.table import EndpointSpec, InterfaceRole, ModuleSpec, VersionSpec
from evroam.ocpi.v2_2_1.cdrs import (
    CDR,
    CdrDimension,
    CdrLocation,
    CdrToken,
    ChargingPeriod,
    SignedData,
    SignedValue,
)
from evroam.ocpi.v2_2_1.chargingprofiles import (
    ActiveChargingProfile,
    ActiveChargingProfileResult,
    ChargingProfile,
    ChargingProfilePeriod,
    ChargingProfileResponse,
    ChargingProfileResult,
    ClearProfileResult,
    SetChargingProfile,
)
from evroam.ocpi.v2_2_1.commands import (
    CancelReservation,
    CommandResponse,
    CommandResult,
    ReserveNow,
    StartSession,
    StopSession,
    UnlockConnector,
)
from evroam.ocpi.v2_2_1.common import (
    BusinessDetails,
    DisplayText,
    EnergyMix,
    EnergySource,
    EnvironmentalImpact,
    GeoLocation,
    Image,
    Price,
)
from evroam.ocpi.v2_2_1.credentials import Credentials, CredentialsRole
from evroam.ocpi.v2_2_1.enums import ChargingPreferencesResponse
from evroam.ocpi.v2_2_1.hubclientinfo import ClientInfo
from evroam.ocpi.v2_2_1.locations import (
    EVSE,
    AdditionalGeoLocation,
    Connector,
    ConnectorPatch,
    EVSEPatch,
    ExceptionalPeriod,
    Hours,
    Location,
    LocationPatch,
    PublishTokenType,
    RegularHours,
    StatusSchedule,
)
from evroam.ocpi.v2_2_1.sessions import ChargingPreferences, Session, SessionPatch
from evroam.ocpi.v2_2_1.tariffs import PriceComponent, Tariff, TariffElement, TariffRestrictions
from evroam.ocpi.v2_2_1.tokens import AuthorizationInfo, EnergyContract, LocationReferences, Token, TokenPatch
from evroam.ocpi.v2_2_1.versions import Endpoint, Version, VersionDetails

__all__ = ["LIST_QUERY", "MODELS", "SPEC", "build_modules"]

SENDER = InterfaceRole.SENDER
RECEIVER = InterfaceRole.RECEIVER

#: Query parameters of every paginated GET on a Sender interface.
LIST_QUERY = ("date_from", "date_to", "offset", "limit")

_OWNED = "{country_code}/{party_id}"

MODELS: dict[str, Any] = {
    cls.__name__: cls
    for cls in (
        # common
        DisplayText,
        GeoLocation,
        Price,
        Image,
        BusinessDetails,
        EnergyMix,
        EnergySource,
        EnvironmentalImpact,
        # versions, credentials, hubclientinfo
        Version,
        VersionDetails,
        Endpoint,
        Credentials,
        CredentialsRole,
        ClientInfo,
        # locations
        Location,
        EVSE,
        Connector,
        LocationPatch,
        EVSEPatch,
        ConnectorPatch,
        AdditionalGeoLocation,
        PublishTokenType,
        Hours,
        RegularHours,
        ExceptionalPeriod,
        StatusSchedule,
        # sessions
        Session,
        SessionPatch,
        ChargingPreferences,
        # cdrs
        CDR,
        CdrToken,
        CdrLocation,
        CdrDimension,
        ChargingPeriod,
        SignedData,
        SignedValue,
        # tariffs
        Tariff,
        TariffElement,
        PriceComponent,
        TariffRestrictions,
        # tokens
        Token,
        TokenPatch,
        AuthorizationInfo,
        LocationReferences,
        EnergyContract,
        # commands
        CancelReservation,
        ReserveNow,
        StartSession,
        StopSession,
        UnlockConnector,
        CommandResponse,
        CommandResult,
        # chargingprofiles
        ChargingProfile,
        ChargingProfilePeriod,
        ActiveChargingProfile,
        SetChargingProfile,
        ChargingProfileResponse,
        ActiveChargingProfileResult,
        ChargingProfileResult,
        ClearProfileResult,
    )
}


def _ep(
    name: str, method: str, path: str, request: Any = None, response: Any = None, **kw: Any
) -> EndpointSpec:
    return EndpointSpec(name=name, method=method, path=path, request=request, response=response, **kw)


def _list(model: Any) -> EndpointSpec:
    return _ep("list", "GET", "", response=list[model], paginated=True, query=LIST_QUERY)


def build_modules(m: Mapping[str, Any]) -> dict[str, ModuleSpec]:
    """The functional and configuration modules of OCPI 2.2 and later, using the object classes ``m``."""
    loc = "{location_id}"
    evse = "{location_id}/{evse_uid}"
    conn = "{location_id}/{evse_uid}/{connector_id}"
    modules = [
        ModuleSpec(
            id="credentials",
            configuration=True,
            # Symmetric: every party implements it; version details list it with role SENDER.
            interfaces={
                SENDER: (
                    _ep("get", "GET", "", response=m["Credentials"]),
                    _ep("register", "POST", "", m["Credentials"], m["Credentials"]),
                    _ep("update", "PUT", "", m["Credentials"], m["Credentials"]),
                    _ep("unregister", "DELETE", ""),
                ),
            },
        ),
        ModuleSpec(
            id="locations",
            interfaces={
                SENDER: (
                    _list(m["Location"]),
                    _ep("get_location", "GET", loc, response=m["Location"]),
                    _ep("get_evse", "GET", evse, response=m["EVSE"]),
                    _ep("get_connector", "GET", conn, response=m["Connector"]),
                ),
                RECEIVER: (
                    _ep("get_location", "GET", f"{_OWNED}/{loc}", response=m["Location"]),
                    _ep("get_evse", "GET", f"{_OWNED}/{evse}", response=m["EVSE"]),
                    _ep("get_connector", "GET", f"{_OWNED}/{conn}", response=m["Connector"]),
                    _ep("put_location", "PUT", f"{_OWNED}/{loc}", m["Location"]),
                    _ep("put_evse", "PUT", f"{_OWNED}/{evse}", m["EVSE"]),
                    _ep("put_connector", "PUT", f"{_OWNED}/{conn}", m["Connector"]),
                    _ep("patch_location", "PATCH", f"{_OWNED}/{loc}", m["LocationPatch"]),
                    _ep("patch_evse", "PATCH", f"{_OWNED}/{evse}", m["EVSEPatch"]),
                    _ep("patch_connector", "PATCH", f"{_OWNED}/{conn}", m["ConnectorPatch"]),
                ),
            },
        ),
        ModuleSpec(
            id="sessions",
            interfaces={
                SENDER: (
                    _list(m["Session"]),  # date_from is required on this one
                    _ep(
                        "set_charging_preferences",
                        "PUT",
                        "{session_id}/charging_preferences",
                        m["ChargingPreferences"],
                        ChargingPreferencesResponse,
                    ),
                ),
                RECEIVER: (
                    _ep("get", "GET", f"{_OWNED}/{{session_id}}", response=m["Session"]),
                    _ep("put", "PUT", f"{_OWNED}/{{session_id}}", m["Session"]),
                    _ep("patch", "PATCH", f"{_OWNED}/{{session_id}}", m["SessionPatch"]),
                ),
            },
        ),
        ModuleSpec(
            id="cdrs",
            interfaces={
                SENDER: (_list(m["CDR"]),),
                RECEIVER: (
                    _ep("post", "POST", "", m["CDR"]),
                    _ep("get", "GET", f"{_OWNED}/{{cdr_id}}", response=m["CDR"]),
                ),
            },
        ),
        ModuleSpec(
            id="tariffs",
            interfaces={
                SENDER: (_list(m["Tariff"]),),
                RECEIVER: (
                    _ep("get", "GET", f"{_OWNED}/{{tariff_id}}", response=m["Tariff"]),
                    _ep("put", "PUT", f"{_OWNED}/{{tariff_id}}", m["Tariff"]),
                    _ep("delete", "DELETE", f"{_OWNED}/{{tariff_id}}"),
                ),
            },
        ),
        ModuleSpec(
            id="tokens",
            interfaces={
                SENDER: (
                    _list(m["Token"]),
                    _ep(
                        "authorize",
                        "POST",
                        "{token_uid}/authorize",
                        m["LocationReferences"] | None,
                        m["AuthorizationInfo"],
                        query=("type",),
                    ),
                ),
                RECEIVER: (
                    _ep("get", "GET", f"{_OWNED}/{{token_uid}}", response=m["Token"], query=("type",)),
                    _ep("put", "PUT", f"{_OWNED}/{{token_uid}}", m["Token"], query=("type",)),
                    _ep("patch", "PATCH", f"{_OWNED}/{{token_uid}}", m["TokenPatch"], query=("type",)),
                ),
            },
        ),
        ModuleSpec(
            id="commands",
            interfaces={
                SENDER: (_ep("command_result", "POST", "{response_url}", m["CommandResult"]),),
                RECEIVER: tuple(
                    _ep(name, "POST", name.upper(), m[model], m["CommandResponse"])
                    for name, model in (
                        ("cancel_reservation", "CancelReservation"),
                        ("reserve_now", "ReserveNow"),
                        ("start_session", "StartSession"),
                        ("stop_session", "StopSession"),
                        ("unlock_connector", "UnlockConnector"),
                    )
                ),
            },
        ),
        ModuleSpec(
            id="chargingprofiles",
            interfaces={
                SENDER: (
                    # the results go to the request's response_url, whose shape is the requester's
                    # choice; these paths are evroam's own: {module url}/{set|active|clear}/{request id}
                    _ep(
                        "active_profile_result",
                        "POST",
                        "active/{request_id}",
                        m["ActiveChargingProfileResult"],
                    ),
                    _ep("set_profile_result", "POST", "set/{request_id}", m["ChargingProfileResult"]),
                    _ep("clear_profile_result", "POST", "clear/{request_id}", m["ClearProfileResult"]),
                    _ep("put_active_profile", "PUT", "{session_id}", m["ActiveChargingProfile"]),
                ),
                RECEIVER: (
                    _ep(
                        "get_active_profile",
                        "GET",
                        "{session_id}",
                        response=m["ChargingProfileResponse"],
                        query=("duration", "response_url"),
                    ),
                    _ep(
                        "set_profile",
                        "PUT",
                        "{session_id}",
                        m["SetChargingProfile"],
                        m["ChargingProfileResponse"],
                    ),
                    _ep(
                        "clear_profile",
                        "DELETE",
                        "{session_id}",
                        response=m["ChargingProfileResponse"],
                        query=("response_url",),
                    ),
                ),
            },
        ),
        ModuleSpec(
            id="hubclientinfo",
            configuration=True,
            interfaces={
                SENDER: (_list(m["ClientInfo"]),),
                RECEIVER: (
                    _ep("get", "GET", _OWNED, response=m["ClientInfo"]),
                    _ep("put", "PUT", _OWNED, m["ClientInfo"]),
                ),
            },
        ),
    ]
    return {module.id: module for module in modules}


SPEC = VersionSpec(
    number="2.2.1",
    modules=build_modules(MODELS),
    token_base64=True,
    routing_headers=True,
    endpoint_roles=True,
    models=MODELS,
)
