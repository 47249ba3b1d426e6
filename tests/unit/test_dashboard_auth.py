"""The dashboard's admin login: scrypt hashes, signed session cookies, expiry, CSRF; and the chart."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from evroam.core.types import DateTime
from evroam.http.dashboard import AdminAuth, clear_admin, hash_password, set_admin_password, verify_password
from evroam.http.dashboard.views import location_colour, session_chart
from evroam.model.cdrs import CdrDimension, ChargingPeriod
from evroam.model.enums import CdrDimensionType
from evroam.testing import FixedClock, MemoryStore


def test_a_password_is_stored_hashed_with_a_salt_and_checked() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$") and "correct horse" not in stored
    assert hash_password("correct horse") != stored  # a new salt each time
    assert verify_password("correct horse", stored)
    assert not verify_password("correct hors", stored)
    assert not verify_password("correct horse", "md5$whatever")


async def test_login_gives_a_session_that_expires_and_ends_with_a_new_password() -> None:
    store, clock = MemoryStore(), FixedClock("2026-03-01T12:00:00Z")
    auth = AdminAuth(store, clock)
    assert await auth.login("anything at all") is None  # no password set: no login
    await set_admin_password(store, "s3cret-pass")
    assert await auth.login("wrong-pass") is None
    session = await auth.login("s3cret-pass")
    assert session is not None
    assert await auth.check(session.cookie) == session
    assert "HttpOnly" in auth.set_cookie(session) and "SameSite=Strict" in auth.set_cookie(session)
    # a tampered cookie, or one of another session, is refused
    expiry, nonce, mac = session.cookie.split(".")
    assert await auth.check(f"{int(expiry) + 3600}.{nonce}.{mac}") is None
    other = await auth.login("s3cret-pass")
    assert other is not None and other.csrf != session.csrf
    clock.advance(13 * 3600)
    assert await auth.check(session.cookie) is None  # expired
    fresh = await auth.login("s3cret-pass")
    assert fresh is not None
    await set_admin_password(store, "n3w-password")
    assert await auth.check(fresh.cookie) is None  # every session ended
    again = await auth.login("n3w-password")
    assert again is not None
    await clear_admin(store)
    assert await auth.check(again.cookie) is None
    assert await auth.login("n3w-password") is None


def test_a_location_is_coloured_by_its_best_evse() -> None:
    assert location_colour(["OUTOFORDER", "AVAILABLE"]) == "available"
    assert location_colour(["CHARGING", "OUTOFORDER"]) == "charging"
    assert location_colour(["INOPERATIVE"]) == "fault"
    assert location_colour([]) == "unknown"


def test_the_chart_has_power_and_the_energy_charged_so_far() -> None:
    start = DateTime.from_datetime(FixedClock("2026-03-01T12:00:00Z").now())

    def period(minutes: int, kwh: str, kw: str | None = None) -> ChargingPeriod:
        dims = [CdrDimension(type=CdrDimensionType.ENERGY, volume=Decimal(kwh))]
        if kw is not None:
            dims.append(CdrDimension(type=CdrDimensionType.POWER, volume=Decimal(kw)))
        return ChargingPeriod(start_date_time=start + timedelta(minutes=minutes), dimensions=tuple(dims))

    chart = session_chart([period(15, "2"), period(0, "1", "7.5")], start + timedelta(minutes=45))
    assert chart.times == ["2026-03-01T12:00:00Z", "2026-03-01T12:15:00Z", "2026-03-01T12:45:00Z"]
    assert chart.energy_kwh == [0.0, 1.0, 3.0]
    assert chart.power_kw == [7.5, 4.0, 4.0]  # the second: 2 kWh in half an hour
