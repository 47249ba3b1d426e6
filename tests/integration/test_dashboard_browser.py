"""The dashboard in a real browser: Playwright for Python driving the system's Chromium (the Debian
package ``chromium``; no browser is downloaded) against ``evroam serve`` on the demo scenario's eMSP
node. Logs in, sees the partners, clicks a location on the map, opens a session's chart, opens a CDR's
price explanation, retries a parked outbox job, and takes a screenshot of every page.

Skips (with the reason) where Playwright or Chromium cannot be had; fails instead when ``CI=true``.
``EVROAM_UPDATE_SCREENSHOTS=1`` (``make screenshots``) writes the screenshots to docs/img/dashboard/.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from evroam.demo import EVSE, run_scenario
from evroam.sim import site
from evroam.testing import free_port, wait_until

from .dashboard_data import prepare

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DOCS_IMG = ROOT / "docs" / "img" / "dashboard"
PASSWORD = "dash-board-19"
GENERATED = 40
VIEWPORT = {"width": 1024, "height": 700}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"the dashboard's browser test cannot run in CI: {reason}")
    pytest.skip(reason)


def chromium_path() -> str:
    """The system's Chromium (``EVROAM_CHROMIUM`` or on the PATH)."""
    for candidate in (os.environ.get("EVROAM_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and (found := shutil.which(candidate)):
            return found
    _unavailable("no Chromium found (apt-get install chromium, or set EVROAM_CHROMIUM)")
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install playwright)")
    browser_path = chromium_path()
    workdir = tmp_path_factory.mktemp("dashboard") / "demo"
    result = run_scenario(workdir, out=io.StringIO(), speed=1200.0, minutes=30.0)
    parked = prepare(result.emsp_dir, site.LOCATION_ID, GENERATED)
    env = {**os.environ, "EVROAM_LOG_LEVEL": "WARNING"}
    evroam = [sys.executable, "-m", "evroam", "--data-dir", str(result.emsp_dir)]
    subprocess.run(
        [*evroam, "admin", "set-password", "--password-stdin"],
        input=PASSWORD + "\n",
        text=True,
        check=True,
        capture_output=True,
        env=env,
    )
    port = free_port()
    log = (workdir.parent / "serve.log").open("wb")
    process = subprocess.Popen(
        [*evroam, "serve", "--port", str(port), "--no-worker"], stdout=log, stderr=subprocess.STDOUT, env=env
    )
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(ready, timeout=30, what="the eMSP node to serve")
        yield {
            "base": base,
            "parked": parked,
            "session": result.emsp_session,
            "cdr": result.emsp_cdr,
            "chromium": browser_path,
            "shots": workdir.parent / "shots",
        }
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def test_an_operator_uses_the_dashboard(served: dict[str, Any]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base = served["base"]
    shots: Path = served["shots"]
    shots.mkdir(exist_ok=True)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=served["chromium"], args=["--no-sandbox"])
        page = browser.new_page(viewport=VIEWPORT)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

        def shot(name: str) -> None:
            page.screenshot(path=str(shots / f"{name}.png"))

        # the dashboard wants its own login: a page asked for sends to it
        page.goto(f"{base}/dashboard/partners")
        expect(page).to_have_url(f"{base}/dashboard/login")
        page.fill("#password", "not-the-password")
        page.click("button[type=submit]")
        expect(page.locator(".error")).to_have_text("Wrong password.")
        shot("login")
        page.fill("#password", PASSWORD)
        errors.clear()  # the browser logs the refused login (HTTP 401) as a failed load
        page.click("button[type=submit]")

        # partners: the demo's CPO, registered, with its endpoints and the parked job in its backlog
        expect(page).to_have_url(f"{base}/dashboard/partners")
        row = page.locator("table.partners tbody tr", has_text="cpo")
        expect(row).to_contain_text("REGISTERED")
        expect(row).to_contain_text("NL*CPO (CPO)")
        expect(row).to_contain_text("1 parked")
        cookie = next(c for c in page.context.cookies() if c["name"] == "evroam_admin")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        expect(page.locator("#updated")).to_contain_text("live")
        shot("partners")

        # the map: every location plotted, coloured by EVSE status; a click tells which it is
        page.click("nav >> text=Map")
        dots = page.locator("#map circle")
        expect(dots).to_have_count(GENERATED + 1)
        expect(page.locator("#map circle.fault")).not_to_have_count(0)
        page.locator(f'#map circle[data-key="NL*CPO*{site.LOCATION_ID}"]').click(force=True)
        expect(page.locator("#map-info h3")).to_have_text("evroam demo site")
        expect(page.locator("#map-info")).to_contain_text("Source: cpo")
        shot("map")

        # ... and leads to its EVSEs
        page.click("#map-open")
        evses = page.locator("table.evses tbody tr")
        expect(evses).to_have_count(3)
        expect(page.locator("table.evses")).to_contain_text(EVSE)
        shot("location")

        # sessions: the demo's session, then its chart (power and energy from its charging periods)
        page.click("nav >> text=Sessions")
        session = served["session"]
        expect(page.locator("table.sessions")).to_contain_text(str(session.id))
        shot("sessions")
        page.click(f"a.session-link >> text={session.id}")
        chart = page.locator("#session-chart")
        expect(chart.locator("path.power")).to_have_count(1)
        expect(chart.locator("path.energy")).to_have_count(1)
        points = int(chart.get_attribute("data-points") or "0")
        assert points == len(session.charging_periods or ()) + 1
        expect(page.locator("#session-kwh")).to_have_text(f"{session.kwh:.3f}")
        shot("session")

        # CDRs: the price explained by the tariff engine, adding up to the CDR's total
        page.click("nav >> text=CDRs")
        cdr = served["cdr"]
        shot("cdrs")
        page.click(f"a.cdr-link >> text={cdr.id}")
        explain = page.locator("pre.explain")
        expect(explain).to_contain_text(site.AC_TARIFF)
        expect(explain).to_contain_text("total excl.")
        # the engine writes amounts without trailing zeros (2.9): compare the number, not its spelling
        total = re.search(r"total excl\. ([0-9.]+)", explain.inner_text())
        assert total is not None and Decimal(total.group(1)) == cdr.total_cost.before_taxes
        shot("cdr")

        # tokens: the eMSP's own tokens
        page.click("nav >> text=Tokens")
        expect(page.locator("table.tokens")).to_contain_text("APP-0001")
        shot("tokens")

        # the outbox: a retry without the page's CSRF token is refused ...
        page.click("nav >> text=Outbox")
        parked = served["parked"]
        expect(page.locator("#outbox-parked h2 .num")).to_have_text("1")
        forged = page.request.post(
            f"{base}/dashboard/outbox/retry", form={"id": str(parked)}, max_redirects=0
        )
        assert forged.status == 403
        shot("outbox")
        # ... the button retries the parked job: it is pending again
        page.click(f'button.retry[data-job="{parked}"]')
        expect(page.locator(".flash")).to_have_text(f"Retried: {parked}.")
        expect(page.locator("#outbox-parked h2 .num")).to_have_text("0")
        expect(page.locator("table.outbox.pending")).to_contain_text(str(parked))

        page.click("nav >> text=Charging plan")
        expect(page.locator("main")).to_contain_text("smart-charging plan")
        shot("plan")

        # logged out, the JSON behind the map answers 401
        page.click("header .logout button")
        expect(page).to_have_url(f"{base}/dashboard/login")
        assert page.request.get(f"{base}/dashboard/api/map").status == 401
        browser.close()

    assert errors == []
    names = sorted(p.stem for p in shots.glob("*.png"))
    assert names == sorted(
        [
            "login",
            "partners",
            "map",
            "location",
            "sessions",
            "session",
            "cdrs",
            "cdr",
            "tokens",
            "outbox",
            "plan",
        ]
    )
    if os.environ.get("EVROAM_UPDATE_SCREENSHOTS") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        for png in shots.glob("*.png"):
            shutil.copyfile(png, DOCS_IMG / png.name)


def test_the_assets_are_pinned_and_served_by_the_node(served: dict[str, Any]) -> None:
    base = served["base"]
    login = httpx.get(f"{base}/dashboard/login").text
    css = re.search(r'href="(/dashboard/static/dashboard\.css\?v=[0-9a-f]+)"', login)
    assert css is not None
    answer = httpx.get(base + css.group(1))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/css")
    assert "immutable" in answer.headers["cache-control"]
    # nothing on the page comes from elsewhere
    assert not re.search(r'(src|href)="(https?:)?//', login)
    assert "default-src 'self'" in httpx.get(f"{base}/dashboard/login").headers["content-security-policy"]
    assert json.loads(httpx.get(f"{base}/dashboard/api/map").text) == {"error": "log in first"}
