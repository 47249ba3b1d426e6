"""Payments module (OCPI 2.3.0 with the Payments package): payment terminals and capture results.

Besides the spec's two objects, three request bodies get their own structs because the spec relaxes
the Terminal's cardinalities for them:

* :class:`TerminalCreation`: the PTP's POST of a new Terminal to the CPO "can be just the terminal id";
* :class:`TerminalActivation`: the CPO's activation request, where ``terminal_id`` is optional (the
  PTP assigns it) and everything else keeps the Terminal's cardinality;
* :class:`TerminalPatch`: the CPO's PATCH (location / EVSE assignment). The Payments chapter does not
  require ``last_updated`` in it (its example has none), unlike the Locations/Sessions/Tokens PATCHes.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from evroam.core.types import (
    CiString2,
    CiString3,
    CiString10,
    CiString20,
    CiString36,
    CiString45,
    CiString255,
    DateTime,
    Url,
)
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_3_0.common import GeoLocation, Price
from evroam.ocpi.v2_3_0.enums import CaptureStatusCode, InvoiceCreator

__all__ = [
    "FinancialAdviceConfirmation",
    "Terminal",
    "TerminalActivation",
    "TerminalCreation",
    "TerminalPatch",
]


class Terminal(WireModel, kw_only=True):
    terminal_id: CiString36
    customer_reference: CiString36 | None = None  # links the terminal to the CPO's system
    party_id: CiString3 | None = None
    country_code: CiString2 | None = None
    address: CiString45 | None = None
    city: CiString45 | None = None
    postal_code: CiString10 | None = None
    state: CiString20 | None = None
    country: CiString3 | None = None  # ISO 3166-1 alpha-3
    coordinates: GeoLocation | None = None
    invoice_base_url: Url | None = None
    invoice_creator: InvoiceCreator | None = None
    reference: CiString36 | None = None  # the PTP's own mapping value, e.g. a serial number
    location_ids: list[CiString36] | None = None
    evse_uids: list[CiString36] | None = None
    last_updated: DateTime


class TerminalCreation(WireModel, kw_only=True):
    """Body of the PTP's POST to the CPO's ``terminals``: a Terminal of which only the id is required."""

    terminal_id: CiString36
    customer_reference: CiString36 | None = None
    party_id: CiString3 | None = None
    country_code: CiString2 | None = None
    address: CiString45 | None = None
    city: CiString45 | None = None
    postal_code: CiString10 | None = None
    state: CiString20 | None = None
    country: CiString3 | None = None
    coordinates: GeoLocation | None = None
    invoice_base_url: Url | None = None
    invoice_creator: InvoiceCreator | None = None
    reference: CiString36 | None = None
    location_ids: list[CiString36] | None = None
    evse_uids: list[CiString36] | None = None
    last_updated: DateTime | None = None


class TerminalActivation(WireModel, kw_only=True):
    """Body of the CPO's POST ``terminals/activate``: a Terminal whose ``terminal_id`` is optional."""

    terminal_id: CiString36 | None = None
    customer_reference: CiString36 | None = None
    party_id: CiString3 | None = None
    country_code: CiString2 | None = None
    address: CiString45 | None = None
    city: CiString45 | None = None
    postal_code: CiString10 | None = None
    state: CiString20 | None = None
    country: CiString3 | None = None
    coordinates: GeoLocation | None = None
    invoice_base_url: Url | None = None
    invoice_creator: InvoiceCreator | None = None
    reference: CiString36 | None = None
    location_ids: list[CiString36] | None = None
    evse_uids: list[CiString36] | None = None
    last_updated: DateTime


class TerminalPatch(WireModel, kw_only=True):
    """Body of the CPO's PATCH of a Terminal (typically ``location_ids`` / ``evse_uids``)."""

    terminal_id: CiString36 | None = None
    customer_reference: CiString36 | None = None
    party_id: CiString3 | None = None
    country_code: CiString2 | None = None
    address: CiString45 | None = None
    city: CiString45 | None = None
    postal_code: CiString10 | None = None
    state: CiString20 | None = None
    country: CiString3 | None = None
    coordinates: GeoLocation | None = None
    invoice_base_url: Url | None = None
    invoice_creator: InvoiceCreator | None = None
    reference: CiString36 | None = None
    location_ids: list[CiString36] | None = None
    evse_uids: list[CiString36] | None = None
    last_updated: DateTime | None = None


class FinancialAdviceConfirmation(WireModel, kw_only=True):
    """What the PTP captured at its payment service provider for one session."""

    id: CiString36
    authorization_reference: CiString36  # the one the PTP gave in StartSession
    total_costs: Price  # the amount captured, taxes included
    currency: CiString3
    eft_data: Annotated[list[CiString255], msgspec.Meta(min_length=1)]
    capture_status_code: CaptureStatusCode
    capture_status_message: CiString255 | None = None
    last_updated: DateTime
