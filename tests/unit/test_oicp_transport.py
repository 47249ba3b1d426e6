"""OICP transport over real sockets: mutual TLS both ways, synchronous answers, timeouts, rate window."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from evroam.http.oicp import (
    OicpClient,
    OicpError,
    OicpRequest,
    OicpServer,
    RateWindow,
    Reply,
    dispatcher,
    start_server,
)
from evroam.oicp import codec
from evroam.oicp import messages as m
from evroam.oicp.operations import by_name, status
from evroam.oicp.tls import TlsFiles, server_context
from tests.support.oicp_certs import Certificates

STATUS = by_name("eRoamingPushEvseStatus")


def _push() -> m.PushEvseStatus:
    return m.PushEvseStatus(
        ActionType=m.ActionType.UPDATE,
        OperatorEvseStatus=m.OperatorEvseStatus(
            OperatorID="DE*ABC",
            EvseStatusRecord=[m.EvseStatusRecord(EvseID="DE*ABC*E1", EvseStatus=m.EvseStatus.OCCUPIED)],
        ),
    )


async def _serve(files: TlsFiles, seen: list[Any]) -> tuple[OicpServer, str]:
    async def push_status(body: m.PushEvseStatus, ident: str | None, query: Mapping[str, str]) -> Any:
        seen.append((body, ident))
        return m.Acknowledgement(Result=True, StatusCode=status("000"))

    server = await start_server(dispatcher({STATUS.name: push_status}), "127.0.0.1", 0, server_context(files))
    port = server.sockets[0].getsockname()[1]
    return server, f"https://127.0.0.1:{port}"


async def test_mutual_tls_call_and_refusals(tmp_path: Path) -> None:
    certs = Certificates(tmp_path / "pki")
    hub, cpo = certs.issue("hub"), certs.issue("DE*ABC")
    seen: list[Any] = []
    server, url = await _serve(hub, seen)
    try:
        async with OicpClient(url, cpo) as client:
            answer = await client.call(STATUS, "DE*ABC", _push())
            assert answer == m.Acknowledgement(Result=True, StatusCode=status("000"))
            assert seen == [(_push(), "DE*ABC")]
            # a body that does not fit the operation: HTTP 200 with StatusCode 022, Result false
            raw = await client.call_raw(STATUS, "DE*ABC", b'{"ActionType":"update"}')
            bad = codec.decode(raw, m.Acknowledgement)
            assert (bad.Result, bad.StatusCode.Code) == (False, "022")
            assert "OperatorEvseStatus" in (bad.StatusCode.AdditionalInfo or "")
        # no client certificate: the TLS handshake fails
        bare = ssl.create_default_context(cafile=certs.ca_path)
        async with OicpClient(url, bare) as client:
            with pytest.raises(OicpError):
                await client.call(STATUS, "DE*ABC", _push())
        # a certificate of another CA: refused as well
        other = Certificates(tmp_path / "other").issue("DE*ABC")
        async with OicpClient(url, TlsFiles(cert=other.cert, key=other.key, ca=str(certs.ca_path))) as client:
            with pytest.raises(OicpError):
                await client.call(STATUS, "DE*ABC", _push())
        # and the client checks the server: a hub with a certificate of an unknown CA is refused
        async with OicpClient(
            url, TlsFiles(cert=cpo.cert, key=cpo.key, ca=str(tmp_path / "other" / "ca.pem"))
        ) as client:
            with pytest.raises(OicpError):
                await client.call(STATUS, "DE*ABC", _push())
        assert len(seen) == 1
    finally:
        server.close()
        await server.wait_closed()


async def test_the_server_sees_the_client_certificate(tmp_path: Path) -> None:
    certs = Certificates(tmp_path / "pki")
    hub, emp = certs.issue("hub"), certs.issue("DE-XYZ")
    names: list[tuple[str, ...]] = []

    async def handler(request: OicpRequest) -> Reply:
        names.append(request.peer_names)
        return Reply(200, codec.encode(m.Acknowledgement(Result=True, StatusCode=status("000"))))

    server = await start_server(handler, "127.0.0.1", 0, server_context(hub))
    try:
        url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        async with OicpClient(url, emp) as client:
            await client.call(STATUS, "DE*ABC", _push())
        assert names[0][0] == "DE-XYZ"
    finally:
        server.close()
        await server.wait_closed()


async def test_timeout_of_the_operation(tmp_path: Path) -> None:
    certs = Certificates(tmp_path / "pki")
    hub, cpo = certs.issue("hub"), certs.issue("DE*ABC")
    release = asyncio.Event()

    async def slow(request: OicpRequest) -> Reply:
        await release.wait()
        return Reply(200, b"{}")

    server = await start_server(slow, "127.0.0.1", 0, server_context(hub))
    try:
        url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        async with OicpClient(url, cpo) as client:
            with pytest.raises(OicpError, match="Timeout"):
                await client.call_raw(STATUS, "DE*ABC", codec.encode(_push()), wait=0.2)
    finally:
        release.set()
        server.close()
        await server.wait_closed()


def test_operation_timeouts() -> None:
    assert by_name("eRoamingAuthorizeRemoteStart").timeout == 60.0  # Hubject gives a CPO 60 s
    assert by_name("eRoamingAuthorizeStart").timeout < by_name("eRoamingPullEvseData").timeout


def test_rate_window() -> None:
    window = RateWindow(2)
    assert window.delay(0.0) == 0.0
    window.record(0.0)
    window.record(10.0)
    assert window.delay(20.0) == 40.0  # the third call in a minute waits for the first to age out
    assert window.delay(60.0) == 0.0
    assert by_name("eRoamingPushEVSEPricing").per_minute == 6
    assert by_name("eRoamingPushEvseStatus").per_minute == 2000


def test_base_url_with_or_without_api_prefix() -> None:
    from evroam.http.oicp import _base

    assert _base("https://service-qa.hubject.com/api/oicp/") == "https://service-qa.hubject.com"
    assert _base("https://service.hubject.com") == "https://service.hubject.com"


async def test_the_client_keeps_hubjects_rate_per_minute(tmp_path: Path) -> None:
    """PushEVSEPricing: 6 calls a minute. The 7th waits until the first is a minute old (the clock and
    the sleep are the test's), and calls of one operation never overlap."""
    certs = Certificates(tmp_path / "pki")
    hub, cpo = certs.issue("hub"), certs.issue("DE*ABC")
    op = by_name("eRoamingPushEVSEPricing")
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    async def handler(request: OicpRequest) -> Reply:
        return Reply(200, codec.encode(m.Acknowledgement(Result=True, StatusCode=status("000"))))

    server = await start_server(handler, "127.0.0.1", 0, server_context(hub))
    try:
        body = m.PushEvsePricing(ActionType=m.ActionType.FULL_LOAD, EVSEPricing=[])
        async with OicpClient(
            f"https://127.0.0.1:{server.port}", cpo, monotonic=lambda: now[0], sleep=sleep
        ) as client:
            for second in range(7):
                now[0] = float(second)
                assert (await client.call(op, "DE*ABC", body)).Result is True
        assert slept == [54.0]  # sent at 6 s, waits until 60 s
    finally:
        server.close()
        await server.wait_closed()
