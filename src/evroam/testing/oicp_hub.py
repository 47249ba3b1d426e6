"""A Hubject-like OICP 2.3 hub for tests and for trying a connection before Hubject's QA system.

It serves Hubject's paths (``/api/oicp/...``) over HTTPS with mutual TLS and:

* **checks every message against Hubject's OpenAPI files** (the bundled ``openapi.bundled.master.json``
  of ``oicp-cpo-2.3-api-doc`` and ``oicp-emp-2.3-api-doc``): each request a partner sends, each request
  it forwards, each answer it gives or relays. Before validating it drops explicit nulls and picks the
  ``oneOf`` member by the notification ``Type`` or the endpoint (the DIGEST's pitfalls 2 and 3). A request
  that fails is answered with StatusCode ``022`` and not processed; every failure is kept in
  :attr:`OicpTestHub.invalid` (a test asserts it stays empty);
* **enforces mutual TLS** (no client certificate of its CA, no connection) and binds IDs to certificates:
  the OperatorID / ProviderID in the path must be one of the names of the caller's certificate, else
  ``017 Unauthorized Access`` (as Hubject binds an ID to the certificate it registered);
* **routes** between connected partners: by EvseID prefix to the CPO (remote start/stop, reservations),
  by EvcoID prefix to the EMP, RFID UIDs to the offline authentication data first and then to every
  online EMP, everything after a session start by the SessionID it created;
* **stores** what partners push (EVSE data with ``lastUpdate``/``deltaType`` for ``LastCall`` pulls, EVSE
  status, authentication data, pricing, CDRs) and answers the pulls (paged where OICP pages);
* **records** the traffic (:attr:`OicpTestHub.traffic`).

A partner's server URL (where the hub calls it) is registered with :meth:`OicpTestHub.register`, or by the
partner itself with ``POST /hub/partners`` ``{"Role": "CPO"|"EMP", "ID": ..., "URL": ...}`` over the same
mutual TLS (the ID must be in its certificate) -- what Hubject's portal does. ``evroam oicp test-hub``
runs it (see ``docs/oicp.md``).
"""

from __future__ import annotations

import asyncio
import json
import math
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from evroam.core.clock import Clock, IdGenerator, SystemClock, UuidIds
from evroam.http.oicp import OicpClient, OicpError, OicpRequest, OicpServer, RateWindow, Reply, start_server
from evroam.oicp.ids import evse_operator, normalize_id
from evroam.oicp.operations import Operation, match_path
from evroam.oicp.status import DESCRIPTIONS, Code
from evroam.oicp.tls import TlsFiles, client_context, server_context

__all__ = ["Exchange", "HubPartner", "OicpSchemas", "OicpTestHub", "cli"]

SPEC_DIRS = {"CPO": "oicp-cpo-2.3-api-doc", "EMP": "oicp-emp-2.3-api-doc"}
_NOTIFICATION_INDEX = {"Start": 0, "Progress": 1, "End": 2, "Error": 3}
_STATUS_BRANCH = {  # E2 / E3 / E4: (request member, answer member) of E2's oneOf
    "eRoamingPullEvseStatus": (0, 0),
    "eRoamingPullEvseStatusByID": (1, 1),
    "eRoamingPullEvseStatusByOperatorID": (2, 0),
}
_E2_PATH = "/evsepull/v21/providers/{providerID}/status-records"


def strip_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value


