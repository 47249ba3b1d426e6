"""OICP transport over real sockets: mutual TLS both ways, synchronous answers, timeouts, rate window."""

from __future__ import annotations

import asyncio
import hashlib
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
    only_from,
    start_server,
)
from evroam.oicp import codec
from evroam.oicp import messages as m
from evroam.oicp.operations import by_name, status
from evroam.oicp.tls import TlsFiles, is_peer, server_context
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


# -- only the hub may call a partner's endpoints ------------------------------------------------------

HUB_CERT: dict[str, Any] = {
    "subject": ((("commonName", "hub"),),),
    "subjectAltName": (("DNS", "*.hubject.example"), ("IP Address", "10.0.0.1")),
}


def test_is_peer_by_name_alt_name_and_wildcard() -> None:
    assert is_peer(HUB_CERT, None, names=("HUB",))  # the common name, case-insensitively
    assert is_peer(HUB_CERT, None, names=("10.0.0.1",))
    assert is_peer(HUB_CERT, None, names=("service.hubject.example",))  # one label under the wildcard
    assert not is_peer(HUB_CERT, None, names=("a.service.hubject.example",))
    assert not is_peer(HUB_CERT, None, names=("hubject.example",))
    assert not is_peer(HUB_CERT, None, names=("hub.other.example", "10.0.0.2"))
    assert not is_peer(HUB_CERT, None, names=())  # nothing expected: nobody is the hub
    assert not is_peer(None, None, names=("hub",))


def test_is_peer_by_fingerprint_decides_alone() -> None:
    der = b"certificate bytes"
    digest = hashlib.sha256(der).hexdigest()
    spelt = ":".join(digest[i : i + 2] for i in range(0, 64, 2)).upper()
    assert is_peer(HUB_CERT, der, fingerprints=(spelt,))
    assert not is_peer(HUB_CERT, b"another certificate", names=("hub",), fingerprints=(digest,))
    assert not is_peer(HUB_CERT, None, fingerprints=(digest,))


async def test_only_from_answers_017_in_the_operation_shape(tmp_path: Path) -> None:
    certs = Certificates(tmp_path / "pki")
    node, hub, other = certs.issue("DE-XYZ"), certs.issue("hub"), certs.issue("other")
    called: list[str] = []

    async def ack(body: Any, ident: str | None, q: Mapping[str, str]) -> m.Acknowledgement:
        called.append(body.SessionID)
        return m.Acknowledgement(Result=True, StatusCode=status("000"), SessionID=body.SessionID)

    handler = only_from(
        dispatcher({"eRoamingChargeDetailRecord": ack}), lambda r: is_peer(r.peer, None, names=("hub",))
    )
    server = await start_server(handler, "127.0.0.1", 0, server_context(node))
    cdr_op = by_name("eRoamingChargeDetailRecord")
    body = b'{"SessionID": "11111111-aaaa-bbbb-cccc-000000000001"}'  # the guard answers before decoding
    try:
        url = f"https://127.0.0.1:{server.port}"
        async with OicpClient(url, other, rate_limits=False) as client:
            refused = codec.decode(await client.call_raw(cdr_op, "DE*ABC", body), m.Acknowledgement)
            assert refused.Result is False and refused.StatusCode.Code == "017"
            # an operation not served here: still 017 (the caller is refused before any routing)
            other_op = await client.call(by_name("eRoamingPushEvseStatus"), "DE*ABC", _push())
            assert other_op.Result is False and other_op.StatusCode.Code == "017"
        assert called == []
        async with OicpClient(url, hub, rate_limits=False) as client:
            passed = codec.decode(await client.call_raw(cdr_op, "DE*ABC", body), m.Acknowledgement)
        assert passed.StatusCode.Code == "022"  # through to the dispatcher, which finds the body short
    finally:
        server.close()
        await server.wait_closed()
