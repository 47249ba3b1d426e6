"""The table of OICP 2.3 operations: every one of the DIGEST's C1-C12 and E1-E16, as data.

One :class:`Operation` names its path under ``/api/oicp`` (Hubject appends the same path to a partner's
registered base URL when it calls the partner), who calls it, its request and answer models, the rate
limit of Hubject's Acceptable Use Policy and the timeout a caller waits for the answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from evroam.oicp import messages as m

__all__ = [
    "API_PREFIX",
    "OPERATIONS",
    "Operation",
    "by_name",
    "error_answer",
    "match_path",
    "status",
    "succeeded",
]

#: Every OICP path starts here, on Hubject's side and on a partner's.
API_PREFIX = "/api/oicp"


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    """Hubject's operation name (``eRoamingPushEvseData``)."""
    ids: tuple[str, ...]
    """The DIGEST's numbers: ``("C1",)``, or ``("C9", "E5")`` when both roles meet it."""
    path: str
    """Under :data:`API_PREFIX`; ``{operatorID}`` / ``{providerID}`` is the *originator's* ID."""
    caller: str
    """``"CPO"`` or ``"EMP"``: who sends it to the hub (the hub forwards it to the other side, if at all)."""
    request: Any
    response: Any
    per_minute: int
    """Hubject's Acceptable Use Policy, calls per minute and partner."""
    timeout: float
    """Seconds to wait for the synchronous answer."""
    forwarded: bool = False
    """The hub forwards it to a partner (the partner serves the same path)."""
    paged: bool = False
    """Takes ``?page=&size=`` (0-based page)."""

    def url_path(self, originator: str) -> str:
        """The path with the originator's ID filled in (kept as it is spelled: ``*`` stays literal)."""
        return API_PREFIX + re.sub(r"\{[A-Za-z]+\}", originator, self.path)

    @property
    def id_param(self) -> str | None:
        found = re.search(r"\{([A-Za-z]+)\}", self.path)
        return found.group(1) if found else None


# Timeouts: Hubject gives a partner 60 s to answer a forwarded remote start (integration guide); the
# spec asks for authorization answers fast enough for a driver at the charger; pulls can be large.
_REMOTE = 60.0
_AUTH = 10.0
_PUSH = 30.0
_PULL = 120.0

OPERATIONS: tuple[Operation, ...] = (
    Operation("eRoamingPushEvseData", ("C1",), "/evsepush/v23/operators/{operatorID}/data-records",
              "CPO", m.PushEvseData, m.Acknowledgement, 375, _PUSH),
    Operation("eRoamingPushEvseStatus", ("C2",), "/evsepush/v21/operators/{operatorID}/status-records",
              "CPO", m.PushEvseStatus, m.Acknowledgement, 2000, _PUSH),
    Operation("eRoamingAuthorizeStart", ("C3", "E13"), "/charging/v21/operators/{operatorID}/authorize/start",
              "CPO", m.AuthorizeStart, m.AuthorizationStart, 200, _AUTH, forwarded=True),
    Operation("eRoamingAuthorizeStop", ("C4", "E14"), "/charging/v21/operators/{operatorID}/authorize/stop",
              "CPO", m.AuthorizeStop, m.AuthorizationStop, 50, _AUTH, forwarded=True),
    Operation("eRoamingChargeDetailRecord", ("C5", "E15"),
              "/cdrmgmt/v22/operators/{operatorID}/charge-detail-record",
              "CPO", m.ChargeDetailRecord, m.Acknowledgement, 350, _PUSH, forwarded=True),
    Operation("eRoamingChargingNotifications", ("C6", "E16"), "/notificationmgmt/v11/charging-notifications",
              "CPO", m.ChargingNotification, m.Acknowledgement, 100, _PUSH, forwarded=True),
    Operation("eRoamingPushPricingProductData", ("C7",),
              "/dynamicpricing/v10/operators/{operatorID}/pricing-products",
              "CPO", m.PushPricingProductData, m.Acknowledgement, 6, _PUSH),
    Operation("eRoamingPushEVSEPricing", ("C8",), "/dynamicpricing/v10/operators/{operatorID}/evse-pricing",
              "CPO", m.PushEvsePricing, m.Acknowledgement, 6, _PUSH),
    Operation("eRoamingAuthorizeRemoteStart", ("E5", "C9"),
              "/charging/v21/providers/{providerID}/authorize-remote/start",
              "EMP", m.AuthorizeRemoteStart, m.Acknowledgement, 100, _REMOTE, forwarded=True),
    Operation("eRoamingAuthorizeRemoteStop", ("E6", "C10"),
              "/charging/v21/providers/{providerID}/authorize-remote/stop",
              "EMP", m.AuthorizeRemoteStop, m.Acknowledgement, 200, _REMOTE, forwarded=True),
    Operation("eRoamingAuthorizeRemoteReservationStart", ("E7", "C11"),
              "/reservation/v11/providers/{providerID}/reservation-start-request",
              "EMP", m.AuthorizeRemoteReservationStart, m.Acknowledgement, 100, _REMOTE, forwarded=True),
    Operation("eRoamingAuthorizeRemoteReservationStop", ("E8", "C12"),
              "/reservation/v11/providers/{providerID}/reservation-stop-request",
              "EMP", m.AuthorizeRemoteReservationStop, m.Acknowledgement, 200, _REMOTE, forwarded=True),
    Operation("eRoamingPullEvseData", ("E1",), "/evsepull/v23/providers/{providerID}/data-records",
              "EMP", m.PullEvseData, m.EvseDataPage, 100, _PULL, paged=True),
    Operation("eRoamingPullEvseStatus", ("E2",), "/evsepull/v21/providers/{providerID}/status-records",
              "EMP", m.PullEvseStatus, m.EvseStatusResponse, 6, _PULL),
    Operation("eRoamingPullEvseStatusByID", ("E3",),
              "/evsepull/v21/providers/{providerID}/status-records-by-id",
              "EMP", m.PullEvseStatusById, m.EvseStatusByIdResponse, 300, _PULL),
    Operation("eRoamingPullEvseStatusByOperatorID", ("E4",),
              "/evsepull/v21/providers/{providerID}/status-records-by-operator-id",
              "EMP", m.PullEvseStatusByOperatorId, m.EvseStatusResponse, 75, _PULL),
    Operation("eRoamingPushAuthenticationData", ("E9",), "/authdata/v21/providers/{providerID}/push-request",
              "EMP", m.PushAuthenticationData, m.Acknowledgement, 50, _PUSH),
    Operation("eRoamingGetChargeDetailRecords", ("E10",),
              "/cdrmgmt/v22/providers/{providerID}/get-charge-detail-records-request",
              "EMP", m.GetChargeDetailRecords, m.CdrPage, 200, _PULL, paged=True),
    Operation("eRoamingPullPricingProductData", ("E11",),
              "/dynamicpricing/v10/providers/{providerID}/pricing-products",
              "EMP", m.PullPricingProductData, m.PricingProductDataResponse, 300, _PULL),
    Operation("eRoamingPullEVSEPricing", ("E12",), "/dynamicpricing/v10/providers/{providerID}/evse-pricing",
              "EMP", m.PullEvsePricing, m.EvsePricingResponse, 280, _PULL),
)  # fmt: skip