class OicpSchemas:
    """Hubject's two OpenAPI documents, with a validator per (role, operation, request|answer)."""

    def __init__(self, folder: Path) -> None:
        from openapi_schema_validator import OAS30Validator, oas30_format_checker

        self._validator = OAS30Validator
        self._formats = oas30_format_checker
        self.docs: dict[str, dict[str, Any]] = {}
        for role, name in SPEC_DIRS.items():
            path = folder / name / "openapi.bundled.master.json"
            if not path.is_file():
                raise FileNotFoundError(f"Hubject's OpenAPI file not found: {path}")
            self.docs[role] = json.loads(path.read_text("utf-8"))

    def _operation(self, role: str, op: Operation) -> dict[str, Any] | None:
        paths = self.docs[role]["paths"]
        path = _E2_PATH if op.name in _STATUS_BRANCH else op.path
        if path not in paths and path.endswith("/authorize-remote/stop"):
            path = next((p for p in paths if p.endswith("/authorize-remote/stop")), path)
        found = paths.get(path, {}).get("post")
        return found if isinstance(found, dict) else None

    def schema(self, role: str, op: Operation, answer: bool, body: Any) -> dict[str, Any] | None:
        raw = self._operation(role, op)
        if raw is None:
            return None
        if answer:
            schema = raw["responses"]["200"]["content"]["application/json"]["schema"]
        else:
            schema = raw["requestBody"]["content"]["application/json"]["schema"]
        if op.name in _STATUS_BRANCH:
            schema = schema["oneOf"][_STATUS_BRANCH[op.name][1 if answer else 0]]
        if op.name == "eRoamingAuthorizeRemoteStart" and not answer and role == "EMP":
            # deviation 17 of the DIGEST: the EMP leaves SessionID out (the hub sets it), though the
            # shared schema requires it; the request forwarded to the CPO is checked with it required
            schema = dict(schema, required=[r for r in schema.get("required", []) if r != "SessionID"])
        elif "oneOf" in schema and isinstance(body, dict) and body.get("Type") in _NOTIFICATION_INDEX:
            schema = schema["oneOf"][_NOTIFICATION_INDEX[body["Type"]]]
        return dict(schema)

    def errors(self, role: str, op: Operation, answer: bool, body: Any) -> list[str]:
        """Every violation of ``body`` against the document of ``role`` (empty: valid)."""
        schema = self.schema(role, op, answer, body)
        if schema is None:
            return [f"{op.name} is not in the {role} document"]
        validator = self._validator(schema, format_checker=self._formats)
        return [
            f"{'/'.join(str(p) for p in e.absolute_path) or '$'}: {e.message}"
            for e in sorted(validator.iter_errors(strip_nulls(body)), key=lambda e: list(e.absolute_path))
        ]


@dataclass
class HubPartner:
    role: str
    id: str
    url: str | None = None

    @property
    def key(self) -> str:
        return normalize_id(self.id)


@dataclass(frozen=True)
class Exchange:
    """One message the hub saw or sent."""

    direction: str
    """``"in"`` (a partner called the hub) or ``"out"`` (the hub called a partner)."""
    operation: str
    partner: str
    request: Any
    answer: Any
    errors: tuple[str, ...] = ()


@dataclass
class _Session:
    id: str
    operator: str | None
    provider: str | None
    evse_id: str | None
    identification: Any = None
    cdr: bool = False


@dataclass
class _Record:
    record: dict[str, Any]
    operator_id: str
    operator_name: str
    last_update: datetime
    deleted: bool = False
    delta: str = "insert"


@dataclass
class _Cdr:
    provider: str | None
    operator: str
    body: dict[str, Any]
    forwarded: bool
    received: datetime


def _code(code: Code, info: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"Code": code.value, "Description": DESCRIPTIONS[code]}
    if info:
        out["AdditionalInfo"] = info[:1000]
    return out


