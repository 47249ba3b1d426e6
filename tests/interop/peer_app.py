"""The independent peer: extrawest-ocpi (``py_ocpi``) served by uvicorn with a small in-memory backend.

This file runs in the PEER's virtualenv (``tests/interop/.venv-peer``, pydantic v1), with that
virtualenv's python, never inside the evroam test process; it imports nothing from evroam::

    .venv-peer/bin/python tests/interop/peer_app.py --port 8123 --role emsp --token-a SECRET

The library decides everything OCPI (routes, validation, envelopes, the credentials handshake, its
push); this file only supplies what the library asks its user for: a ``Crud`` backend (dicts in
memory), an ``Authenticator`` (token A and the tokens C issued) and settings (host, party, roles).

Test-only routes under ``/_peer`` (no authentication; the peer listens on 127.0.0.1 only) let the
tests look inside and act as the peer's operator:

* ``GET  /_peer/state`` — every stored object, the partners, authorizations and command results;
* ``POST /_peer/seed/{module}`` — objects the peer owns (a CPO's locations, an eMSP's tokens ...);
  ``DELETE /_peer/seed/{module}/{id}`` forgets one of them;
* ``POST /_peer/push/{version}`` — make the peer push one of its objects to every registered partner
  with the library's own push code (``{"module": "locations", "object_id": "..."}``);
* ``POST /_peer/command-result`` — what the peer's charge points answer to the next commands;
* ``POST /_peer/profile-answers`` — what the peer as CPO answers to charging profile requests: the
  synchronous ``response`` (ChargingProfileResponse) and whether its charge point has answered
  (``charger_answered``; the library polls the backend for that answer, see ``PeerCrud.get``).

Charging profiles (OCPI 2.2.1 only in the library): as CPO the library serves GET / PUT / DELETE
``chargingprofiles/{session_id}`` and posts the result itself from a background task; as eMSP it
serves ``POST chargingprofiles/`` (results, told apart by the query string of the response URL) and
``PUT chargingprofiles/{session_id}`` (ActiveChargingProfile). It has no client that sends a
SetChargingProfile: the tests send those as the peer would (its credentials, its models).
"""

from __future__ import annotations

import argparse
import enum
import itertools
import os
import secrets
import sys
from datetime import UTC, datetime
from typing import Any


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--role", action="append", choices=["cpo", "emsp"], required=True)
    parser.add_argument("--version", action="append", choices=["2.1.1", "2.2.1"], default=None)
    parser.add_argument("--token-a", required=True, help="the registration token handed to partners")
    parser.add_argument("--country-code", default="US")
    parser.add_argument("--party-id", default="PEE")
    parser.add_argument("--name", default="Extrawest peer")
    parser.add_argument("--log-level", default="warning")
    return parser.parse_args(argv)


ARGS = _parse_args(sys.argv[1:])

# py_ocpi reads its settings from the environment when it is imported.
os.environ.update(
    {
        "OCPI_HOST": f"127.0.0.1:{ARGS.port}",
        "PROTOCOL": "http",
        "COUNTRY_CODE": ARGS.country_code,
        "PARTY_ID": ARGS.party_id,
        "COMMAND_AWAIT_TIME": "1",
        # the library polls its backend for a charge point's answer to a charging profile request
        # 30 x this many times, 2 s apart
        "GET_ACTIVE_PROFILE_AWAIT_TIME": "1",
        "ENVIRONMENT": "production",
    }
)

import uvicorn  # noqa: E402
from fastapi import Body, FastAPI, HTTPException, Request  # noqa: E402
from fastapi.encoders import jsonable_encoder  # noqa: E402
from fastapi.exceptions import RequestValidationError  # noqa: E402
from fastapi.responses import JSONResponse  # noqa: E402
from py_ocpi import get_application  # noqa: E402
from py_ocpi.core.authentication.authenticator import Authenticator  # noqa: E402
from py_ocpi.core.crud import Crud  # noqa: E402
from py_ocpi.core.enums import Action, ModuleID, RoleEnum  # noqa: E402
from py_ocpi.core.push import push_object  # noqa: E402
from py_ocpi.core.schemas import Push, Receiver  # noqa: E402
from py_ocpi.modules.versions.enums import VersionNumber  # noqa: E402

