"""The OpenAPI 3.1 document of what one node serves, for one OCPI version. Framework-free.

The document is made from the same data the HTTP server makes its routes from: the version table
(:class:`~evroam.ocpi.table.VersionSpec`) and the node's :class:`~evroam.modules.kit.ModuleBinding`\\ s,
through :func:`~evroam.modules.kit.bound_endpoints`. It lists exactly the node's routes of that version:

* ``GET /ocpi/versions``, ``GET /ocpi/{version}/details`` and ``GET /ocpi/{version}/openapi.json``;
* every bound endpoint of every bound module interface (an endpoint of the table without a handler is
  not served, and not listed).

Request and response bodies are the msgspec wire classes of the table (``EndpointSpec.request`` /
``response``), turned into JSON Schema by :func:`msgspec.json.schema_components`; every answer is an OCPI
envelope (``data``, ``status_code``, ``status_message``, ``timestamp``), errors too. The ``Authorization:
Token ...`` header is the security scheme (Base64 in 2.2+, the raw token in 2.1.1; the node accepts
both). 2.2+ documents ``X-Request-ID`` / ``X-Correlation-ID`` on every route and the ``OCPI-from/to-*``
routing headers on the functional modules. Paginated lists take ``offset``, ``limit``, ``date_from``
and ``date_to`` and answer with ``X-Total-Count``, ``X-Limit`` and (when more remain) ``Link``.

See ``docs/openapi.md``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, get_args

import msgspec

from evroam import __version__
from evroam.core.types import CiString, DateTime
from evroam.modules.kit import BoundEndpoint, ModuleBinding, bound_endpoints
from evroam.ocpi.table import VersionSpec
from evroam.ocpi.transport import (
    CORRELATION_ID,
    FROM_COUNTRY_CODE,
    FROM_PARTY_ID,
    LINK,
    REQUEST_ID,
    TO_COUNTRY_CODE,
    TO_PARTY_ID,
    X_LIMIT,
    X_TOTAL_COUNT,
    uses_request_ids,
    uses_routing,
)

__all__ = ["ERROR_STATUSES", "OPENAPI_VERSION", "openapi_document", "openapi_path"]

OPENAPI_VERSION = "3.1.0"

#: The HTTP statuses every route may answer with an error envelope.
ERROR_STATUSES: dict[int, str] = {
    400: "Invalid request: malformed JSON (OCPI 2000), invalid fields (2001, every violation listed), "
    "bad headers or query parameters",
    401: "No, an unknown or a refused token (``WWW-Authenticate: Token``)",
    403: "The caller may not touch this object",
    404: "No such object (or no such route)",
    405: "Method not allowed on this path",
    409: "Conflicts with the stored state",
}

_SCHEMES = "ocpiToken"
_REF = "#/components/schemas/{name}"
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_ERROR = "OcpiError"
_TIMESTAMP: dict[str, Any] = {"type": "string", "format": "date-time"}
# routing header values (printable ASCII, as CiStrings; header values are trimmed, so no blank at either end)
_COUNTRY_CODE = "^[!-~]{2}$"
_PARTY_ID = "^[!-~][ -~][!-~]$"
_LIST: Any = list  # ``list[X]`` of a class known at run time only


def openapi_path(version: str) -> str:
    """Where a node serves the document of ``version``."""
    return f"/ocpi/{version}/openapi.json"


def _schema_hook(tp: type) -> dict[str, Any]:
    """JSON Schema of evroam's own scalar types (see :mod:`evroam.core.types`)."""
    if issubclass(tp, CiString):
        out: dict[str, Any] = {"type": "string", "pattern": "^[ -~]*$"}
        if tp.max_length is not None:
            out["maxLength"] = tp.max_length
        return out
    if issubclass(tp, DateTime):
        return dict(_TIMESTAMP)
    if issubclass(tp, Decimal):  # Number, the marker type of OCPI numbers
        return {"type": "number"}
    raise NotImplementedError(f"no JSON Schema for {tp!r}")