def _ack(result: bool, code: Code, info: str | None = None, session: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"Result": result, "StatusCode": _code(code, info)}
    if session:
        out["SessionID"] = session
    return out


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class OicpTestHub:
    """See the module docstring."""

    openapi: Path
    tls: TlsFiles
    clock: Clock = field(default_factory=SystemClock)
    ids: IdGenerator = field(default_factory=UuidIds)
    rate_limits: bool = True
    partners: dict[tuple[str, str], HubPartner] = field(default_factory=dict)
    traffic: list[Exchange] = field(default_factory=list)
    _schemas: OicpSchemas | None = None
    _server: OicpServer | None = None
    _clients: dict[str, OicpClient] = field(default_factory=dict)
    _records: dict[str, _Record] = field(default_factory=dict)
    _status: dict[str, tuple[str, str]] = field(default_factory=dict)  # EvseID -> (operator, status)
    _auth: dict[str, dict[str, Any]] = field(default_factory=dict)  # provider -> key -> identification
    _sessions: dict[str, _Session] = field(default_factory=dict)
    _cdrs: list[_Cdr] = field(default_factory=list)
    _products: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    _evse_pricing: dict[str, dict[tuple[str, str], dict[str, Any]]] = field(default_factory=dict)
    _windows: dict[tuple[str, str], RateWindow] = field(default_factory=dict)
    port: int | None = None

    # -- running ------------------------------------------------------------------------------------

    @property
    def schemas(self) -> OicpSchemas:
        if self._schemas is None:
            self._schemas = OicpSchemas(self.openapi)
        return self._schemas

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen (again, after :meth:`stop`: what was stored is kept, as on a hub that was down)."""
        self.schemas  # noqa: B018 - load the documents before the first request
        self._server = await start_server(self.handle, host, port or self.port or 0, server_context(self.tls))
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def close(self) -> None:
        await self.stop()
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    def register(self, role: str, partner_id: str, url: str | None = None) -> None:
        """Connect a partner (``role`` CPO or EMP); ``url`` is the base URL of its OICP server."""
        partner = HubPartner(role=role.upper(), id=partner_id, url=url.rstrip("/") if url else None)
        self.partners[(partner.role, partner.key)] = partner

    @property
    def invalid(self) -> list[Exchange]:
        """Every message that failed the OpenAPI check."""
        return [x for x in self.traffic if x.errors]

    def operations_seen(self) -> list[str]:
        return [x.operation for x in self.traffic]

    # -- the HTTP side ------------------------------------------------------------------------------

    async def handle(self, request: OicpRequest) -> Reply:
        names = {normalize_id(n) for n in request.peer_names}
        if request.path == "/hub/partners" and request.method == "POST":
            return self._register_call(request, names)
        found = match_path(request.path)
        if request.method != "POST" or found is None:
            return Reply(404, b'{"message":"unknown OICP path"}')
        op, ident = found
        try:
            body = json.loads(request.body)
        except ValueError as exc:
            answer = self._error(op, Code.DATA_ERROR, f"not JSON: {exc}")
            self.traffic.append(Exchange("in", op.name, ident or "", None, answer, (f"invalid JSON: {exc}",)))
            return self._reply(answer)
        role = op.caller
        caller = ident or body.get("OperatorID") if isinstance(body, dict) else ident
        errors = self.schemas.errors(role, op, False, body)
        if errors:
            answer = self._error(op, Code.DATA_ERROR, "; ".join(errors)[:1000])
            self._record("in", op, caller, body, answer, errors, role)
            return self._reply(answer)
        if caller is None or normalize_id(str(caller)) not in names:
            answer = self._error(op, Code.UNAUTHORIZED_ACCESS, f"{caller} is not the ID of your certificate")
            self._record("in", op, caller, body, answer, [], role)
            return self._reply(answer)
        if self.rate_limits:
            window = self._windows.setdefault((normalize_id(str(caller)), op.name), RateWindow(op.per_minute))
            now = asyncio.get_running_loop().time()
            if window.delay(now) > 0:
                self._record("in", op, caller, body, {"status": 429}, [], role)
                return Reply(429, b'{"message":"rate limit"}')
            window.record(now)
        answer = await self._process(op, str(caller), body, request.query)
        self._record("in", op, caller, body, answer, [], role)
        return self._reply(answer)

    def _register_call(self, request: OicpRequest, names: set[str]) -> Reply:
        try:
            body = json.loads(request.body)
            role, ident, url = str(body["Role"]).upper(), str(body["ID"]), body.get("URL")
        except (ValueError, KeyError, TypeError) as exc:
            return Reply(400, json.dumps({"message": f"bad registration: {exc}"}).encode())
        if role not in ("CPO", "EMP") or normalize_id(ident) not in names:
            return Reply(403, b'{"message":"the ID is not in your certificate"}')
        self.register(role, ident, url)
        return Reply(200, json.dumps({"Role": role, "ID": ident, "URL": url}).encode())

    def _record(
        self,
        direction: str,
        op: Operation,
        partner: Any,
        request: Any,
        answer: Any,
        errors: list[str],
        role: str,
    ) -> None:
        answer_errors = []
        if isinstance(answer, dict) and "status" not in answer:
            answer_errors = [f"answer: {e}" for e in self.schemas.errors(role, op, True, answer)]
        self.traffic.append(
            Exchange(
                direction, op.name, str(partner or ""), request, answer, tuple(errors) + tuple(answer_errors)
            )
        )

    def _reply(self, answer: dict[str, Any]) -> Reply:
        return Reply(200, json.dumps(answer, separators=(",", ":")).encode())

    def _error(
        self, op: Operation, code: Code, info: str | None = None, session: str | None = None
    ) -> dict[str, Any]:
        name = op.response.__name__
        if name == "Acknowledgement":
            return _ack(False, code, info, session)
        if name in ("AuthorizationStart", "AuthorizationStop"):
            out: dict[str, Any] = {"AuthorizationStatus": "NotAuthorized", "StatusCode": _code(code, info)}
            if session:
                out["SessionID"] = session
            return out
        if name in ("EvseDataPage", "CdrPage"):
            return self._page([], 0, 20, _code(code, info))
        if name == "EvseStatusByIdResponse":
            return {"EVSEStatusRecords": {"EvseStatusRecord": []}, "StatusCode": _code(code, info)}
        if name == "EvseStatusResponse":
            return {"EvseStatuses": {"OperatorEvseStatus": []}, "StatusCode": _code(code, info)}
        if name == "PricingProductDataResponse":
            return {"PricingProductData": [], "StatusCode": _code(code, info)}
        return {"EVSEPricing": [], "StatusCode": _code(code, info)}

    @staticmethod
    def _page(items: list[Any], page: int, size: int, status: dict[str, Any]) -> dict[str, Any]:
        total = len(items)
        pages = max(1, math.ceil(total / size)) if size else 1
        content = items[page * size : (page + 1) * size]
        return {
            "content": content,
            "number": page,
            "size": size,
            "totalElements": total,
            "totalPages": pages,
            "first": page == 0,
            "last": page >= pages - 1,
            "numberOfElements": len(content),
            "StatusCode": status,
        }

    # -- calling partners ---------------------------------------------------------------------------

    def _partner(self, role: str, key: str) -> HubPartner | None:
        return self.partners.get((role, normalize_id(key)))

    def _cpo_of(self, evse_id: str) -> HubPartner | None:
        operator = evse_operator(evse_id)
        return None if operator is None else self._partner("CPO", operator)

    def _emp_of(self, evco_id: str) -> HubPartner | None:
        flat = normalize_id(evco_id)
        return self._partner("EMP", flat[:5])

    async def _forward(
        self, partner: HubPartner, op: Operation, originator: str, body: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Send ``body`` to the partner's server; its (checked) answer, ``None`` when it did not answer."""
        receiver = "EMP" if op.caller == "CPO" else "CPO"
        errors = self.schemas.errors(receiver, op, False, body)
        if partner.url is None:
            return None
        client = self._clients.get(partner.url)
        if client is None:
            client = self._clients[partner.url] = OicpClient(
                partner.url, client_context(self.tls), rate_limits=False
            )
        try:
            raw = await client.call_raw(op, originator, json.dumps(body).encode())
            answer = json.loads(raw)
        except (OicpError, ValueError) as exc:
            self.traffic.append(
                Exchange("out", op.name, partner.id, body, f"no answer: {exc}", tuple(errors))
            )
            return None
        answer_errors = [f"answer: {e}" for e in self.schemas.errors(receiver, op, True, answer)]
        self.traffic.append(Exchange("out", op.name, partner.id, body, answer, tuple(errors + answer_errors)))
        return answer if isinstance(answer, dict) else None

    # -- the operations -----------------------------------------------------------------------------

    async def _process(
        self, op: Operation, caller: str, body: dict[str, Any], query: Mapping[str, str]
    ) -> dict[str, Any]:
        handler = getattr(self, "_op_" + op.name.removeprefix("eRoaming"))
        result: dict[str, Any] = await handler(op, caller, body, query)
        return result

    async def _op_PushEvseData(
        self, op: Operation, caller: str, body: dict[str, Any], _q: Any
    ) -> dict[str, Any]:
        data = body["OperatorEvseData"]
        action = body["ActionType"]
        operator = normalize_id(caller)
        records = data["EvseDataRecord"]
        for record in records:
            if evse_operator(record["EvseID"]) != operator:
                return _ack(False, Code.INCONSISTENT_EVSE_ID, record["EvseID"])
        now = self.clock.now()
        mine = {
            k: r
            for k, r in self._records.items()
            if normalize_id(r.operator_id) == operator and not r.deleted
        }
        keys = [r["EvseID"].upper() for r in records]
        if action == "insert" and (clash := [k for k in keys if k in mine]):
            return _ack(False, Code.DATA_ERROR, f"already there: {', '.join(clash)}")
        if action == "update" and (missing := [k for k in keys if k not in mine]):
            return _ack(False, Code.DATA_ERROR, f"unknown: {', '.join(missing)}")
        if action == "fullLoad":
            for key, record in mine.items():
                if key not in keys:
                    record.deleted, record.delta, record.last_update = True, "delete", now
        for key, record in zip(keys, records, strict=True):
            if action == "delete":
                if key in self._records:
                    stored = self._records[key]
                    stored.deleted, stored.delta, stored.last_update = True, "delete", now
                continue
            known = key in self._records and not self._records[key].deleted
            self._records[key] = _Record(
                record, data["OperatorID"], data["OperatorName"], now, delta="update" if known else "insert"
            )
        return _ack(True, Code.SUCCESS)

    async def _op_PushEvseStatus(
        self, op: Operation, caller: str, body: dict[str, Any], _q: Any
    ) -> dict[str, Any]:
        data = body["OperatorEvseStatus"]
        operator = normalize_id(caller)
        for record in data["EvseStatusRecord"]:
            if evse_operator(record["EvseID"]) != operator:
                return _ack(False, Code.INCONSISTENT_EVSE_ID, record["EvseID"])
        if body["ActionType"] == "fullLoad":
            self._status = {k: v for k, v in self._status.items() if v[0] != operator}
        for record in data["EvseStatusRecord"]:
            if body["ActionType"] == "delete":
                self._status.pop(record["EvseID"].upper(), None)
            else:
                self._status[record["EvseID"].upper()] = (operator, record["EvseStatus"])
        return _ack(True, Code.SUCCESS)

    async def _op_PullEvseData(
        self, op: Operation, caller: str, body: dict[str, Any], query: Mapping[str, str]
    ) -> dict[str, Any]:
        page, size = int(query.get("page", 0)), int(query.get("size", 20))
        last_call = _parse(body["LastCall"]) if body.get("LastCall") else None
        operators = {normalize_id(o) for o in body.get("OperatorIds") or ()}
        countries = set(body.get("CountryCodes") or ())
        items = []
        for stored in self._records.values():
            if last_call is not None:
                if stored.last_update <= last_call:
                    continue
            elif stored.deleted:
                continue
            if operators and normalize_id(stored.operator_id) not in operators:
                continue
            if countries and stored.record["Address"]["Country"] not in countries:
                continue
            item = dict(
                stored.record,
                OperatorID=stored.operator_id,
                OperatorName=stored.operator_name,
                lastUpdate=_iso(stored.last_update),
            )
            if last_call is not None:
                item["deltaType"] = stored.delta
            items.append(item)
        return self._page(items, page, size, _code(Code.SUCCESS))

    def _status_groups(self, keys: list[str]) -> dict[str, Any]:
        groups: dict[str, list[dict[str, str]]] = {}
        for key in keys:
            operator, status = self._status[key]
            groups.setdefault(operator, []).append({"EvseID": self._evse_spelling(key), "EvseStatus": status})
        return {
            "EvseStatuses": {
                "OperatorEvseStatus": [
                    {"OperatorID": self._operator_spelling(op), "EvseStatusRecord": records}
                    for op, records in groups.items()
                ]
            },
            "StatusCode": _code(Code.SUCCESS),
        }

    def _evse_spelling(self, key: str) -> str:
        stored = self._records.get(key)
        return str(stored.record["EvseID"]) if stored else key

    def _operator_spelling(self, operator: str) -> str:
        for stored in self._records.values():
            if normalize_id(stored.operator_id) == operator:
                return stored.operator_id
        partner = self._partner("CPO", operator)
        return partner.id if partner else operator

    async def _op_PullEvseStatus(
        self, op: Operation, caller: str, body: dict[str, Any], _q: Any
    ) -> dict[str, Any]:
        wanted = body.get("EVSEStatus")
        return self._status_groups([k for k, v in self._status.items() if wanted in (None, v[1])])

    async def _op_PullEvseStatusByOperatorID(
        self, op: Operation, caller: str, body: dict[str, Any], _q: Any
    ) -> dict[str, Any]:
        operators = {normalize_id(o) for o in body["OperatorID"]}
        return self._status_groups([k for k, v in self._status.items() if v[0] in operators])

    async def _op_PullEvseStatusByID(
        self, op: Operation, caller: str, body: dict[str, Any], _q: Any
    ) -> dict[str, Any]:
        records = []
        for evse_id in body["EvseID"]:
            found = self._status.get(evse_id.upper())
            records.append({"EvseID": evse_id, "EvseStatus": found[1] if found else "EvseNotFound"})
        return {"EVSEStatusRecords": {"EvseStatusRecord": records}, "StatusCode": _code(Code.SUCCESS)}

    async def _op_PushAuthenticationData(
        self, op: Operation, caller: str, body: dict[str, Any], _q: Any
    ) -> dict[str, Any]:
        data = body["ProviderAuthenticationData"]
        provider = normalize_id(caller)
        entries: dict[str, Any] = {}
        for record in data["AuthenticationDataRecord"]:
            ident = strip_nulls(record["Identification"])
            (member,) = ident.values() if len(ident) == 1 else (None,)
            if member is None:
                return _ack(False, Code.DATA_ERROR, "an Identification has exactly one member")
            evco = member.get("EvcoID")
            if evco and normalize_id(evco)[:5] != provider:
                return _ack(False, Code.INCONSISTENT_EVCO_ID, evco)
            entries[(member.get("UID") or evco).upper()] = ident
        current = self._auth.setdefault(provider, {})
        action = body["ActionType"]
        if action == "fullLoad":
            current.clear()
        if action == "delete":
            for key in entries:
                current.pop(key, None)
        else:
            current.update(entries)
        return _ack(True, Code.SUCCESS)

    def _offline(self, identification: dict[str, Any]) -> str | None:
        member = next(iter(strip_nulls(identification).values()))
        key = (member.get("UID") or member.get("EvcoID") or "").upper()
        for provider, entries in self._auth.items():
            if key in entries:
                return provider
        return None

    async def _op_AuthorizeStart(
        self, op: Operation, caller: str, body: dict[str, Any], _q: Any
    ) -> dict[str, Any]:
        ident = strip_nulls(body["Identification"])
        session = self._new_session(operator=normalize_id(caller), provider=None, evse_id=body.get("EvseID"))
        session.identification = ident
        offline = self._offline(ident)
        if offline is not None:
            session.provider = offline
            provider_id = self._partner("EMP", offline)
            return {
                "SessionID": session.id,
                "AuthorizationStatus": "Authorized",
                "StatusCode": _code(Code.SUCCESS),
                "ProviderID": provider_id.id if provider_id else offline,
            }
        member_name, member = next(iter(ident.items()))
        if "EvcoID" in member and member_name != "RFIDMifareFamilyIdentification":
            emp = self._emp_of(member["EvcoID"])
            candidates = [emp] if emp is not None else []
        else:
            candidates = [p for p in self.partners.values() if p.role == "EMP" and p.url]
        forwarded = dict(body, SessionID=session.id)
        for emp in candidates:
            answer = await self._forward(emp, op, caller, forwarded)
            if answer and answer.get("AuthorizationStatus") == "Authorized":
                session.provider = emp.key
                answer = dict(answer, SessionID=session.id)
                answer.setdefault("ProviderID", emp.id)
                return answer
        del self._sessions[session.id]  # a refused start: the session is discarded
        code = Code.RFID_INVALID_UID if "UID" in member else Code.NO_POSITIVE_AUTHENTICATION
        return {"AuthorizationStatus": "NotAuthorized", "StatusCode": _code(code)}

    async def _op_AuthorizeStop(
        self, op: Operation, caller: str, body: dict[str, Any], _q: Any
    ) -> dict[str, Any]:
        session = self._sessions.get(body["SessionID"])
        if session is None:
            return self._error(op, Code.SESSION_INVALID, session=body["SessionID"])
        emp = self._partner("EMP", session.provider) if session.provider else None
        if emp is not None and emp.url:
            answer = await self._forward(emp, op, caller, body)
            if answer is not None:
                return answer
        if strip_nulls(body["Identification"]) == session.identification:
            return {
                "SessionID": session.id,
                "AuthorizationStatus": "Authorized",
                "StatusCode": _code(Code.SUCCESS),
            }
        return self._error(op, Code.NO_POSITIVE_AUTHENTICATION, session=session.id)

    def _new_session(self, *, operator: str | None, provider: str | None, evse_id: str | None) -> _Session:
        session = _Session(id=self.ids.new_id(), operator=operator, provider=provider, evse_id=evse_id)
        self._sessions[session.id] = session
        return session

    def _evse_check(self, cpo: HubPartner, evse_id: str) -> Code | None:
        pushed = [r for r in self._records.values() if normalize_id(r.operator_id) == cpo.key]
        if not pushed:
            return None  # a CPO that pushed no EVSE data is not checked
        stored = self._records.get(evse_id.upper())
        if stored is None or stored.deleted:
            return Code.UNKNOWN_EVSE_ID
        if not stored.record.get("IsHubjectCompatible", False):
            return Code.EVSE_NOT_HUBJECT_COMPATIBLE
        return None

    async def _remote_start(self, op: Operation, caller: str, body: dict[str, Any]) -> dict[str, Any]:
        cpo = self._cpo_of(body["EvseID"])
        if cpo is None:
            return _ack(False, Code.PARTNER_NOT_FOUND, body["EvseID"])
        if (problem := self._evse_check(cpo, body["EvseID"])) is not None:
            return _ack(False, problem, body["EvseID"])
        session = self._new_session(operator=cpo.key, provider=normalize_id(caller), evse_id=body["EvseID"])
        answer = await self._forward(cpo, op, caller, dict(body, SessionID=session.id))
        if answer is None:
            return _ack(False, Code.PARTNER_DID_NOT_RESPOND, None, session.id)
        return dict(answer, SessionID=session.id)

    async def _remote_stop(self, op: Operation, caller: str, body: dict[str, Any]) -> dict[str, Any]:
        session = self._sessions.get(body["SessionID"])
        if session is None or session.provider != normalize_id(caller):
            return _ack(False, Code.SESSION_INVALID, None, body["SessionID"])
        cpo = self._cpo_of(body["EvseID"])
        if cpo is None:
            return _ack(False, Code.PARTNER_NOT_FOUND, body["EvseID"], session.id)
        answer = await self._forward(cpo, op, caller, body)
        if answer is None:
            return _ack(False, Code.PARTNER_DID_NOT_RESPOND, None, session.id)
        return answer

    async def _op_AuthorizeRemoteStart(
        self, op: Operation, caller: str, body: dict[str, Any], _q: Any
    ) -> dict[str, Any]:
        return await self._remote_start(op, caller, body)

    async def _op_AuthorizeRemoteReservationStart(
        self, op: Operation, caller: str, body: dict[str, Any], _q: Any
    ) -> dict[str, Any]:
        return await self._remote_start(op, caller, body)

    async def _op_AuthorizeRemoteStop(
        self, op: Operation, caller: str, body: dict[str, Any], _q: Any
    ) -> dict[str, Any]:
        return await self._remote_stop(op, caller, body)

    async def _op_AuthorizeRemoteReservationStop(
        self, op: Operation, caller: str, body: dict[str, Any], _q: Any
    ) -> dict[str, Any]:
        return await self._remote_stop(op, caller, body)

    async def _op_ChargeDetailRecord(
        self, op: Operation, caller: str, body: dict[str, Any], _q: Any
    ) -> dict[str, Any]:
        session = self._sessions.get(body["SessionID"])
        if session is None or session.operator != normalize_id(caller):
            return _ack(False, Code.SESSION_INVALID, None, body["SessionID"])
        if session.cdr:
            return _ack(False, Code.DATA_ERROR, "a CDR for this session was already received", session.id)
        session.cdr = True
        stored = _Cdr(session.provider, session.operator or "", body, False, self.clock.now())
        self._cdrs.append(stored)
        emp = self._partner("EMP", session.provider) if session.provider else None
        if emp is not None and emp.url:
            answer = await self._forward(emp, op, caller, body)
            stored.forwarded = bool(answer and answer.get("Result"))
        return _ack(True, Code.SUCCESS, None, session.id)  # stored: the CPO is done even if the EMP is not

    async def _op_ChargingNotifications(
        self, op: Operation, caller: str, body: dict[str, Any], _q: Any
    ) -> dict[str, Any]:
        session = self._sessions.get(body["SessionID"])
        if session is None or session.operator != normalize_id(body["OperatorID"]):
            return _ack(False, Code.SESSION_INVALID, None, body["SessionID"])
        emp = self._partner("EMP", session.provider) if session.provider else None
        if emp is None or not emp.url:
            return _ack(False, Code.PARTNER_NOT_FOUND, None, session.id)
        answer = await self._forward(emp, op, body["OperatorID"], body)
        return answer if answer is not None else _ack(False, Code.PARTNER_DID_NOT_RESPOND, None, session.id)

    async def _op_GetChargeDetailRecords(
        self, op: Operation, caller: str, body: dict[str, Any], query: Mapping[str, str]
    ) -> dict[str, Any]:
        page, size = int(query.get("page", 0)), min(int(query.get("size", 20)), 2000)
        start, end = _parse(body["From"]), _parse(body["To"])
        sessions = set(body.get("SessionID") or ())
        operator = normalize_id(body["OperatorID"]) if body.get("OperatorID") else None
        forwarded = body.get("CDRForwarded", body.get("CDRForwarder"))
        items = [
            c.body
            for c in self._cdrs
            if c.provider == normalize_id(caller)
            and start <= _parse(c.body["ChargingEnd"]) <= end
            and (not sessions or c.body["SessionID"] in sessions)
            and (operator is None or c.operator == operator)
            and (forwarded is None or c.forwarded == forwarded)
        ]
        return self._page(items, page, size, _code(Code.SUCCESS))

    async def _op_PushPricingProductData(
        self, op: Operation, caller: str, body: dict[str, Any], _q: Any
    ) -> dict[str, Any]:
        data = body["PricingProductData"]
        key = (normalize_id(caller), normalize_id(data["ProviderID"]) if data["ProviderID"] != "*" else "*")
        if body["ActionType"] == "delete":
            self._products.pop(key, None)
        else:
            self._products[key] = data
        return _ack(True, Code.SUCCESS)

    async def _op_PushEVSEPricing(
        self, op: Operation, caller: str, body: dict[str, Any], _q: Any
    ) -> dict[str, Any]:
        operator = normalize_id(caller)
        current = self._evse_pricing.setdefault(operator, {})
        if body["ActionType"] == "fullLoad":
            current.clear()
        for entry in body["EVSEPricing"]:
            if evse_operator(entry["EvseID"]) != operator:
                return _ack(False, Code.INCONSISTENT_EVSE_ID, entry["EvseID"])
            key = (entry["EvseID"].upper(), entry["ProviderID"])
            if body["ActionType"] == "delete":
                current.pop(key, None)
            else:
                current[key] = entry
        return _ack(True, Code.SUCCESS)

    async def _op_PullPricingProductData(
        self, op: Operation, caller: str, body: dict[str, Any], _q: Any
    ) -> dict[str, Any]:
        operators = {normalize_id(o) for o in body["OperatorIDs"]}
        provider = normalize_id(caller)
        found = [
            d for (op_id, prov), d in self._products.items() if op_id in operators and prov in (provider, "*")
        ]
        return {"PricingProductData": found, "StatusCode": _code(Code.SUCCESS)}

    async def _op_PullEVSEPricing(
        self, op: Operation, caller: str, body: dict[str, Any], _q: Any
    ) -> dict[str, Any]:
        provider = normalize_id(caller)
        out = []
        for operator in body["OperatorIDs"]:
            # the EMP document's EVSEPricing.ProviderID takes no "*" (the CPO's push does): the answer
            # names the caller in its place
            entries = [
                dict(e, ProviderID=caller) if e["ProviderID"] == "*" else e
                for e in self._evse_pricing.get(normalize_id(operator), {}).values()
                if e["ProviderID"] == "*" or normalize_id(e["ProviderID"]) == provider
            ]
            if entries:
                out.append({"OperatorID": operator, "EVSEPricing": entries})
        return {"EVSEPricing": out, "StatusCode": _code(Code.SUCCESS)}


