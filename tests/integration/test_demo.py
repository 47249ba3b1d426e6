"""``make demo``'s scenario, run as it is (the same function ``python -m evroam.demo`` runs), checked:
real node processes on 127.0.0.1, a session started and stopped by command, a CDR priced by the
tariff engine that both nodes hold alike, and no process left behind."""

from __future__ import annotations

import io
import math
import os
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from evroam import model as m
from evroam.chargepoint.sink import engine_tariffs
from evroam.core.codec import encode
from evroam.demo import run_scenario
from evroam.modules.cdrs.convert import cdr_converters
from evroam.modules.sessions.convert import session_converters
from evroam.tariffs import price
from evroam.tariffs.adapt import session_from_json

pytestmark = pytest.mark.slow


def _engine_session_of(cdr: m.CDR):  # type: ignore[no-untyped-def]
    """The CDR's own charging periods, read back as the engine's input."""
    return session_from_json(
        {
            "start_date_time": cdr.start_date_time.to_json(),
            "end_date_time": cdr.end_date_time.to_json(),
            "charging_periods": [
                {
                    "start_date_time": p.start_date_time.to_json(),
                    "dimensions": [{"type": d.type.value, "volume": str(d.volume)} for d in p.dimensions],
                    **({"tariff_id": str(p.tariff_id)} if p.tariff_id else {}),
                }
                for p in cdr.charging_periods
            ],
        },
        "2.2.1",
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_demo_scenario_ends_in_a_priced_cdr_both_nodes_hold(tmp_path: Path) -> None:
    out = io.StringIO()
    result = run_scenario(tmp_path / "demo", out=out, speed=600, minutes=60)
    text = out.getvalue()

    # every step happened, over real sockets between the two processes
    assert result.handshake["status"] == "REGISTERED" and result.version == "2.2.1"
    assert {e["module"] for e in result.handshake["endpoints"]} >= {"commands", "sessions", "cdrs", "tokens"}
    assert result.authorization["outcome"] == "ALLOWED" and result.authorization["source"]
    assert (result.start["outcome"], result.stop["outcome"]) == ("ACCEPTED", "ACCEPTED")
    assert [e["source"] for e in result.start["results"]] == ["partner"]

    session, cdr = result.emsp_session, result.emsp_cdr
    assert session.status is m.SessionStatus.COMPLETED
    assert session.authorization_reference == result.start["request"]["authorization_reference"]
    assert cdr.session_id == session.id and cdr.authorization_reference == session.authorization_reference
    assert session.end_date_time is not None
    minutes = (session.end_date_time - session.start_date_time).total_seconds() / 60
    assert 45 <= minutes <= 90  # "about one simulated hour"
    assert len(session.charging_periods or ()) >= 8  # an update every 5 simulated minutes
    assert cdr.total_energy == session.kwh > 0

    # the CDR's total is the engine's price of the CDR's own periods
    assert cdr.tariffs is not None and [t.id for t in cdr.tariffs] == ["AC-STANDARD"]
    again = price(engine_tariffs(cdr.tariffs), _engine_session_of(cdr), "Europe/Amsterdam").rounded(2)
    assert (again.total_cost.excl_vat, again.total_cost.incl_vat) == (
        cdr.total_cost.before_taxes,
        cdr.total_cost.after_taxes,
    )
    # ... which is the AC-STANDARD tariff worked out by hand: 0.50 + 0.35/kWh + 1.00/h by the minute
    billed_minutes = Decimal(
        math.ceil(round((cdr.end_date_time - cdr.start_date_time).total_seconds(), 3) / 60)
    )
    by_hand = Decimal("0.50") + Decimal("0.35") * cdr.total_energy + billed_minutes / 60
    assert cdr.total_cost.before_taxes == by_hand.quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert cdr.total_cost.after_taxes == (by_hand * Decimal("1.21")).quantize(Decimal("0.01"), ROUND_HALF_UP)

    # both nodes hold the same session and CDR (as the OCPI version they speak writes them)
    sessions, cdrs = session_converters(result.version), cdr_converters(result.version)
    assert encode(sessions.session_from_model(result.cpo_session)) == encode(
        sessions.session_from_model(session)
    )
    assert encode(cdrs.cdr_from_model(result.cpo_cdr)) == encode(cdrs.cdr_from_model(cdr))
    assert "the CPO and the eMSP hold the same session and CDR" in text

    # the summary a person reads, and nothing left running
    for heading in ("Handshake", "Session timeline", "The CDR and its price", "Look around"):
        assert heading in text
    assert f"evroam --data-dir {result.emsp_dir} sessions list" in text
    assert f"evroam --data-dir {result.emsp_dir} cdrs list" in text
    assert len(result.pids) == 2 and not any(_alive(pid) for pid in result.pids)
    # how long it took is measured by bench/demo.py, not asserted here (a loaded machine is slower)
