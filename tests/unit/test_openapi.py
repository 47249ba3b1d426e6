"""The node's own OpenAPI document (evroam.http.openapi): exactly the served routes, valid OpenAPI 3.1,
true to the node's answers, and served to registered partners only."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from click.testing import CliRunner
from openapi_spec_validator import OpenAPIV31SpecValidator

from evroam.cli import cli
from evroam.cli.openapi import operations
from evroam.core.errors import ValidationFailed
from evroam.http.openapi import ERROR_STATUSES, openapi_document
from evroam.modules.kit import ModuleBinding
from evroam.node.config import NodeConfig, PartyConfig
from evroam.node.settings import Settings
from evroam.node.wiring import Node, build_node
from evroam.ocpi.registry import spec_for
from evroam.ocpi.table import InterfaceRole
from evroam.ocpi.transport import parse_routing
from evroam.testing import FixedClock, MemoryStore, SequentialIds
from tests.unit.locations_harness import (
    CPO_TOKEN,
    EMSP_TOKEN,
    location_json,
    partners,
    register,
    running,
)

VERSIONS = ("2.1.1", "2.2.1", "2.3.0")
BASE = "http://node.test"
ROLES = {"CPO": ("NL", "CPO"), "EMSP": ("DE", "MSP")}
_LITESTAR_PARAM = re.compile(r"\{([a-z_]+):str\}")


def config(role: str) -> NodeConfig:
    cc, pid = ROLES[role]
    return NodeConfig(
        url=BASE,
        parties=[PartyConfig(country_code=cc, party_id=pid, role=role, name=f"{cc} {pid}")],
        versions=list(VERSIONS),
    )


async def a_node(role: str) -> Node:
    clock = FixedClock("2026-03-01T12:00:00Z")
    store = MemoryStore()
    await store.migrate()
    await register(store, clock, partners(clock.now()))
    return build_node(
        Settings(data_dir=Path("unused")),
        config=config(role),
        store=store,
        clock=clock,
        ids=SequentialIds("t"),
    )


@pytest.fixture(params=["CPO", "EMSP"])
async def node(request: pytest.FixtureRequest) -> AsyncIterator[Node]:
    made = await a_node(request.param)
    try:
        yield made
    finally:
        await made.close()


def served_routes(app: Any) -> set[tuple[str, str]]:
    """(METHOD, path) of every route of the Litestar app, in OpenAPI's ``{name}`` spelling (the
    framework's own OPTIONS answers left out)."""
    return {
        (method, _LITESTAR_PARAM.sub(r"{\1}", route.path))
        for route in app.routes
        for method in route.methods
        if method != "OPTIONS"
    }


def auth(token: str, version: str) -> dict[str, str]:
    value = token if version == "2.1.1" else base64.b64encode(token.encode()).decode()
    return {"Authorization": f"Token {value}"}


# -- the routes -----------------------------------------------------------------------------------


