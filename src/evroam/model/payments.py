"""Canonical Payments objects (2.3.0 payments package: Terminal, FinancialAdviceConfirmation)."""

from __future__ import annotations

from evroam.core.types import CiString, DateTime
from evroam.model.common import CanonicalModel, GeoLocation, Price
from evroam.model.enums import CaptureStatusCode, InvoiceCreator

__all__ = ["FinancialAdviceConfirmation", "Terminal"]


class Terminal(CanonicalModel, frozen=True):
    terminal_id: CiString
    last_updated: DateTime
    customer_reference: CiString | None = None
    party_id: CiString | None = None
    country_code: CiString | None = None
    address: str | None = None
    city: str | None = None
    postal_code: str | None = None
    state: str | None = None
    country: str | None = None
    coordinates: GeoLocation | None = None
    invoice_base_url: str | None = None
    invoice_creator: InvoiceCreator | None = None
    reference: CiString | None = None
    location_ids: tuple[CiString, ...] | None = None
    evse_uids: tuple[CiString, ...] | None = None


class FinancialAdviceConfirmation(CanonicalModel, frozen=True):
    id: CiString
    authorization_reference: CiString
    total_costs: Price
    currency: str
    eft_data: tuple[str, ...]
    capture_status_code: CaptureStatusCode
    last_updated: DateTime
    capture_status_message: str | None = None
