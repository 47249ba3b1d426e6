"""Pure rewrites of message bytes, one per tolerance; each returns ``None`` when it changes nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import msgspec

from evroam.core.status import StatusCode

__all__ = [
    "answered_id",
    "charging_profile_in",
    "charging_profile_out",
    "commands_endpoint_added",
    "envelope_for_error",
    "is_envelope",
    "next_link_by_offset",
    "on_origin",
    "status_schedule_in",
    "status_schedule_out",
    "unwrap_single",
]

_json = msgspec.json.Decoder()
_out = msgspec.json.Encoder()


def _load(content: bytes) -> Any:
    if not content:
        return None
    try:
        return _json.decode(content)
    except msgspec.DecodeError:
        return None


def is_envelope(content: bytes) -> bool:
    """Whether ``content`` is a JSON object with an OCPI ``status_code``."""
    body = _load(content)
    return isinstance(body, dict) and "status_code" in body


def unwrap_single(content: bytes) -> bytes | None:
    """``{"data": [obj], ...}`` → ``{"data": obj, ...}``."""
    body = _load(content)
    if not isinstance(body, dict):
        return None
    data = body.get("data")
    if not (isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict)):
        return None
    body["data"] = data[0]
    return _out.encode(body)


def _schedule_out(evse: Any) -> bool:
    if not isinstance(evse, dict) or not isinstance(evse.get("status_schedule"), list):
        return False
    schedule = evse["status_schedule"]
    if schedule:
        evse["status_schedule"] = schedule[0]
    else:
        del evse["status_schedule"]
    return True


def _schedule_in(evse: Any) -> bool:
    if not isinstance(evse, dict) or not isinstance(evse.get("status_schedule"), dict):
        return False
    evse["status_schedule"] = [evse["status_schedule"]]
    return True


def _each_evse(obj: Any) -> list[Any]:
    """The EVSE objects in a Location, an EVSE, or a list of either."""
    if isinstance(obj, list):
        return [evse for item in obj for evse in _each_evse(item)]
    if not isinstance(obj, dict):
        return []
    evses = obj.get("evses")
    if isinstance(evses, list):
        return list(evses)
    return [obj] if "status_schedule" in obj else []


def status_schedule_out(content: bytes) -> bytes | None:
    """A Location / EVSE body (PUT or PATCH): each ``status_schedule`` list becomes its first entry."""
    body = _load(content)
    changed = [_schedule_out(evse) for evse in _each_evse(body)]
    return _out.encode(body) if any(changed) else None


def status_schedule_in(content: bytes) -> bytes | None:
    """An envelope whose data holds Locations / EVSEs: each ``status_schedule`` object becomes a list."""
    body = _load(content)
    if not isinstance(body, dict):
        return None
    changed = [_schedule_in(evse) for evse in _each_evse(body.get("data"))]
    return _out.encode(body) if any(changed) else None


def answered_id(content: bytes) -> str | None:
    """The ``id`` of the object in an envelope's ``data`` (an object, or a one-element list of one)."""
    body = _load(content)
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    found = data.get("id") if isinstance(data, dict) else None
    return found if isinstance(found, str) and found else None


def on_origin(url: str, called: str) -> str:
    """``url`` with the scheme and host of ``called`` (the URL we sent the request to)."""
    target, origin = urlsplit(url), urlsplit(called)
    if not target.netloc:
        return url
    return urlunsplit((origin.scheme, origin.netloc, target.path, target.query, target.fragment))


def _next_url(links: list[str]) -> str | None:
    for header in links:
        for part in header.split(","):
            url, _, params = part.partition(";")
            if 'rel="next"' in params.replace(" ", "") or "rel=next" in params.replace(" ", ""):
                return url.strip().strip("<>")
    return None


def next_link_by_offset(links: list[str], called: str) -> str | None:
    """A ``Link`` value for the next page: ``called`` with the offset / limit of the partner's link."""
    url = _next_url(links)
    if url is None:
        return None
    wanted = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    if "offset" not in wanted:
        return None
    origin = urlsplit(called)
    pairs = parse_qsl(origin.query, keep_blank_values=True)
    query = [(k, v) for k, v in pairs if k not in ("offset", "limit")]
    query.append(("offset", wanted["offset"]))
    if "limit" in wanted:
        query.append(("limit", wanted["limit"]))
    again = urlunsplit((origin.scheme, origin.netloc, origin.path, urlencode(query), ""))
    return f'<{again}>; rel="next"'


