"""No credentials token ever reaches a log line, at DEBUG too."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest

from evroam.node.logs import configure_logging
from evroam.registration.redaction import (
    MASK,
    RedactingFilter,
    forget_all_secrets,
    install,
    redact,
    remember_secret,
)
from tests.unit.test_registration_service import Network, make_node, their_credentials


@pytest.fixture(autouse=True)
def clean_registry() -> None:
    forget_all_secrets()


def test_known_secrets_are_masked_raw_and_in_base64() -> None:
    remember_secret("s3cr3t-token-value")
    encoded = base64.b64encode(b"s3cr3t-token-value").decode()
    assert redact("calling with s3cr3t-token-value now") == f"calling with {MASK} now"
    assert redact(f"header {encoded}") == f"header {MASK}"
    assert redact("nothing secret here") == "nothing secret here"


def test_token_shaped_fields_are_masked_whatever_their_value() -> None:
    assert redact("Authorization: Token ZXhhbXBsZS10b2tlbg==") == f"Authorization: {MASK}"
    assert redact("(b'authorization', b'Token abcdefghij')") == f"(b'authorization', b'{MASK}')"
    assert redact('{"token": "never-seen-before", "url": "x"}') == f'{{"token": "{MASK}", "url": "x"}}'
    assert redact("Credentials(token='never-seen-2', url='x')") == f"Credentials(token='{MASK}', url='x')"
    # ordinary prose about tokens stays readable
    assert redact("token A issued for partner bob") == "token A issued for partner bob"


def test_the_filter_rewrites_message_arguments_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    remember_secret("another-secret-value")
    install(caplog.handler)
    logger = logging.getLogger("evroam.test.redaction")
    with caplog.at_level(logging.DEBUG):
        logger.debug("sending %s", "another-secret-value")
        try:
            raise ValueError("bad token another-secret-value")
        except ValueError:
            logger.exception("failed")
    assert "another-secret-value" not in caplog.text
    assert f"sending {MASK}" in caplog.text
    assert "ValueError: bad token" in caplog.text


def test_install_is_idempotent() -> None:
    handler = logging.NullHandler()
    install(handler)
    install(handler)
    assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1


def test_configure_logging_guards_the_root_handlers() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    try:
        configure_logging("DEBUG")
        assert root.level == logging.DEBUG
        assert root.handlers
        assert all(any(isinstance(f, RedactingFilter) for f in h.filters) for h in root.handlers)
    finally:
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)
        root.setLevel(level)


async def test_a_full_handshake_at_debug_logs_no_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Invite, register, PUT, GET, rotate, failures and unregister, with every logger at DEBUG."""
    install(caplog.handler)
    caplog.set_level(logging.DEBUG)
    network = Network()
    cpo = make_node(network, tmp_path, "cpo", "cpo.test", "CPO", "CPO")
    emsp = make_node(network, tmp_path, "emsp", "emsp.test", "EMSP", "MSP")
    try:
        invitation = await cpo.service.invite("emsp")
        await emsp.service.register(invitation.versions_url, invitation.token, "cpo")
        token_c = (await emsp.service.get("cpo")).token
        assert token_c is not None
        await cpo.call("GET", "/ocpi/2.2.1/credentials", token_c)
        await cpo.call("POST", "/ocpi/2.2.1/credentials", token_c, their_credentials())  # 405
        await cpo.call("GET", "/ocpi/2.2.1/sender/locations/L1", "some-unknown-token")  # 401
        await emsp.service.rotate("cpo")
        await cpo.service.rotate("emsp")
        failing = await cpo.service.invite("ghost")
        await cpo.call(
            "POST",
            "/ocpi/2.2.1/credentials",
            failing.token,
            their_credentials("http://nowhere.test/ocpi/versions", "ghost-token-b"),
        )  # 3001
        await emsp.service.unregister("cpo")
    finally:
        for n in (cpo, emsp):
            await n.client.aclose()
            await n.node.close()

    tokens = set(cpo.ids.tokens + emsp.ids.tokens) | {"ghost-token-b"}
    assert len(tokens) >= 8
    text = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    # the capture did record the traffic, at DEBUG
    assert any(r.levelno == logging.DEBUG and r.name == "evroam.http.server" for r in caplog.records)
    assert "POST /ocpi/2.2.1/credentials" in text
    for token in tokens:
        for form in (token, base64.b64encode(token.encode()).decode()):
            assert form not in text, f"token {token[:6]}... appears in the logs"


def test_partner_and_caller_reprs_hide_tokens() -> None:
    from evroam.core.types import DateTime
    from evroam.model import Credentials
    from evroam.registration.model import Caller, Partner, PartnerStatus, TokenUse

    now = DateTime.parse("2026-01-01T00:00:00Z")
    partner = Partner(
        id="p1",
        name="bob",
        status=PartnerStatus.REGISTERED,
        initiated_by="us",
        created=now,
        updated=now,
        token="partner-secret-1",
    )
    caller = Caller(partner=partner, use=TokenUse.PEER, digest="d", token="caller-secret-1")
    data = Credentials(token="data-secret-1", url="http://x", roles=())
    text = repr(partner) + repr(caller) + repr(data) + str(partner) + str(caller)
    for secret in ("partner-secret-1", "caller-secret-1", "data-secret-1"):
        assert secret not in text
