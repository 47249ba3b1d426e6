"""The OCPI 2.1.1 version table: every module, its Sender and Receiver endpoints, and every object.

2.1.1 names the interfaces after the roles ("CPO interface", "eMSP interface"); here they are mapped
to the data-owner view used for every version: SENDER = the party that owns the data (CPO for
locations, sessions, CDRs, tariffs; eMSP for tokens; for commands the eMSP, which only receives the
asynchronous results) and RECEIVER = the party that accepts pushes (or, for commands, the CPO).

Paths are relative to the module's URL and follow the same conventions as the 2.2.1 table:

* ``{response_url}`` stands for the absolute URL a command carried in its ``response_url`` field
  (the asynchronous CommandResponse is POSTed there; its shape is the requester's choice);
* the CDR Receiver's ``{country_code}/{party_id}/{cdr_id}`` is how evroam lays out the URL it returns
  in the ``Location`` header of a CDR POST (the spec lets the eMSP choose it).

``versions`` is not in ``modules`` (it has no ModuleID); its objects are in ``models``.
Differences from 2.2+: no hubclientinfo / chargingprofiles, Tariffs Receiver has PATCH, Tokens
Receiver takes no ``type`` query parameter, no CancelReservation command, the command callback body is
a CommandResponse, the token travels raw in the Authorization header, and there are no routing headers.
"""

from __future__ import annotations

from typing import Any

from evroam.ocpi.table import EndpointSpec, InterfaceRole, ModuleSpec, VersionSpec
from evroam.ocpi.v2_1_1.cdrs import CDR, CdrDimension, ChargingPeriod
from evroam.ocpi.v2_1_1.commands import (
    CommandResponse,
    ReserveNow,
    StartSession,
    StopSession,
    UnlockConnector,
)
from evroam.ocpi.v2_1_1.common import (
    AdditionalGeoLocation,
    BusinessDetails,
    DisplayText,
    EnergyMix,
    EnergySource,
    EnvironmentalImpact,
    GeoLocation,
    Image,
)
from evroam.ocpi.v2_1_1.credentials import Credentials
from evroam.ocpi.v2_1_1.locations import (
    EVSE,
    Connector,
    ConnectorPatch,
    EVSEPatch,
    ExceptionalPeriod,
    Hours,
    Location,
    LocationPatch,
    RegularHours,
    StatusSchedule,
)
from evroam.ocpi.v2_1_1.sessions import Session, SessionPatch
from evroam.ocpi.v2_1_1.tariffs import PriceComponent, Tariff, TariffElement, TariffPatch, TariffRestrictions
from evroam.ocpi.v2_1_1.tokens import AuthorizationInfo, LocationReferences, Token, TokenPatch
from evroam.ocpi.v2_1_1.versions import Endpoint, Version, VersionDetails

__all__ = ["LIST_QUERY", "MODELS", "SPEC"]

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
        AdditionalGeoLocation,
        Image,
        BusinessDetails,
        EnergyMix,
        EnergySource,
        EnvironmentalImpact,
        # versions, credentials
        Version,
        VersionDetails,
        Endpoint,
        Credentials,
        # locations
        Location,
        EVSE,
        Connector,
        LocationPatch,
        EVSEPatch,
        ConnectorPatch,
        Hours,
        RegularHours,
        ExceptionalPeriod,
        StatusSchedule,
        # sessions
        Session,
        SessionPatch,
        # cdrs
        CDR,
        CdrDimension,
        ChargingPeriod,
        # tariffs
        Tariff,
        TariffPatch,
        TariffElement,
        PriceComponent,
        TariffRestrictions,
        # tokens
        Token,
        TokenPatch,
        AuthorizationInfo,
        LocationReferences,
        # commands
        ReserveNow,
        StartSession,
        StopSession,
        UnlockConnector,
        CommandResponse,
    )
}


def _ep(
    name: str, method: str, path: str, request: Any = None, response: Any = None, **kw: Any
) -> EndpointSpec:
    return EndpointSpec(name=name, method=method, path=path, request=request, response=response, **kw)


def _list(model: Any) -> EndpointSpec:
    return _ep("list", "GET", "", response=list[model], paginated=True, query=LIST_QUERY)