@click.group("oicp")
def cli() -> None:
    """OICP 2.3 with Hubject (docs/oicp.md)."""


@cli.command("test-hub")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, required=True)
@click.option("--cert", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--key", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--ca",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="CAs of the partners' certificates",
)
@click.option(
    "--openapi",
    "openapi_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False),
    help="folder holding Hubject's oicp-cpo-2.3-api-doc/ and oicp-emp-2.3-api-doc/ (bundled JSON)",
)
@click.option("--partner", "partners", multiple=True, help="ROLE:ID:URL of a partner's OICP server")
@click.option(
    "--traffic", type=click.Path(dir_okay=False), help="write every exchange (JSON lines) here on exit"
)
def test_hub(
    host: str,
    port: int,
    cert: str,
    key: str,
    ca: str,
    openapi_dir: str,
    partners: tuple[str, ...],
    traffic: str | None,
) -> None:
    """Run a Hubject-like hub that checks every message against Hubject's OpenAPI (mutual TLS)."""
    hub = OicpTestHub(openapi=Path(openapi_dir), tls=TlsFiles(cert=cert, key=key, ca=ca))
    for spec in partners:
        role, rest = spec.split(":", 1)
        ident, _, url = rest.partition(":")
        hub.register(role, ident, url or None)

    async def main() -> None:
        await hub.start(host, port)
        click.echo(f"OICP test hub on https://{host}:{hub.port}/api/oicp (mutual TLS)", err=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):  # also when started with SIGINT ignored
            loop.add_signal_handler(number, stop.set)
        try:
            await stop.wait()
        finally:
            await hub.close()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    finally:
        if traffic:
            with open(traffic, "w", encoding="utf-8") as out:
                for x in hub.traffic:
                    out.write(
                        json.dumps(
                            {
                                "direction": x.direction,
                                "operation": x.operation,
                                "partner": x.partner,
                                "request": x.request,
                                "answer": x.answer,
                                "errors": list(x.errors),
                            }
                        )
                        + "\n"
                    )
        click.echo(f"{len(hub.traffic)} message(s), {len(hub.invalid)} invalid", err=True)
