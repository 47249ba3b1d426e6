"""Helpers for the tariff engine tests: official example tariffs and sessions written as local timelines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from evroam.tariffs.adapt import tariff_from_json
from evroam.tariffs.model import Period, Session, State, Tariff
from tests.conftest import shared_path

AMSTERDAM = "Europe/Amsterdam"
_decoder = msgspec.json.Decoder(float_hook=Decimal)


def example_json(version: str, name: str) -> Any:
    """An official example file of ``version`` (``name`` without ``.json``), parsed with Decimal numbers."""
    return _decoder.decode(shared_path("spec", "ocpi", "examples", version, f"{name}.json").read_bytes())


def example_tariff(version: str, name: str) -> Tariff:
    return tariff_from_json(example_json(version, name), version)


def D(value: str | int) -> Decimal:
    return Decimal(value)


@dataclass(frozen=True)
class Part:
    """``minutes`` of ``state`` delivering ``kwh``; power (kW) / current (A) when the case needs them."""

    state: State
    minutes: Decimal | int | str
    kwh: str | int = 0
    power: str | None = None
    min_current: str | None = None
    max_current: str | None = None


def charging(minutes: Decimal | int | str, kwh: str | int = 0, **kw: Any) -> Part:
    return Part(State.CHARGING, minutes, kwh, **kw)


def parking(minutes: Decimal | int | str) -> Part:
    return Part(State.PARKING, minutes)


def reserved(minutes: Decimal | int | str) -> Part:
    return Part(State.RESERVATION, minutes)


def timeline(
    start_local: str, *parts: Part, tz: str = AMSTERDAM, reservation_expired: bool | None = None
) -> Session:
    """A session starting at local time ``start_local`` ("YYYY-MM-DDTHH:MM") made of ``parts`` in order."""
    at = datetime.fromisoformat(start_local).replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
    periods = []
    for part in parts:
        periods.append(
            Period(
                start=at,
                state=part.state,
                energy=Decimal(part.kwh),
                min_power=None if part.power is None else Decimal(part.power),
                max_power=None if part.power is None else Decimal(part.power),
                min_current=None if part.min_current is None else Decimal(part.min_current),
                max_current=None if part.max_current is None else Decimal(part.max_current),
            )
        )
        at = at + timedelta(minutes=float(Decimal(part.minutes)))
    return Session.of(periods, end=at, reservation_expired=reservation_expired)


def same_amount(actual: Decimal | None, expected: Decimal) -> bool:
    """Equal up to the engine's 34 significant digits (a repeating fraction such as 20 min x 2/h is not
    exact in decimal)."""
    return actual is not None and abs(actual - expected) <= Decimal("1e-24")