VERSIONS = ARGS.version or ["2.2.1"]
BASE = f"http://127.0.0.1:{ARGS.port}/ocpi"
_counter = itertools.count(1)


class State:
    """Everything the peer knows, in memory."""

    def __init__(self) -> None:
        self.token_a: list[str] = [ARGS.token_a]
        #: token C (what partners call us with) -> the partner's record
        self.partners: dict[str, dict[str, Any]] = {}
        #: (module, "own" | "received") -> folded key -> object
        self.objects: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        self.authorizations: list[dict[str, Any]] = []
        self.commands_received: list[dict[str, Any]] = []
        self.command_results: dict[str, dict[str, Any]] = {}
        self.charging_preferences: dict[str, dict[str, Any]] = {}
        self.next_command_result: dict[str, Any] = {"result": "ACCEPTED"}
        #: charging profiles, the peer as CPO: the requests it got, what it answers
        self.profile_requests: list[dict[str, Any]] = []
        self.profile_answers: dict[str, Any] = {
            "response": {"result": "ACCEPTED", "timeout": 90},
            "charger_answered": True,
        }
        #: session id (folded) -> the profile the peer's "charge point" applies (the last one set)
        self.profiles_applied: dict[str, dict[str, Any]] = {}
        #: charging profiles, the peer as eMSP: results POSTed to it (with their query string) and
        #: ActiveChargingProfiles PUT to it, by session id
        self.profile_results: list[dict[str, Any]] = []
        self.active_profiles: dict[str, dict[str, Any]] = {}

    def table(self, module: str, side: str) -> dict[str, dict[str, Any]]:
        return self.objects.setdefault((module, side), {})

    def dump(self) -> dict[str, Any]:
        return {
            "objects": {f"{m}/{side}": table for (m, side), table in self.objects.items()},
            "partners": list(self.partners.values()),
            "authorizations": self.authorizations,
            "commands_received": self.commands_received,
            "command_results": self.command_results,
            "charging_preferences": self.charging_preferences,
            "profile_requests": self.profile_requests,
            "profiles_applied": self.profiles_applied,
            "profile_results": self.profile_results,
            "active_profiles": self.active_profiles,
        }


STATE = State()


def _key(*parts: Any) -> str:
    return "/".join(str(p).casefold() for p in parts if p is not None)


def _own_credentials(token: str, version: str) -> dict[str, Any]:
    roles = [r.upper() for r in ARGS.role]
    business = {"name": ARGS.name}
    if version.startswith("2.1"):
        return {
            "token": token,
            "url": f"{BASE}/versions",
            "business_details": business,
            "party_id": ARGS.party_id,
            "country_code": ARGS.country_code,
        }
    return {
        "token": token,
        "url": f"{BASE}/versions",
        "roles": [
            {
                "role": role,
                "business_details": business,
                "party_id": ARGS.party_id,
                "country_code": ARGS.country_code,
            }
            for role in roles
        ],
    }