async def test_each_version_s_document_lists_exactly_the_routes_the_app_serves(node: Node) -> None:
    app = node.app(worker=False)
    routes = served_routes(app)
    listed: set[tuple[str, str]] = set()
    for version in VERSIONS:
        document = await node.openapi(version)
        ops = {(method, path) for method, path, _ in operations(document)}
        assert len(ops) == len(operations(document))
        mine = {(m, p) for m, p in routes if p.startswith(f"/ocpi/{version}/") or p == "/ocpi/versions"}
        assert ops == mine, (version, sorted(ops ^ mine))
        listed |= ops
    # nothing served is left out of every document but the health probes, the metrics and the operator
    # dashboard (not OCPI: docs/dashboard.md, docs/deployment.md)
    dashboard = {(m, p) for m, p in routes if p == "/dashboard" or p.startswith("/dashboard/")}
    assert ("GET", "/dashboard/partners") in dashboard
    assert routes - listed - dashboard == {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics")}


async def test_a_cpo_and_an_emsp_node_serve_and_document_opposite_interfaces() -> None:
    cpo, emsp = await a_node("CPO"), await a_node("EMSP")
    try:
        cpo_ops = {op for _, _, op in operations(await cpo.openapi("2.2.1"))}
        emsp_ops = {op for _, _, op in operations(await emsp.openapi("2.2.1"))}
    finally:
        await cpo.close()
        await emsp.close()
    assert {"locations.sender.list", "commands.receiver.start_session", "tokens.receiver.put"} <= cpo_ops
    assert {"locations.receiver.put_location", "tokens.sender.authorize", "cdrs.receiver.post"} <= emsp_ops
    assert not {op for op in cpo_ops if op.startswith("locations.receiver")}
    assert not {op for op in emsp_ops if op.startswith("locations.sender")}


def test_an_endpoint_without_a_handler_is_neither_routed_nor_documented() -> None:
    async def handler(call: Any) -> Any:  # pragma: no cover - never called
        raise AssertionError

    spec = spec_for("2.2.1")
    binding = ModuleBinding(module="tariffs", interface=InterfaceRole.RECEIVER, handlers={"get": handler})
    document = openapi_document(spec, [binding], base_url=BASE, versions=["2.2.1"])
    tariffs = {(m, p) for m, p, _ in operations(document) if "tariffs" in p}
    assert tariffs == {("GET", "/ocpi/2.2.1/receiver/tariffs/{country_code}/{party_id}/{tariff_id}")}


def test_a_version_the_node_does_not_serve_has_no_document() -> None:
    with pytest.raises(ValueError, match=r"2\.1\.1"):
        openapi_document(spec_for("2.1.1"), [], base_url=BASE, versions=["2.2.1"])


# -- the document ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_the_document_is_valid_openapi_3_1(node: Node, version: str) -> None:
    document = await node.openapi(version)
    assert document["openapi"] == "3.1.0"
    OpenAPIV31SpecValidator(document).validate()
    # the JSON Schemas themselves are valid 2020-12 schemas
    for schema in document["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("version", VERSIONS)
async def test_every_answer_is_an_envelope_and_every_error_documented(node: Node, version: str) -> None:
    document = await node.openapi(version)
    for method, path, _ in operations(document):
        operation = document["paths"][path][method.lower()]
        assert {str(s) for s in ERROR_STATUSES} <= set(operation["responses"]), (method, path)
        for status, answer in operation["responses"].items():
            schema = answer["content"]["application/json"]["schema"]
            if path.endswith("/openapi.json") and status == "200":
                continue
            if status.startswith("2"):
                assert {"status_code", "timestamp"} <= set(schema["required"]), (method, path)
                assert set(schema["properties"]) >= {"status_code", "status_message", "timestamp"}
            else:
                assert schema == {"$ref": "#/components/schemas/OcpiError"}
    error = document["components"]["schemas"]["OcpiError"]
    assert error["required"] == ["status_code", "timestamp"]


async def test_the_transport_of_each_version_is_documented() -> None:
    node = await a_node("CPO")
    try:
        old, new = await node.openapi("2.1.1"), await node.openapi("2.2.1")
    finally:
        await node.close()
    scheme = new["components"]["securitySchemes"]["ocpiToken"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    assert (
        "Base64" in scheme["description"]
        and "Base64" not in old["components"]["securitySchemes"]["ocpiToken"]["description"]
    )
    assert new["security"] == [{"ocpiToken": []}]

    def headers(document: dict[str, Any], path: str, method: str) -> tuple[set[str], set[str]]:
        operation = document["paths"][path][method]
        sent = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        return sent, set(operation["responses"]["200"].get("headers", {}))

    sent, answered = headers(new, "/ocpi/2.2.1/sender/locations", "get")
    routing = {"OCPI-from-country-code", "OCPI-from-party-id", "OCPI-to-country-code", "OCPI-to-party-id"}
    assert sent == {"X-Request-ID", "X-Correlation-ID"} | routing
    assert answered == {"X-Request-ID", "X-Correlation-ID", "X-Total-Count", "X-Limit", "Link"} | routing
    query = {p["name"] for p in new["paths"]["/ocpi/2.2.1/sender/locations"]["get"]["parameters"]}
    assert {"offset", "limit", "date_from", "date_to"} <= query
    # configuration modules carry no routing headers; 2.1.1 has no tracing headers at all
    assert headers(new, "/ocpi/2.2.1/credentials", "get")[0] == {"X-Request-ID", "X-Correlation-ID"}
    assert headers(old, "/ocpi/2.1.1/sender/locations", "get") == (
        set(),
        {"X-Total-Count", "X-Limit", "Link"},
    )
    # path parameters, and the token type of 2.2+ Token Receivers as the version's enum
    put = new["paths"]["/ocpi/2.2.1/receiver/tokens/{country_code}/{party_id}/{token_uid}"]["put"]
    assert [p["name"] for p in put["parameters"] if p["in"] == "path"] == [
        "country_code",
        "party_id",
        "token_uid",
    ]
    (token_type,) = [p["schema"] for p in put["parameters"] if p["name"] == "type"]
    assert token_type == {"$ref": "#/components/schemas/TokenType"}
    assert "RFID" in new["components"]["schemas"]["TokenType"]["enum"]
    assert put["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Token"
    }
    assert set(put["responses"]) >= {"200", "201"}


def test_numbers_are_json_numbers_timestamps_date_times_and_cistrings_printable_ascii() -> None:
    async def handler(call: Any) -> Any:  # pragma: no cover - never called
        raise AssertionError

    binding = ModuleBinding(module="tariffs", interface=InterfaceRole.SENDER, handlers={"list": handler})
    document = openapi_document(spec_for("2.2.1"), [binding], base_url=BASE, versions=["2.2.1"])
    assert '"format": "decimal"' not in json.dumps(document)
    schemas = document["components"]["schemas"]
    assert schemas["PriceComponent"]["properties"]["price"] == {"type": "number"}
    assert schemas["Price"]["properties"]["excl_vat"] == {"type": "number"}
    assert schemas["Tariff"]["properties"]["last_updated"] == {"type": "string", "format": "date-time"}
    assert schemas["Tariff"]["properties"]["id"] == {"type": "string", "pattern": "^[ -~]*$", "maxLength": 36}
    listed = document["paths"]["/ocpi/2.2.1/sender/tariffs"]["get"]["responses"]["200"]
    data = listed["content"]["application/json"]["schema"]["properties"]["data"]
    assert data == {"type": "array", "items": {"$ref": "#/components/schemas/Tariff"}}


# -- the document matches the node's real answers ---------------------------------------------------


def validate(document: dict[str, Any], path: str, method: str, response: httpx.Response) -> None:
    """``response`` fits what ``document`` says ``method path`` answers with its status."""
    answer = document["paths"][path][method]["responses"][str(response.status_code)]
    schema = {**answer["content"]["application/json"]["schema"], "components": document["components"]}
    jsonschema.Draft202012Validator(schema).validate(response.json())
    for name, header in answer.get("headers", {}).items():
        if header["required"]:
            assert name in response.headers, name
        if name in response.headers:
            value: Any = response.headers[name]
            if header["schema"].get("type") == "integer":
                value = int(value)
            jsonschema.Draft202012Validator(header["schema"]).validate(value)


@pytest.mark.parametrize("version", ["2.1.1", "2.2.1"])
async def test_real_answers_fit_the_document(version: str) -> None:
    async with running(versions=VERSIONS) as h:
        document = await h.node.openapi(version)
        base = f"/ocpi/{version}/receiver/locations/BE/BEC/LOC1"
        path = f"/ocpi/{version}/receiver/locations/{{country_code}}/{{party_id}}/{{location_id}}"
        body = location_json("LOC1", version=version)
        put = await h.client.put(base, json=body, headers=auth(CPO_TOKEN, version))
        assert put.status_code == 201
        validate(document, path, "put", put)
        got = await h.client.get(base, headers=auth(CPO_TOKEN, version))
        assert got.status_code == 200
        validate(document, path, "get", got)
        missing = await h.client.get(base + "X", headers=auth(CPO_TOKEN, version))
        assert missing.status_code == 404
        validate(document, path, "get", missing)
        bad = await h.client.put(base, json={"id": 1}, headers=auth(CPO_TOKEN, version))
        assert bad.status_code == 400
        validate(document, path, "put", bad)
        listed = await h.client.get(f"/ocpi/{version}/sender/tariffs", headers=auth(EMSP_TOKEN, version))
        assert listed.status_code == 200
        validate(document, f"/ocpi/{version}/sender/tariffs", "get", listed)
        details = await h.client.get(f"/ocpi/{version}/details", headers=auth(EMSP_TOKEN, version))
        validate(document, f"/ocpi/{version}/details", "get", details)


# -- serving it -----------------------------------------------------------------------------------


async def test_the_node_serves_its_document_to_registered_partners_only() -> None:
    async with running(versions=VERSIONS) as h:
        path = "/ocpi/2.2.1/openapi.json"
        nobody = await h.client.get(path)
        assert nobody.status_code == 401
        assert nobody.headers["WWW-Authenticate"] == "Token"
        assert nobody.json()["status_code"] == 2000
        stranger = await h.client.get(path, headers=auth("not-a-token-we-issued", "2.2.1"))
        assert stranger.status_code == 401
        answered = await h.client.get(path, headers=auth(EMSP_TOKEN, "2.2.1"))
        assert answered.status_code == 200
        assert answered.json() == await h.node.openapi("2.2.1")
        raw = await h.client.get("/ocpi/2.1.1/openapi.json", headers=auth(EMSP_TOKEN, "2.1.1"))
        assert raw.json()["info"]["title"] == "evroam node, OCPI 2.1.1"


async def test_token_a_does_not_get_the_document() -> None:
    async with running(versions=VERSIONS) as h:
        invitation = await h.node.registration.invite("newcomer")
        headers = auth(invitation.token, "2.2.1")
        assert (await h.client.get("/ocpi/versions", headers=headers)).status_code == 200
        refused = await h.client.get("/ocpi/2.2.1/openapi.json", headers=headers)
        assert refused.status_code == 401


def test_the_cli_prints_the_document_of_the_node_s_configuration(tmp_path: Path) -> None:
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "node")]
    init = [
        "init",
        "--country-code",
        "NL",
        "--party-id",
        "CPO",
        "--role",
        "CPO",
        "--url",
        "https://ocpi.example.com",
    ]
    assert runner.invoke(cli, [*data, *init, "--ocpi-version", "2.2.1"]).exit_code == 0
    printed = runner.invoke(cli, [*data, "openapi", "--ocpi-version", "2.2.1", "--json"])
    assert printed.exit_code == 0, printed.output
    document = json.loads(printed.output)
    assert document["servers"] == [{"url": "https://ocpi.example.com"}]
    assert "/ocpi/2.2.1/sender/locations" in document["paths"]
    text = runner.invoke(cli, [*data, "openapi", "--ocpi-version", "2.2.1"])
    assert "GET    /ocpi/2.2.1/sender/locations  (locations.sender.list)" in text.output
    other = runner.invoke(cli, [*data, "openapi", "--ocpi-version", "2.1.1"])
    assert other.exit_code == 1
    assert "does not serve OCPI 2.1.1" in other.output


@pytest.mark.parametrize(
    "value", ["NL", "nl", "N", "NLD", "0", "00", "A C", "ABC", "AB ", "ÄB", "a\tb", "12345", "!~"]
)
def test_the_routing_header_patterns_accept_exactly_what_the_node_accepts(value: str) -> None:
    # found by schemathesis: "0" fitted the documented header (at most 2 characters) and was refused
    document = openapi_document(spec_for("2.2.1"), [], base_url=BASE, versions=["2.2.1"])
    parameters = document["paths"]["/ocpi/versions"]["get"]["parameters"]
    assert not {p["name"] for p in parameters} & {"OCPI-from-country-code", "OCPI-from-party-id"}
    node_binding = ModuleBinding(module="tariffs", interface=InterfaceRole.SENDER, handlers={"list": _never})
    document = openapi_document(spec_for("2.2.1"), [node_binding], base_url=BASE, versions=["2.2.1"])
    schema = {
        p["name"]: p["schema"]
        for p in document["paths"]["/ocpi/2.2.1/sender/tariffs"]["get"]["parameters"]
        if p["in"] == "header"
    }
    sent = value.strip()  # an HTTP header value arrives without blanks at either end
    for country, party in ((sent, "CPO"), ("NL", sent)):
        headers = {"OCPI-from-country-code": country, "OCPI-from-party-id": party}
        try:
            parse_routing(headers)
            accepted = True
        except ValidationFailed:
            accepted = False
        fits = all(
            jsonschema.Draft202012Validator(schema[name], format_checker=None).is_valid(v)
            for name, v in headers.items()
        )
        assert fits == accepted, (headers, fits, accepted)


async def _never(call: Any) -> Any:  # pragma: no cover - never called
    raise AssertionError