def _numbers(node: Any) -> Any:
    """Decimals go on the wire as JSON numbers (the codec's ``decimal_format="number"``), not as msgspec's
    default decimal strings."""
    if isinstance(node, dict):
        if node.get("type") == "string" and node.get("format") == "decimal":
            node = {k: v for k, v in node.items() if k != "format"}
            node["type"] = "number"
        return {k: _numbers(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_numbers(v) for v in node]
    return node


def _without_none(tp: Any) -> Any:
    """``X`` for ``X | None`` (an optional body), ``tp`` otherwise."""
    args = get_args(tp)
    if args and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return tp


def _field_type(model: Any, name: str) -> Any:
    if model is None:
        return None
    for field in msgspec.structs.fields(model):
        if field.encode_name == name:
            return field.type
    return None


class _Builder:
    def __init__(self, spec: VersionSpec, endpoints: Sequence[BoundEndpoint]) -> None:
        self.spec = spec
        self.endpoints = endpoints
        self.tracing = uses_request_ids(spec)
        # every wire type the document refers to, schemas made in one go (shared components)
        self.version_list = _LIST[spec.models["Version"]]
        self.types: list[Any] = [self.version_list, spec.models["VersionDetails"]]
        token_type = _field_type(spec.models.get("Token"), "type")
        self.query_types: dict[str, Any] = {"type": token_type} if token_type is not None else {}
        self.types.extend(self.query_types.values())
        for bound in endpoints:
            for tp in (bound.endpoint.request, bound.endpoint.response):
                if tp is not None:
                    self.types.append(_without_none(tp))
        refs, components = msgspec.json.schema_components(
            self.types, schema_hook=_schema_hook, ref_template=_REF
        )
        self.refs: list[dict[str, Any]] = _numbers(list(refs))
        self.components: dict[str, Any] = _numbers(components)

    def schema(self, tp: Any) -> dict[str, Any]:
        return self.refs[self.types.index(_without_none(tp))]

    # -- pieces ---------------------------------------------------------------------------------

    def envelope(self, data: dict[str, Any] | None, *, required: bool) -> dict[str, Any]:
        properties: dict[str, Any] = {
            "status_code": {"type": "integer", "minimum": 1000, "maximum": 1999},
            "status_message": {"type": "string"},
            "timestamp": dict(_TIMESTAMP),
        }
        if data is not None:
            properties = {"data": data, **properties}
        return {
            "type": "object",
            "required": ["data", "status_code", "timestamp"] if required else ["status_code", "timestamp"],
            "properties": properties,
        }

    def tracing_headers(self, *, required: bool) -> dict[str, Any]:
        if not self.tracing:
            return {}
        return {
            REQUEST_ID: {
                "description": "The request's X-Request-ID (a new one when the request had none).",
                "required": required,
                "schema": {"type": "string"},
            },
            CORRELATION_ID: {
                "description": "The request's X-Correlation-ID (a new one when the request had none).",
                "required": required,
                "schema": {"type": "string"},
            },
        }

    def routing_headers(self) -> dict[str, Any]:
        return {
            name: {
                "description": f"The request's {partner} (FROM and TO swapped on the answer).",
                "required": False,
                "schema": {"type": "string"},
            }
            for name, partner in (
                (FROM_COUNTRY_CODE, TO_COUNTRY_CODE),
                (FROM_PARTY_ID, TO_PARTY_ID),
                (TO_COUNTRY_CODE, FROM_COUNTRY_CODE),
                (TO_PARTY_ID, FROM_PARTY_ID),
            )
        }

    def request_headers(self, *, routing: bool) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if self.tracing:
            for name, what in (
                (REQUEST_ID, "Unique id of this request; echoed on the answer (generated when absent)."),
                (CORRELATION_ID, "Id of the request chain; echoed on the answer (generated when absent)."),
            ):
                out.append(
                    {
                        "name": name,
                        "in": "header",
                        "required": False,
                        "description": what,
                        "schema": {"type": "string"},
                    }
                )
        if routing:
            for name, pattern, what in (
                (FROM_COUNTRY_CODE, _COUNTRY_CODE, "Country code of the party sending the request."),
                (FROM_PARTY_ID, _PARTY_ID, "Party id of the party sending the request."),
                (TO_COUNTRY_CODE, _COUNTRY_CODE, "Country code of the party the request is for."),
                (TO_PARTY_ID, _PARTY_ID, "Party id of the party the request is for."),
            ):
                out.append(
                    {
                        "name": name,
                        "in": "header",
                        "required": False,
                        "description": what + " Given in pairs (country code and party id), or not at all.",
                        "schema": {"type": "string", "pattern": pattern},
                    }
                )
        return out

    def query_parameter(self, name: str) -> dict[str, Any]:
        schemas: dict[str, tuple[dict[str, Any], str]] = {
            "offset": ({"type": "integer", "minimum": 0}, "Index of the first object of the page."),
            "limit": (
                {"type": "integer", "minimum": 1},
                "Largest page wanted; capped by the node (its cap is answered in X-Limit).",
            ),
            "date_from": (dict(_TIMESTAMP), "Only objects with last_updated at or after this time."),
            "date_to": (dict(_TIMESTAMP), "Only objects with last_updated before this time."),
            "duration": ({"type": "integer", "minimum": 0}, "Seconds of the requested profile."),
            "response_url": ({"type": "string", "format": "uri"}, "Where to POST the asynchronous result."),
        }
        if name in self.query_types:
            schema, what = self.schema(self.query_types[name]), "The token's type (default RFID)."
        else:
            schema, what = schemas.get(name, ({"type": "string"}, ""))
        out: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": schema}
        if what:
            out["description"] = what
        return out

    def errors(self) -> dict[str, Any]:
        headers = self.tracing_headers(required=False)
        out: dict[str, Any] = {}
        for status, what in ERROR_STATUSES.items():
            answer: dict[str, Any] = {
                "description": what,
                "content": {"application/json": {"schema": {"$ref": _REF.format(name=_ERROR)}}},
            }
            if headers:
                answer["headers"] = headers
            out[str(status)] = answer
        return out

    # -- operations -----------------------------------------------------------------------------

    def success(
        self, description: str, data: dict[str, Any] | None, *, headers: dict[str, Any]
    ) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "description": description,
            "content": {"application/json": {"schema": self.envelope(data, required=data is not None)}},
        }
        if headers:
            answer["headers"] = headers
        return answer

    def module_operation(self, bound: BoundEndpoint) -> dict[str, Any]:
        endpoint = bound.endpoint
        routing = uses_routing(self.spec, bound.module)
        headers = self.tracing_headers(required=True)
        if routing:
            headers = {**headers, **self.routing_headers()}
        parameters: list[dict[str, Any]] = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
            for name in _PLACEHOLDER.findall(bound.path)
        ]
        parameters.extend(self.query_parameter(name) for name in endpoint.query)
        parameters.extend(self.request_headers(routing=routing))
        data = None if endpoint.response is None else self.schema(endpoint.response)
        responses: dict[str, Any] = {}
        if endpoint.paginated:
            page = {
                X_TOTAL_COUNT: {
                    "description": "How many objects match the request in all.",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 0},
                },
                X_LIMIT: {
                    "description": "The largest page the node answers.",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1},
                },
                LINK: {
                    "description": 'The next page: ``<url>; rel="next"`` (absent on the last page).',
                    "required": False,
                    "schema": {"type": "string"},
                },
            }
            responses["200"] = self.success("One page of objects.", data, headers={**headers, **page})
        elif data is not None:
            responses["200"] = self.success("Success.", data, headers=headers)
        elif endpoint.method.upper() in ("PUT", "POST"):
            responses["200"] = self.success(
                "Accepted (an update, or an older version ignored).", None, headers=headers
            )
            created = {
                **headers,
                "Location": {
                    "description": "The URL of the stored object, where the endpoint gives one.",
                    "required": False,
                    "schema": {"type": "string"},
                },
            }
            responses["201"] = self.success("Created.", None, headers=created)
        else:
            responses["200"] = self.success("Success.", None, headers=headers)
        responses.update(self.errors())
        operation: dict[str, Any] = {
            "operationId": f"{bound.module.id}.{bound.interface.value.lower()}.{endpoint.name}",
            "tags": [bound.module.id],
            "summary": f"{bound.module.id} {bound.interface.value}: {endpoint.name}",
            "parameters": parameters,
            "responses": responses,
        }
        if endpoint.request is not None:
            operation["requestBody"] = {
                "required": _without_none(endpoint.request) is endpoint.request,
                "content": {"application/json": {"schema": self.schema(endpoint.request)}},
            }
        return operation

    def version_operation(self, operation_id: str, summary: str, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "operationId": operation_id,
            "tags": ["versions"],
            "summary": summary + " (token A may call it)",
            "parameters": self.request_headers(routing=False),
            "responses": {
                "200": self.success("Success.", data, headers=self.tracing_headers(required=True)),
                **self.errors(),
            },
        }

    def document(self, base_url: str, versions: Sequence[str]) -> dict[str, Any]:
        number = self.spec.number
        paths: dict[str, Any] = {
            "/ocpi/versions": {
                "get": self.version_operation(
                    "versions.list",
                    f"The OCPI versions this node serves ({', '.join(versions)})",
                    self.schema(self.version_list),
                )
            },
            f"/ocpi/{number}/details": {
                "get": self.version_operation(
                    "versions.details",
                    f"The modules this node serves in OCPI {number}",
                    self.schema(self.spec.models["VersionDetails"]),
                )
            },
            openapi_path(number): {
                "get": {
                    "operationId": "openapi",
                    "tags": ["versions"],
                    "summary": "This document (a registered partner's token only)",
                    "responses": {
                        "200": {
                            "description": "The OpenAPI document (not an OCPI envelope).",
                            "content": {
                                "application/json": {
                                    "schema": {"type": "object", "required": ["openapi", "info", "paths"]}
                                }
                            },
                        },
                        **self.errors(),
                    },
                }
            },
        }
        for bound in self.endpoints:
            paths.setdefault(bound.path, {})[bound.endpoint.method.lower()] = self.module_operation(bound)
        encoding = (
            "`Token <Base64 of the token>` (the raw token is accepted too)"
            if self.spec.token_base64
            else "`Token <the token>`"
        )
        components = dict(sorted(self.components.items()))
        components[_ERROR] = {
            "title": _ERROR,
            "description": "The envelope of an error: no data (a few answers carry some), OCPI 2xxx/3xxx.",
            "type": "object",
            "required": ["status_code", "timestamp"],
            "properties": {
                "data": {},
                "status_code": {"type": "integer", "minimum": 2000},
                "status_message": {"type": "string"},
                "timestamp": dict(_TIMESTAMP),
            },
        }
        return {
            "openapi": OPENAPI_VERSION,
            "info": {
                "title": f"evroam node, OCPI {number}",
                "version": __version__,
                "description": (
                    f"The OCPI {number} interface this node serves: exactly its routes of this version. "
                    "Every answer is an OCPI envelope."
                ),
            },
            "servers": [{"url": base_url}],
            "security": [{_SCHEMES: []}],
            "paths": paths,
            "components": {
                "schemas": components,
                "securitySchemes": {
                    _SCHEMES: {
                        "type": "apiKey",
                        "in": "header",
                        "name": "Authorization",
                        "description": f"{encoding}: token A on versions, details and credentials "
                        "(registration), else the token this node issued to a registered partner.",
                    }
                },
            },
        }


def openapi_document(
    spec: VersionSpec,
    bindings: Iterable[ModuleBinding],
    *,
    base_url: str,
    versions: Sequence[str],
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the routes a node with ``bindings`` serves in ``spec``'s version.

    ``base_url`` is the node's public URL (the document's server) and ``versions`` every OCPI version
    the node serves (``/ocpi/versions`` lists them)."""
    if spec.number not in versions:
        raise ValueError(f"the node does not serve OCPI {spec.number}")
    return _Builder(spec, bound_endpoints(spec, bindings)).document(base_url, versions)