_BY_NAME = {op.name: op for op in OPERATIONS}


def by_name(name: str) -> Operation:
    return _BY_NAME[name]


def _pattern(op: Operation) -> re.Pattern[str]:
    body = re.escape(API_PREFIX + op.path)
    body = re.sub(r"\\\{[A-Za-z]+\\\}", r"(?P<id>[^/]+)", body)
    return re.compile(f"^{body}$")


_PATTERNS = [(_pattern(op), op) for op in OPERATIONS]


def match_path(path: str) -> tuple[Operation, str | None] | None:
    """The operation served at ``path`` and the ID segment in it (``%2A`` read as ``*``), or ``None``."""
    for pattern, op in _PATTERNS:
        found = pattern.match(path)
        if found is not None:
            ident = found.groupdict().get("id")
            return op, (ident.replace("%2A", "*").replace("%2a", "*") if ident else None)
    return None


def status(code: str, info: str | None = None) -> m.StatusCode:
    """A ``StatusCode`` with the code's defined description (free text in ``AdditionalInfo``)."""
    from evroam.oicp.status import DESCRIPTIONS, Code

    try:
        description: str | None = DESCRIPTIONS[Code(code)]
    except ValueError:
        description = None
    return m.StatusCode(Code=code, Description=description, AdditionalInfo=info[:1000] if info else None)


def error_answer(op: Operation, code: str, info: str | None = None, session_id: str | None = None) -> Any:
    """The synchronous answer of ``op`` that refuses with ``code`` (OICP answers HTTP 200 with a
    negative body): ``Result: false``, ``NotAuthorized``, or an empty page / list."""
    sc = status(code, info)
    resp = op.response
    if resp is m.Acknowledgement:
        return m.Acknowledgement(Result=False, StatusCode=sc, SessionID=session_id)
    if resp is m.AuthorizationStart:
        return m.AuthorizationStart(
            AuthorizationStatus=m.AuthorizationStatus.NOT_AUTHORIZED, StatusCode=sc, SessionID=session_id
        )
    if resp is m.AuthorizationStop:
        return m.AuthorizationStop(
            AuthorizationStatus=m.AuthorizationStatus.NOT_AUTHORIZED, StatusCode=sc, SessionID=session_id
        )
    if resp in (m.EvseDataPage, m.CdrPage):
        return resp(content=[], number=0, size=0, totalElements=0, last=True, totalPages=0, first=True,
                    numberOfElements=0, StatusCode=sc)  # fmt: skip
    if resp is m.EvseStatusResponse:
        return m.EvseStatusResponse(EvseStatuses=m.EvseStatuses(OperatorEvseStatus=[]), StatusCode=sc)
    if resp is m.EvseStatusByIdResponse:
        return m.EvseStatusByIdResponse(
            EVSEStatusRecords=m.EvseStatusRecords(EvseStatusRecord=[]), StatusCode=sc
        )
    if resp is m.PricingProductDataResponse:
        return m.PricingProductDataResponse(PricingProductData=[], StatusCode=sc)
    return m.EvsePricingResponse(EVSEPricing=[], StatusCode=sc)


def succeeded(answer: Any) -> bool:
    """Whether a synchronous answer is positive (``Result``, ``Authorized`` or a ``000`` status)."""
    if isinstance(answer, m.Acknowledgement):
        return answer.Result
    if isinstance(answer, (m.AuthorizationStart, m.AuthorizationStop)):
        return answer.AuthorizationStatus is m.AuthorizationStatus.AUTHORIZED
    code = getattr(answer, "StatusCode", None)
    return code is None or code.Code == "000"
