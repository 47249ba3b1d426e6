"""OCPI <-> OICP: what maps between the two protocols, what is lost on the way, and the gateway.

:mod:`evroam.bridge.report` is the loss report (pure, no I/O) behind ``evroam bridge report``;
:mod:`evroam.bridge.gateway` the gateway (``evroam serve --gateway``): chargers found at the OICP hub served
to OCPI partners. See ``docs/bridge.md``.
"""

from .report import (
    REPORT_VERSION,
    Entry,
    Fate,
    LossReport,
    ObjectReport,
    UnmappedField,
    profile_for,
    report_authorize_remote_start,
    report_authorize_start,
    report_cdr,
    report_evse_data,
    report_evse_status,
    report_identification,
    report_location,
    report_oicp_cdr,
    report_pricing_product,
    report_session,
    report_tariff,
    report_token,
)

__all__ = [
    "REPORT_VERSION",
    "Entry",
    "Fate",
    "LossReport",
    "ObjectReport",
    "UnmappedField",
    "profile_for",
    "report_authorize_remote_start",
    "report_authorize_start",
    "report_cdr",
    "report_evse_data",
    "report_evse_status",
    "report_identification",
    "report_location",
    "report_oicp_cdr",
    "report_pricing_product",
    "report_session",
    "report_tariff",
    "report_token",
]
