"""CDRs module (OCPI 2.1.1): the charge detail record and its charging periods.

A 2.1.1 CDR embeds the whole Location (with only the EVSE and Connector used) and references the
token by ``auth_id``; ``total_cost`` is a number excluding VAT. CDRs are immutable once posted.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from evroam.core.types import CiString36, DateTime, Number, String3, String36, String255
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_1_1.enums import AuthMethod, CdrDimensionType
from evroam.ocpi.v2_1_1.locations import Location
from evroam.ocpi.v2_1_1.tariffs import Tariff

__all__ = ["CDR", "CdrDimension", "ChargingPeriod"]


class CdrDimension(WireModel, kw_only=True):
    type: CdrDimensionType
    volume: Number  # unit per type: kWh, A or hours


class ChargingPeriod(WireModel, kw_only=True):
    """A period that lasts until the next period starts (the last one until the session ends)."""

    start_date_time: DateTime
    dimensions: Annotated[list[CdrDimension], msgspec.Meta(min_length=1)]


class CDR(WireModel, kw_only=True):
    id: CiString36
    start_date_time: DateTime
    stop_date_time: DateTime
    auth_id: String36  # Token.auth_id
    auth_method: AuthMethod
    location: Location
    meter_id: String255 | None = None
    currency: String3  # ISO 4217
    tariffs: list[Tariff] | None = None
    charging_periods: Annotated[list[ChargingPeriod], msgspec.Meta(min_length=1)]
    total_cost: Number  # excluding VAT
    total_energy: Number  # kWh
    total_time: Number  # hours, charging and not charging
    total_parking_time: Number | None = None  # hours
    remark: String255 | None = None
    last_updated: DateTime
