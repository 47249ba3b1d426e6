"""The OCPI 2.3.0 version table.

The endpoints of the modules 2.3.0 shares with 2.2.1 did not change, so they are built by
:func:`evroam.ocpi.v2_2_1.table.build_modules` from the 2.3.0 object classes; the Payments module is
added here. Paths follow the conventions described in :mod:`evroam.ocpi.v2_2_1.table`.
"""

from __future__ import annotations

from typing import Any

from evroam.ocpi.table import EndpointSpec, InterfaceRole, ModuleSpec, VersionSpec
from evroam.ocpi.v2_2_1.table import LIST_QUERY, build_modules
from evroam.ocpi.v2_3_0.cdrs import (
    CDR,
    CdrDimension,
    CdrLocation,
    CdrToken,
    ChargingPeriod,
    SignedData,
    SignedValue,
)
from evroam.ocpi.v2_3_0.chargingprofiles import (
    ActiveChargingProfile,
    ActiveChargingProfileResult,
    ChargingProfile,
    ChargingProfilePeriod,
    ChargingProfileResponse,
    ChargingProfileResult,
    ClearProfileResult,
    SetChargingProfile,
)
from evroam.ocpi.v2_3_0.commands import (
    CancelReservation,
    CommandResponse,
    CommandResult,
    ReserveNow,
    StartSession,
    StopSession,
    UnlockConnector,
)
from evroam.ocpi.v2_3_0.common import (
    BusinessDetails,
    DisplayText,
    EnergyMix,
    EnergySource,
    EnvironmentalImpact,
    GeoLocation,
    Image,
    Price,
    PriceLimit,
    TaxAmount,
)
from evroam.ocpi.v2_3_0.credentials import Credentials, CredentialsRole
from evroam.ocpi.v2_3_0.hubclientinfo import ClientInfo
from evroam.ocpi.v2_3_0.locations import (
    EVSE,
    AdditionalGeoLocation,
    Connector,
    ConnectorPatch,
    EVSEParking,
    EVSEPatch,
    ExceptionalPeriod,
    Hours,
    Location,
    LocationPatch,
    Parking,
    PublishTokenType,
    RegularHours,
    StatusSchedule,
)
from evroam.ocpi.v2_3_0.payments import (
    FinancialAdviceConfirmation,
    Terminal,
    TerminalActivation,
    TerminalCreation,
    TerminalPatch,
)
from evroam.ocpi.v2_3_0.sessions import ChargingPreferences, Session, SessionPatch
from evroam.ocpi.v2_3_0.tariffs import PriceComponent, Tariff, TariffElement, TariffRestrictions
from evroam.ocpi.v2_3_0.tokens import AuthorizationInfo, EnergyContract, LocationReferences, Token, TokenPatch
from evroam.ocpi.v2_3_0.versions import Endpoint, Version, VersionDetails

__all__ = ["MODELS", "SPEC"]

MODELS: dict[str, Any] = {
    cls.__name__: cls
    for cls in (
        # common
        DisplayText,
        GeoLocation,
        Price,
        TaxAmount,
        PriceLimit,
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
        Parking,
        EVSEParking,
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
        # payments
        Terminal,
        TerminalCreation,
        TerminalActivation,
        TerminalPatch,
        FinancialAdviceConfirmation,
    )
}

_T = "terminals"
_FAC = "financial-advice-confirmations"

PAYMENTS = ModuleSpec(
    id="payments",
    interfaces={
        # Payment Terminal Provider side.
        InterfaceRole.SENDER: (
            EndpointSpec(
                "list_terminals", "GET", _T, response=list[Terminal], paginated=True, query=LIST_QUERY
            ),
            EndpointSpec("get_terminal", "GET", f"{_T}/{{terminal_id}}", response=Terminal),
            EndpointSpec("activate_terminal", "POST", f"{_T}/activate", request=TerminalActivation),
            EndpointSpec("deactivate_terminal", "POST", f"{_T}/{{terminal_id}}/deactivate"),
            EndpointSpec("put_terminal", "PUT", f"{_T}/{{terminal_id}}", request=Terminal),
            EndpointSpec("patch_terminal", "PATCH", f"{_T}/{{terminal_id}}", request=TerminalPatch),
            EndpointSpec(
                "list_financial_advice_confirmations",
                "GET",
                _FAC,
                response=list[FinancialAdviceConfirmation],
                paginated=True,
                query=LIST_QUERY,
            ),
            EndpointSpec(
                "get_financial_advice_confirmation",
                "GET",
                f"{_FAC}/{{financial_advice_confirmation_id}}",
                response=FinancialAdviceConfirmation,
            ),
        ),
        # CPO side.
        InterfaceRole.RECEIVER: (
            EndpointSpec("get_terminal", "GET", f"{_T}/{{terminal_id}}", response=Terminal),
            EndpointSpec("post_terminal", "POST", _T, request=TerminalCreation),
            EndpointSpec(
                "get_financial_advice_confirmation",
                "GET",
                f"{_FAC}/{{financial_advice_confirmation_id}}",
                response=FinancialAdviceConfirmation,
            ),
            EndpointSpec(
                "post_financial_advice_confirmation", "POST", _FAC, request=FinancialAdviceConfirmation
            ),
        ),
    },
)

SPEC = VersionSpec(
    number="2.3.0",
    modules={**build_modules(MODELS), "payments": PAYMENTS},
    token_base64=True,
    routing_headers=True,
    endpoint_roles=True,
    models=MODELS,
)