def _status_for(http_status: int, module: str | None) -> int:
    if http_status == 404 and module == "tokens":
        return StatusCode.UNKNOWN_TOKEN
    if http_status == 404 and module == "locations":
        return StatusCode.UNKNOWN_LOCATION
    if http_status in (400, 422):
        return StatusCode.INVALID_OR_MISSING_PARAMETERS
    if http_status >= 500:
        return StatusCode.SERVER_ERROR
    return StatusCode.CLIENT_ERROR


def envelope_for_error(content: bytes, http_status: int, module: str | None, timestamp: str) -> bytes | None:
    """An OCPI envelope for an error answer that has none (FastAPI's ``{"detail": ...}``, plain text)."""
    if http_status < 400 or is_envelope(content):
        return None
    body = _load(content)
    detail = body.get("detail") if isinstance(body, dict) else None
    if detail is None:
        detail = content.decode("utf-8", "replace").strip()
    message = detail if isinstance(detail, str) else _out.encode(detail).decode()
    return _out.encode(
        {
            "status_code": int(_status_for(http_status, module)),
            "status_message": message[:255],
            "timestamp": timestamp,
        }
    )


def commands_endpoint_added(content: bytes) -> bytes | None:
    """Version details of a CPO without a ``commands`` endpoint: one is added beside ``locations``."""
    body = _load(content)
    data = body.get("data") if isinstance(body, dict) else None
    endpoints = data.get("endpoints") if isinstance(data, dict) else None
    if not isinstance(endpoints, list) or not all(isinstance(e, dict) for e in endpoints):
        return None
    if any(e.get("identifier") == "commands" for e in endpoints):
        return None
    locations = next(
        (e for e in endpoints if e.get("identifier") == "locations" and e.get("role") in ("SENDER", None)),
        None,
    )
    if locations is None:
        return None
    url = locations.get("url")
    if not isinstance(url, str) or "locations" not in url:
        return None
    head, _, tail = url.rpartition("locations")
    added = {"identifier": "commands", "url": head + "commands" + tail}
    if "role" in locations:
        added["role"] = "RECEIVER"
    endpoints.append(added)
    return _out.encode(body)


def _profiles(body: Any) -> list[Any]:
    """The ChargingProfile objects of a SetChargingProfile, an ActiveChargingProfile or an
    ActiveChargingProfileResult."""
    if not isinstance(body, dict):
        return []
    found = [body["charging_profile"]] if isinstance(body.get("charging_profile"), dict) else []
    profile = body.get("profile")
    if isinstance(profile, dict) and isinstance(profile.get("charging_profile"), dict):
        found.append(profile["charging_profile"])
    return found


def _profile_out(profile: dict[str, Any]) -> bool:
    periods = profile.get("charging_profile_period")
    if not (isinstance(periods, list) and len(periods) == 1 and isinstance(periods[0], dict)):
        return False  # none, or several: not expressible as one object, left for the partner to refuse
    profile["charging_profile_period"] = periods[0]
    profile["min_charge_rate"] = profile.get("min_charging_rate", 0)
    return True


def _profile_in(profile: dict[str, Any]) -> bool:
    changed = False
    if isinstance(profile.get("charging_profile_period"), dict):
        profile["charging_profile_period"] = [profile["charging_profile_period"]]
        changed = True
    if "min_charge_rate" in profile:
        rate = profile.pop("min_charge_rate")
        if "min_charging_rate" not in profile and rate is not None:
            profile["min_charging_rate"] = rate
        changed = True
    return changed


def charging_profile_out(content: bytes) -> bytes | None:
    """A body carrying a ChargingProfile with exactly one period: the period becomes an object and
    ``min_charge_rate`` (the partner's name for ``min_charging_rate``, required there) is added (0 when
    we have no minimum). Several periods cannot be expressed that way: the body is left as it is."""
    body = _load(content)
    changed = [_profile_out(profile) for profile in _profiles(body)]
    return _out.encode(body) if any(changed) else None


def charging_profile_in(content: bytes) -> bytes | None:
    """A received body carrying a ChargingProfile whose ``charging_profile_period`` is one object: it
    becomes a one-entry list; ``min_charge_rate`` becomes ``min_charging_rate``."""
    body = _load(content)
    changed = [_profile_in(profile) for profile in _profiles(body)]
    return _out.encode(body) if any(changed) else None