def _when(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class PeerAuthenticator(Authenticator):
    @classmethod
    async def get_valid_token_c(cls) -> list[str]:
        return list(STATE.partners)

    @classmethod
    async def get_valid_token_a(cls) -> list[str]:
        return list(STATE.token_a)


def _version(kwargs: dict[str, Any]) -> str:
    version = kwargs.get("version")
    return str(getattr(version, "value", version) or VERSIONS[-1])


class PeerCrud(Crud):
    @classmethod
    async def get(cls, module: ModuleID, role: RoleEnum, id: Any, *args: Any, **kwargs: Any) -> Any:
        auth_token = kwargs.get("auth_token")
        if module == ModuleID.credentials_and_registration:
            partner = STATE.partners.get(str(id))
            return None if partner is None else _own_credentials(str(id), _version(kwargs))
        if module == ModuleID.commands and role == RoleEnum.cpo:
            return dict(STATE.next_command_result)
        if module == ModuleID.hub_client_info and role == RoleEnum.cpo and "session_id" in kwargs:
            # the library asks here for its charge point's answer to a charging profile request
            return _charger_answer(kwargs)
        if module == ModuleID.tokens and role == RoleEnum.emsp:
            return STATE.table("tokens", "own").get(_key(id))
        side = _side(module, role)
        if side == "received":
            table = STATE.table(module.value, side)
            if kwargs.get("country_code") is None:  # e.g. GET cdrs/{id}: the URL names no party
                return next((v for k, v in table.items() if k.endswith("/" + _key(id))), None)
            return table.get(_key(kwargs.get("country_code"), kwargs.get("party_id"), id))
        del auth_token
        return STATE.table(module.value, side).get(_key(id))

    @classmethod
    async def list(
        cls, module: ModuleID, role: RoleEnum, filters: dict[str, Any], *args: Any, **kwargs: Any
    ) -> tuple[list[Any], int, bool]:
        items = list(STATE.table(module.value, "own").values())
        date_from, date_to = _when(filters.get("date_from")), _when(filters.get("date_to"))
        if date_from is not None:
            items = [i for i in items if (_when(i.get("last_updated")) or date_from) >= date_from]
        if date_to is not None:
            items = [i for i in items if (_when(i.get("last_updated")) or date_to) < date_to]
        offset, limit = int(filters.get("offset") or 0), int(filters.get("limit") or 50)
        page = items[offset : offset + limit]
        return page, len(items), offset + limit >= len(items)

    @classmethod
    async def create(
        cls, module: ModuleID, role: RoleEnum, data: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Any:
        if module == ModuleID.credentials_and_registration:
            return _register(data, kwargs)
        if module == ModuleID.charging_profile and role == RoleEnum.emsp:
            query = dict(kwargs.get("query_params") or {})
            STATE.profile_results.append({"query": query, "result": _plain(data)})
            return data
        side = _side(module, role)
        if side == "received":
            key = _key(
                kwargs.get("country_code") or data.get("country_code"),
                kwargs.get("party_id") or data.get("party_id"),
                data.get("id") or data.get("uid"),
            )
        else:
            key = _key(data.get("id") or data.get("uid"))
        STATE.table(module.value, side)[key] = _plain(data)
        return data

    @classmethod
    async def update(
        cls, module: ModuleID, role: RoleEnum, data: dict[str, Any], id: Any, *args: Any, **kwargs: Any
    ) -> Any:
        if module == ModuleID.credentials_and_registration:
            return _rotate(data, kwargs)
        if module == ModuleID.commands and role == RoleEnum.emsp:
            STATE.command_results[str(id)] = _plain(data)
            return data
        if module == ModuleID.sessions and role == RoleEnum.cpo:
            STATE.charging_preferences[str(id)] = _plain(data)
            return {"result": "ACCEPTED"}
        if module == ModuleID.charging_profile and role == RoleEnum.emsp:
            STATE.active_profiles[_key(kwargs.get("session_id"))] = _plain(data)
            return data
        side = _side(module, role)
        key = _key(kwargs.get("country_code"), kwargs.get("party_id"), id) if side == "received" else _key(id)
        STATE.table(module.value, side)[key] = _plain(data)
        return data

    @classmethod
    async def delete(cls, module: ModuleID, role: RoleEnum, id: Any, *args: Any, **kwargs: Any) -> None:
        if module == ModuleID.credentials_and_registration:
            STATE.partners.pop(str(id), None)
            return
        side = _side(module, role)
        key = _key(kwargs.get("country_code"), kwargs.get("party_id"), id) if side == "received" else _key(id)
        STATE.table(module.value, side).pop(key, None)

    @classmethod
    async def do(
        cls,
        module: ModuleID,
        role: RoleEnum | None,
        action: Action,
        *args: Any,
        data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        if action == Action.authorize_token:
            assert data is not None
            token = STATE.table("tokens", "own").get(_key(data["token_uid"]))
            if token is None:
                return None
            STATE.authorizations.append(_plain(data))
            allowed = "ALLOWED" if token.get("valid") else "BLOCKED"
            return {
                "allowed": allowed,
                "token": token,
                "location": data.get("location_reference"),
                "authorization_reference": f"AUTH{next(_counter)}",
            }
        if action == Action.send_command:
            payload = args[0] if args else data
            STATE.commands_received.append({"command": str(kwargs.get("command")), "data": _plain(payload)})
            return {"result": "ACCEPTED", "timeout": 30}
        if action in _PROFILE_ACTIONS:
            session = kwargs.get("session") or {}
            request: dict[str, Any] = {
                "action": _PROFILE_ACTIONS[action],
                "session_id": session.get("id"),
                "response_url": str(kwargs.get("response_url")),
            }
            if args:
                request["body"] = _plain(args[0])
            if "duration" in kwargs:
                request["duration"] = kwargs["duration"]
            STATE.profile_requests.append(request)
            response = dict(STATE.profile_answers["response"])
            if response.get("result") == "ACCEPTED" and action == Action.send_update_charging_profile:
                STATE.profiles_applied[_key(session.get("id"))] = _plain(args[0])["charging_profile"]
            if response.get("result") == "ACCEPTED" and action == Action.send_delete_chargingprofile:
                STATE.profiles_applied.pop(_key(session.get("id")), None)
            return response
        if action == Action.get_client_token:
            partner = STATE.partners.get(str(kwargs.get("auth_token")))
            return None if partner is None else partner["their_token"]
        return None


_PROFILE_ACTIONS = {
    Action.send_update_charging_profile: "SET",
    Action.send_get_chargingprofile: "GET",
    Action.send_delete_chargingprofile: "CLEAR",
}
#: the limit the peer's "charge point" applies without a profile (W)
_MAXIMUM_W = 22080.0


def _charger_answer(kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """The peer's charge point's answer to a charging profile request, as the library wants it from
    its backend: ``None`` while there is none. For a GET, an ActiveChargingProfileResult with the
    profile it applies (the last one set on the session, else its maximum) in the library's model."""
    if not STATE.profile_answers.get("charger_answered"):
        return None
    if "duration" not in kwargs:  # SET (the library passes the profile) or CLEAR
        return {"result": "ACCEPTED"}
    applied = STATE.profiles_applied.get(_key(kwargs.get("session_id")))
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    profile = applied or {
        "charging_rate_unit": "W",
        "min_charge_rate": 0,
        "charging_profile_period": {"start_period": 0, "limit": _MAXIMUM_W},
    }
    return {
        "result": "ACCEPTED",
        "profile": {
            "start_date_time": now,
            "charging_profile": {**profile, "start_date_time": now, "duration": kwargs["duration"]},
        },
    }


def _side(module: ModuleID, role: RoleEnum) -> str:
    """Where an object lives: the peer's own (it is the module's sender) or received from a partner."""
    owner = {
        ModuleID.locations: RoleEnum.cpo,
        ModuleID.tariffs: RoleEnum.cpo,
        ModuleID.sessions: RoleEnum.cpo,
        ModuleID.cdrs: RoleEnum.cpo,
        ModuleID.tokens: RoleEnum.emsp,
    }.get(module)
    return "own" if role == owner else "received"


def _plain(value: Any) -> Any:
    """JSON-ready copy of what pydantic v1 hands over (enums, datetimes, custom str types)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, str):
        return str(value)
    return value


def _register(data: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    token_a = kwargs.get("auth_token")
    if token_a in STATE.token_a:
        STATE.token_a.remove(token_a)  # a token A works once
    token_c = secrets.token_urlsafe(24)
    credentials = _plain(data["credentials"])
    STATE.partners[token_c] = {
        "token_c": token_c,
        "their_token": credentials["token"],
        "versions_url": credentials["url"],
        "credentials": credentials,
        "endpoints": _plain(data["endpoints"]),
        "version": _version(kwargs),
    }
    return _own_credentials(token_c, _version(kwargs))


def _rotate(data: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    old = STATE.partners.pop(str(kwargs.get("auth_token")), None)
    if old is None:
        raise HTTPException(405, "not registered")
    token_c = secrets.token_urlsafe(24)
    credentials = _plain(data["credentials"])
    STATE.partners[token_c] = {
        **old,
        "token_c": token_c,
        "their_token": credentials["token"],
        "versions_url": credentials["url"],
        "credentials": credentials,
        "endpoints": _plain(data["endpoints"]),
    }
    return _own_credentials(token_c, _version(kwargs))


def build_app() -> FastAPI:
    app = get_application(
        version_numbers=[VersionNumber(v) for v in VERSIONS],
        roles=[RoleEnum.cpo if r == "cpo" else RoleEnum.emsp for r in ARGS.role],
        crud=PeerCrud,
        modules=[
            ModuleID.credentials_and_registration,
            ModuleID.locations,
            ModuleID.tariffs,
            ModuleID.tokens,
            ModuleID.sessions,
            ModuleID.cdrs,
            ModuleID.commands,
            ModuleID.charging_profile,
        ],
        authenticator=PeerAuthenticator,
        http_push=False,
    )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # the library's own answer (HTTP 422, FastAPI's detail), logged so that a failing test shows why
        print(
            f"peer: 422 for {request.method} {request.url.path}: {exc.errors()}", file=sys.stderr, flush=True
        )
        return JSONResponse(status_code=422, content={"detail": jsonable_encoder(exc.errors())})

    @app.get("/_peer/state")
    async def state() -> dict[str, Any]:
        return STATE.dump()

    @app.post("/_peer/seed/{module}")
    async def seed(module: str, objects: list[dict[str, Any]] = Body(...)) -> dict[str, int]:
        table = STATE.table(module, "own")
        for obj in objects:
            table[_key(obj.get("id") or obj.get("uid"))] = obj
        return {"stored": len(objects)}

    @app.delete("/_peer/seed/{module}/{object_id}")
    async def unseed(module: str, object_id: str) -> dict[str, int]:
        removed = STATE.table(module, "own").pop(_key(object_id), None)
        return {"removed": 0 if removed is None else 1}

    @app.post("/_peer/command-result")
    async def command_result(result: dict[str, Any] = Body(...)) -> dict[str, Any]:
        STATE.next_command_result = result
        return result

    @app.post("/_peer/profile-answers")
    async def profile_answers(answers: dict[str, Any] = Body(...)) -> dict[str, Any]:
        STATE.profile_answers = {**STATE.profile_answers, **answers}
        return STATE.profile_answers

    @app.post("/_peer/push/{version}")
    async def push(version: str, request: dict[str, Any] = Body(...)) -> dict[str, Any]:
        receivers = []
        for partner in STATE.partners.values():
            details = await _details_url(partner, version)
            receivers.append(Receiver(endpoints_url=details, auth_token=partner["their_token"]))
        if not receivers:
            raise HTTPException(409, "no partner registered")
        pushed = Push(
            module_id=ModuleID(request["module"]), object_id=request["object_id"], receivers=receivers
        )
        result = await push_object(VersionNumber(version), pushed, PeerCrud, _adapter(app))
        return _plain(result.dict())

    return app


async def _details_url(partner: dict[str, Any], version: str) -> str:
    import httpx

    token = partner["their_token"]
    if version.startswith("2.2"):
        import base64

        token = base64.b64encode(token.encode()).decode()
    async with httpx.AsyncClient() as client:
        answer = await client.get(partner["versions_url"], headers={"Authorization": f"Token {token}"})
    for entry in answer.json()["data"]:
        if entry["version"] == version:
            return str(entry["url"])
    raise HTTPException(409, f"the partner does not offer {version}")


def _adapter(app: FastAPI) -> Any:
    from py_ocpi.core.dependencies import get_adapter

    return app.dependency_overrides[get_adapter]()


def main() -> None:
    uvicorn.run(build_app(), host="127.0.0.1", port=ARGS.port, log_level=ARGS.log_level, access_log=False)


if __name__ == "__main__":
    main()