def _modules() -> dict[str, ModuleSpec]:
    loc = "{location_id}"
    evse = "{location_id}/{evse_uid}"
    conn = "{location_id}/{evse_uid}/{connector_id}"
    modules = [
        ModuleSpec(
            id="credentials",
            configuration=True,
            # Symmetric: every party implements it and calls the other side's.
            interfaces={
                SENDER: (
                    _ep("get", "GET", "", response=Credentials),
                    _ep("register", "POST", "", Credentials, Credentials),
                    _ep("update", "PUT", "", Credentials, Credentials),
                    _ep("unregister", "DELETE", ""),
                ),
            },
        ),
        ModuleSpec(
            id="locations",
            interfaces={
                SENDER: (
                    _list(Location),
                    _ep("get_location", "GET", loc, response=Location),
                    _ep("get_evse", "GET", evse, response=EVSE),
                    _ep("get_connector", "GET", conn, response=Connector),
                ),
                RECEIVER: (
                    _ep("get_location", "GET", f"{_OWNED}/{loc}", response=Location),
                    _ep("get_evse", "GET", f"{_OWNED}/{evse}", response=EVSE),
                    _ep("get_connector", "GET", f"{_OWNED}/{conn}", response=Connector),
                    _ep("put_location", "PUT", f"{_OWNED}/{loc}", Location),
                    _ep("put_evse", "PUT", f"{_OWNED}/{evse}", EVSE),
                    _ep("put_connector", "PUT", f"{_OWNED}/{conn}", Connector),
                    _ep("patch_location", "PATCH", f"{_OWNED}/{loc}", LocationPatch),
                    _ep("patch_evse", "PATCH", f"{_OWNED}/{evse}", EVSEPatch),
                    _ep("patch_connector", "PATCH", f"{_OWNED}/{conn}", ConnectorPatch),
                ),
            },
        ),
        ModuleSpec(
            id="sessions",
            interfaces={
                SENDER: (_list(Session),),  # date_from is required on this one
                RECEIVER: (
                    _ep("get", "GET", f"{_OWNED}/{{session_id}}", response=Session),
                    _ep("put", "PUT", f"{_OWNED}/{{session_id}}", Session),
                    _ep("patch", "PATCH", f"{_OWNED}/{{session_id}}", SessionPatch),
                ),
            },
        ),
        ModuleSpec(
            id="cdrs",
            interfaces={
                SENDER: (_list(CDR),),
                RECEIVER: (
                    _ep("post", "POST", "", CDR),
                    _ep("get", "GET", f"{_OWNED}/{{cdr_id}}", response=CDR),
                ),
            },
        ),
        ModuleSpec(
            id="tariffs",
            interfaces={
                SENDER: (_list(Tariff),),
                RECEIVER: (
                    _ep("get", "GET", f"{_OWNED}/{{tariff_id}}", response=Tariff),
                    _ep("put", "PUT", f"{_OWNED}/{{tariff_id}}", Tariff),
                    _ep("patch", "PATCH", f"{_OWNED}/{{tariff_id}}", TariffPatch),
                    _ep("delete", "DELETE", f"{_OWNED}/{{tariff_id}}"),
                ),
            },
        ),
        ModuleSpec(
            id="tokens",
            interfaces={
                SENDER: (
                    _list(Token),
                    _ep(
                        "authorize",
                        "POST",
                        "{token_uid}/authorize",
                        LocationReferences | None,
                        AuthorizationInfo,
                        query=("type",),
                    ),
                ),
                RECEIVER: (
                    _ep("get", "GET", f"{_OWNED}/{{token_uid}}", response=Token),
                    _ep("put", "PUT", f"{_OWNED}/{{token_uid}}", Token),
                    _ep("patch", "PATCH", f"{_OWNED}/{{token_uid}}", TokenPatch),
                ),
            },
        ),
        ModuleSpec(
            id="commands",
            interfaces={
                # 2.1.1: the asynchronous result is a CommandResponse too (2.2+: CommandResult).
                SENDER: (_ep("command_result", "POST", "{response_url}", CommandResponse),),
                RECEIVER: tuple(
                    _ep(name, "POST", name.upper(), model, CommandResponse)
                    for name, model in (
                        ("reserve_now", ReserveNow),
                        ("start_session", StartSession),
                        ("stop_session", StopSession),
                        ("unlock_connector", UnlockConnector),
                    )
                ),
            },
        ),
    ]
    return {module.id: module for module in modules}


SPEC = VersionSpec(
    number="2.1.1",
    modules=_modules(),
    token_base64=False,  # 2.1.1 sends the credentials token as-is
    routing_headers=False,
    endpoint_roles=False,
    models=MODELS,
)
