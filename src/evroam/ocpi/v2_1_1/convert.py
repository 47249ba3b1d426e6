"""Converters between the OCPI 2.1.1 wire models and the canonical model (:mod:`evroam.model`).

``<object>_to_model(wire, ...) -> model.X`` reads a 2.1.1 object; ``<object>_from_model(model.X, ...)``
writes one. A 2.1.1 object read and written again is unchanged. 2.1.1 objects carry no owner, so the
readers of owned objects (Location, Tariff, Session, CDR, Token, and the Token inside StartSession /
ReserveNow) take the owner's ``country_code`` and ``party_id`` as keyword arguments.

2.1.1 Sessions and CDRs embed a Location: it is kept as ``model.Session.location`` /
``model.CDR.location`` and written back as it was. A canonical Session/CDR read from 2.2+ has no
such snapshot: the writer then takes the stored Location as the ``location`` argument and embeds
only the session's EVSE and connector.

What 2.1.1 cannot carry is left out, mapped or refused as listed in ``docs/versions.md``; in short:
country/party of owned objects, 2.2+ ids longer than 2.1.1 allows and all 2.2+/2.3.0-only fields
are not written; money is written as ``before_taxes``; enum values 2.1.1 lacks are dropped from
lists or mapped (SessionStatus RESERVATION -> PENDING, AuthMethod COMMAND -> AUTH_REQUEST, token
types -> OTHER, ParkingType ALONG_MOTORWAY/ON_DRIVEWAY -> OTHER); credit CDRs, tariffs whose prices
include taxes or that use current restrictions raise :class:`evroam.model.NotRepresentable`.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

import msgspec

from evroam import model as m
from evroam.core.types import CiString, Number
from evroam.model._convert import limit, member, plain, tup
from evroam.model.common import NotRepresentable
from evroam.ocpi import v2_1_1 as w
from evroam.ocpi._convert_core import Spec, Version

__all__ = [
    "VERSION",
    "authorization_info_from_model",
    "authorization_info_to_model",
    "cdr_from_model",
    "cdr_to_model",
    "command_response_from_model",
    "command_response_to_model",
    "command_result_from_model",
    "command_result_to_model",
    "connector_from_model",
    "connector_to_model",
    "credentials_from_model",
    "credentials_to_model",
    "evse_from_model",
    "evse_to_model",
    "location_from_model",
    "location_references_from_model",
    "location_references_to_model",
    "location_to_model",
    "reserve_now_from_model",
    "reserve_now_to_model",
    "session_from_model",
    "session_to_model",
    "start_session_from_model",
    "start_session_to_model",
    "stop_session_from_model",
    "stop_session_to_model",
    "tariff_from_model",
    "tariff_to_model",
    "token_from_model",
    "token_to_model",
    "unlock_connector_from_model",
    "unlock_connector_to_model",
]

VERSION = "2.1.1"


def _missing(path: str, reason: str) -> NotRepresentable:
    return NotRepresentable(VERSION, path, reason)


_SIX_DECIMALS = re.compile(r"^-?[0-9]{1,3}\.[0-9]{6}$")
_MICRO_DEGREE = Decimal("0.000001")


def _coordinate(value: str, path: str) -> str:
    """2.1.1 coordinates have exactly 6 decimals: pad or round (half-even) other values."""
    if _SIX_DECIMALS.match(value):
        return value
    try:
        return format(Decimal(value).quantize(_MICRO_DEGREE, rounding=ROUND_HALF_EVEN), "f")
    except InvalidOperation:
        raise _missing(path, f"{value!r} is not a decimal coordinate") from None


def _coordinates(kind: str) -> Spec:
    return Spec(
        write={
            "latitude": lambda g: _coordinate(g.latitude, f"{kind}.latitude"),
            "longitude": lambda g: _coordinate(g.longitude, f"{kind}.longitude"),
        }
    )


def _twentyfourseven(h: m.Hours) -> bool | None:
    """2.1.1 Hours is a choice: ``twentyfourseven`` is written when true or when there are no regular
    hours; an explicit ``false`` next to regular hours (2.2+) is implied by them and left out."""
    if h.twentyfourseven is not True and h.regular_hours:
        return None
    return True if h.twentyfourseven is None else h.twentyfourseven


def _parking_type_in(loc: w.Location, *_owner: str) -> str | None:
    """LocationType ``UNKNOWN`` is no parking type; the others are ParkingType values or ``OTHER``."""
    return None if loc.type is w.LocationType.UNKNOWN else plain(loc.type)


def _location_type_out(loc: m.Location) -> w.LocationType:
    """``None`` -> UNKNOWN; ParkingTypes 2.1.1 lacks (ALONG_MOTORWAY, ON_DRIVEWAY, unknown) -> OTHER."""
    if loc.parking_type is None:
        return w.LocationType.UNKNOWN
    return member(w.LocationType, loc.parking_type) or w.LocationType.OTHER


def _no_current_restrictions(r: m.TariffRestrictions) -> None:
    if r.min_current is not None or r.max_current is not None:
        raise _missing("TariffRestrictions.min_current", "2.1.1 restrictions have no current thresholds")


def _prices_exclude_vat(t: m.Tariff) -> None:
    if t.tax_included is m.TaxIncluded.YES:
        raise _missing("Tariff.tax_included", "2.1.1 prices exclude VAT; these prices include taxes")


def _elements_out(t: m.Tariff) -> list[w.TariffElement]:
    """Elements restricted to reservations are left out (2.1.1 does not price reservations)."""
    elements = [
        _tariff_element_from_model(e)
        for e in t.elements
        if e.restrictions is None or e.restrictions.reservation is None
    ]
    if not elements:
        raise _missing("Tariff.elements", "every element prices a reservation")
    return elements


def _not_credit(c: m.CDR, *_location: object) -> None:
    if c.credit:
        raise _missing("CDR.credit", "2.1.1 has no credit CDRs")


_INTEGER = re.compile(r"^-?(0|[1-9][0-9]*)$")


def _reservation_id_out(r: m.ReserveNow) -> int:
    if not _INTEGER.match(r.reservation_id):
        raise _missing("ReserveNow.reservation_id", f"{r.reservation_id!s} is not an integer")
    return int(r.reservation_id)


def _token_of(obj: w.ReserveNow | w.StartSession, country_code: str, party_id: str) -> m.Token:
    return token_to_model(obj.token, country_code=country_code, party_id=party_id)


_OWNER = ("country_code", "party_id")

_V = Version(
    VERSION,
    {
        # money: a number excluding VAT
        (m.Price, Number): Spec(reader=lambda v: m.Price(before_taxes=v), writer=lambda p: p.before_taxes),
        m.GeoLocation: _coordinates("GeoLocation"),
        m.AdditionalGeoLocation: _coordinates("AdditionalGeoLocation"),
        m.EnvironmentalImpact: Spec(names={"category": "source"}),
        m.Connector: Spec(
            names={"max_voltage": "voltage", "max_amperage": "amperage"},
            read={"tariff_ids": lambda c: None if c.tariff_id is None else (CiString(c.tariff_id),)},
            write={"tariff_id": lambda c: plain(c.tariff_ids[0]) if c.tariff_ids else None},
        ),
        m.Hours: Spec(write={"twentyfourseven": _twentyfourseven}),
        m.Location: Spec(
            read_params=_OWNER,
            read={"parking_type": _parking_type_in},
            write={
                "type": _location_type_out,
                "address": lambda loc: limit(loc.address, 45, VERSION, "Location.address"),
                "city": lambda loc: limit(loc.city, 45, VERSION, "Location.city"),
                "postal_code": lambda loc: "" if loc.postal_code is None else loc.postal_code,
            },
        ),
        m.TariffRestrictions: Spec(checks=(_no_current_restrictions,)),
        m.Tariff: Spec(
            read_params=_OWNER,
            read={"tax_included": m.TaxIncluded.NO},
            checks=(_prices_exclude_vat,),
            write={"elements": _elements_out},
        ),
        m.Session: Spec(
            read_params=(*_OWNER, "location", "location_id", "evse_uid", "connector_id"),
            names={"start_date_time": "start_datetime", "end_date_time": "end_datetime"},
            read={"cdr_token": lambda s, *_: m.CdrToken(contract_id=CiString(s.auth_id))},
            write_params=("location",),
            write_from={"auth_id": "cdr_token.contract_id"},
            write={
                "location": lambda s, location: _embedded_location(
                    s.location, location, s.evse_uid, s.connector_id, "Session.location"
                )
            },
        ),
        m.CDR: Spec(
            read_params=(*_OWNER, "location", "cdr_location"),
            names={"end_date_time": "stop_date_time"},
            read={
                "cdr_token": lambda c, *_: m.CdrToken(contract_id=CiString(c.auth_id)),
                "tariffs": lambda c, country_code, party_id, *_: tup(
                    c.tariffs, lambda t: tariff_to_model(t, country_code=country_code, party_id=party_id)
                ),
            },
            checks=(_not_credit,),
            write_params=("location",),
            write_from={"auth_id": "cdr_token.contract_id"},
            write={
                "location": lambda c, location: _embedded_location(
                    c.location, location, c.cdr_location.evse_uid, c.cdr_location.connector_id, "CDR.location"
                )
            },
        ),
        m.Token: Spec(read_params=_OWNER, names={"contract_id": "auth_id"}),
        m.ReserveNow: Spec(
            read_params=_OWNER,
            read={"token": _token_of, "reservation_id": lambda r, *_: CiString(str(r.reservation_id))},
            write={"reservation_id": _reservation_id_out},
        ),
        m.StartSession: Spec(read_params=_OWNER, read={"token": _token_of}),
    },
    fallbacks={
        w.TokenType: w.TokenType.OTHER,  # AD_HOC_USER, APP_USER, EMAID and unknown token types
        w.SessionStatus: w.SessionStatus.PENDING,  # RESERVATION: the session exists, charging has not begun
        w.AuthMethod: w.AuthMethod.AUTH_REQUEST,  # COMMAND: the eMSP authorised the session online
        w.CommandResponseType: w.CommandResponseType.REJECTED,  # async results 2.1.1 lacks
    },
)

_read_location = _V.reader_with_params(w.Location, m.Location)
_read_tariff = _V.reader_with_params(w.Tariff, m.Tariff)
_read_session = _V.reader_with_params(w.Session, m.Session)
_write_session = _V.writer_with_params(m.Session, w.Session)
_read_cdr = _V.reader_with_params(w.CDR, m.CDR)
_write_cdr = _V.writer_with_params(m.CDR, w.CDR)
_read_token = _V.reader_with_params(w.Token, m.Token)
_read_reserve_now = _V.reader_with_params(w.ReserveNow, m.ReserveNow)
_read_start_session = _V.reader_with_params(w.StartSession, m.StartSession)
_tariff_element_from_model = _V.writer(m.TariffElement, w.TariffElement)
_business_to_model = _V.reader(w.BusinessDetails, m.BusinessDetails)
_business_from_model = _V.writer(m.BusinessDetails, w.BusinessDetails)

# --- locations ------------------------------------------------------------------------------------

connector_to_model = _V.reader(
    w.Connector,
    m.Connector,
    "``voltage``/``amperage`` -> ``max_voltage``/``max_amperage``; ``tariff_id`` -> ``tariff_ids``.",
)
connector_from_model = _V.writer(
    m.Connector,
    w.Connector,
    "Only the first of ``tariff_ids`` fits ``tariff_id``; raises NotRepresentable for a standard or\n"
    "power type 2.1.1 cannot name.",
)
evse_to_model = _V.reader(w.EVSE, m.EVSE)
evse_from_model = _V.writer(
    m.EVSE, w.EVSE, "Connectors 2.1.1 cannot name are left out; raises NotRepresentable if none is left."
)


def location_to_model(loc: w.Location, *, country_code: str, party_id: str) -> m.Location:
    """The owner (``country_code``/``party_id``) is the CPO the Location came from.

    ``type`` becomes ``parking_type`` (``UNKNOWN`` -> ``None``); ``publish`` is true.
    """
    return _read_location(loc, CiString(country_code), CiString(party_id))


location_from_model = _V.writer(
    m.Location,
    w.Location,
    "``parking_type`` -> ``type`` (``None`` -> UNKNOWN, ALONG_MOTORWAY/ON_DRIVEWAY -> OTHER); a\n"
    'missing ``postal_code`` is written as ``""`` (required in 2.1.1). EVSEs without a connector 2.1.1\n'
    "can name are left out. Owner, publish, state and 2.3.0 data are not written.",
)

# --- tariffs --------------------------------------------------------------------------------------


def tariff_to_model(t: w.Tariff, *, country_code: str, party_id: str) -> m.Tariff:
    """2.1.1 prices exclude VAT: ``tax_included = NO``. The owner is the CPO the Tariff came from."""
    return _read_tariff(t, CiString(country_code), CiString(party_id))


tariff_from_model = _V.writer(
    m.Tariff,
    w.Tariff,
    "Elements restricted to reservations are left out (2.1.1 does not price reservations); VAT,\n"
    "type, min/max price and validity dates are not written. Raises NotRepresentable for prices that\n"
    "include taxes, current restrictions, or when no element is left.",
)

# --- sessions and CDRs ----------------------------------------------------------------------------


def _first_evse_connector(loc: m.Location) -> tuple[m.EVSE | None, m.Connector | None]:
    evse = loc.evses[0] if loc.evses else None
    connector = evse.connectors[0] if evse is not None else None
    return evse, connector


def _embedded_location(
    own: m.Location | None,
    given: m.Location | None,
    evse_uid: str | None,
    connector_id: str | None,
    path: str,
) -> w.Location:
    """The Location a 2.1.1 Session/CDR embeds: its own snapshot as it was, else the given Location
    reduced to the session's EVSE and connector."""
    if own is not None:
        return location_from_model(own)
    if given is None:
        raise _missing(path, "the embedded Location is unknown: pass the stored Location as `location`")
    evse = given.evse(evse_uid) if evse_uid is not None else None
    if evse is None:
        raise _missing(path, f"the Location has no EVSE {evse_uid!s}")
    connectors = evse.connectors
    if connector_id is not None:
        connectors = tuple(c for c in evse.connectors if c.id == connector_id)
        if not connectors:
            raise _missing(path, f"EVSE {evse_uid!s} has no connector {connector_id!s}")
    reduced = msgspec.structs.replace(given, evses=(msgspec.structs.replace(evse, connectors=connectors),))
    return location_from_model(reduced)


def session_to_model(s: w.Session, *, country_code: str, party_id: str) -> m.Session:
    """The owner is the CPO the Session came from. ``auth_id`` is kept as ``cdr_token.contract_id``;
    the embedded Location is kept as ``location`` and gives ``location_id`` and, from its first EVSE
    and that EVSE's first connector, ``evse_uid`` and ``connector_id``."""
    location = location_to_model(s.location, country_code=country_code, party_id=party_id)
    evse, connector = _first_evse_connector(location)
    return _read_session(
        s,
        location.country_code,
        location.party_id,
        location,
        location.id,
        None if evse is None else evse.uid,
        None if connector is None else connector.id,
    )


def session_from_model(s: m.Session, *, location: m.Location | None = None) -> w.Session:
    """Embeds ``s.location`` when the Session came from 2.1.1, else ``location`` (the stored Location,
    reduced to the session's EVSE/connector); raises NotRepresentable when neither is available."""
    return _write_session(s, location)


def _cdr_location_from(loc: m.Location) -> m.CdrLocation:
    evse, connector = _first_evse_connector(loc)
    return m.CdrLocation(
        id=loc.id,
        address=loc.address,
        city=loc.city,
        country=loc.country,
        coordinates=loc.coordinates,
        name=loc.name,
        postal_code=loc.postal_code,
        state=loc.state,
        evse_uid=None if evse is None else evse.uid,
        evse_id=None if evse is None else evse.evse_id,
        connector_id=None if connector is None else connector.id,
        connector_standard=None if connector is None else connector.standard,
        connector_format=None if connector is None else connector.format,
        connector_power_type=None if connector is None else connector.power_type,
    )


def cdr_to_model(c: w.CDR, *, country_code: str, party_id: str) -> m.CDR:
    """The owner is the CPO the CDR came from (also taken as the owner of its embedded Location and
    Tariffs). ``stop_date_time`` -> ``end_date_time``, ``auth_id`` -> ``cdr_token.contract_id``; the
    embedded Location is kept as ``location`` and summarised as ``cdr_location``."""
    location = location_to_model(c.location, country_code=country_code, party_id=party_id)
    return _read_cdr(c, location.country_code, location.party_id, location, _cdr_location_from(location))


def cdr_from_model(c: m.CDR, *, location: m.Location | None = None) -> w.CDR:
    """Embeds ``c.location`` (2.1.1 origin) or ``location`` reduced to the CDR's EVSE/connector.

    Credit CDRs raise NotRepresentable (2.1.1 has no credit mechanism), as does a CDR without any
    charging period 2.1.1 can carry. Cost breakdowns, taxes, session id, signed data and the other
    2.2+ fields are not written.
    """
    return _write_cdr(c, location)


# --- tokens ---------------------------------------------------------------------------------------


def token_to_model(t: w.Token, *, country_code: str, party_id: str) -> m.Token:
    """The owner is the eMSP the Token belongs to. ``auth_id`` -> ``contract_id``."""
    return _read_token(t, CiString(country_code), CiString(party_id))


token_from_model = _V.writer(
    m.Token,
    w.Token,
    "Token types other than OTHER/RFID become OTHER; group_id, default_profile_type and\n"
    "energy_contract are not written.",
)
location_references_to_model = _V.reader(w.LocationReferences, m.LocationReferences)
location_references_from_model = _V.writer(m.LocationReferences, w.LocationReferences)
authorization_info_to_model = _V.reader(w.AuthorizationInfo, m.AuthorizationInfo)
authorization_info_from_model = _V.writer(
    m.AuthorizationInfo,
    w.AuthorizationInfo,
    "``token`` and ``authorization_reference`` (2.2+) are not written.",
)

# --- credentials ----------------------------------------------------------------------------------


def credentials_to_model(c: w.Credentials, *, role: m.Role | None = None) -> m.Credentials:
    """One CredentialsRole; its ``role`` is ``role`` (2.1.1 does not say it; ``None`` by default)."""
    return m.Credentials(
        token=c.token,
        url=c.url,
        roles=(
            m.CredentialsRole(
                business_details=_business_to_model(c.business_details),
                party_id=CiString(c.party_id),
                country_code=CiString(c.country_code),
                role=role,
            ),
        ),
    )


def credentials_from_model(c: m.Credentials) -> w.Credentials:
    """The first role gives business_details/party_id/country_code; further roles and
    ``hub_party_id`` are not written."""
    if not c.roles:
        raise _missing("Credentials.party_id", "no role to take the party from")
    first = c.roles[0]
    return w.Credentials(
        token=c.token,
        url=c.url,
        business_details=_business_from_model(first.business_details),
        party_id=plain(first.party_id),
        country_code=plain(first.country_code),
    )


# --- commands -------------------------------------------------------------------------------------

command_response_to_model = _V.reader(
    w.CommandResponse,
    m.CommandResponse,
    "The synchronous answer to a command (no ``timeout``/``message`` in 2.1.1).",
)
command_response_from_model = _V.writer(m.CommandResponse, w.CommandResponse)
command_result_to_model = _V.reader(
    w.CommandResponse,
    m.CommandResult,
    "The asynchronous result: a CommandResponse in 2.1.1, read as a canonical CommandResult.",
)
command_result_from_model = _V.writer(
    m.CommandResult,
    w.CommandResponse,
    "Result types 2.1.1 lacks (EVSE_OCCUPIED, FAILED, ...) are written as REJECTED.",
)


def reserve_now_to_model(r: w.ReserveNow, *, country_code: str, party_id: str) -> m.ReserveNow:
    """``country_code``/``party_id``: the eMSP that owns the token. ``reservation_id`` 5 -> ``"5"``."""
    return _read_reserve_now(r, country_code, party_id)


reserve_now_from_model = _V.writer(
    m.ReserveNow,
    w.ReserveNow,
    "Raises NotRepresentable when ``reservation_id`` is not an integer in canonical decimal form.",
)


def start_session_to_model(s: w.StartSession, *, country_code: str, party_id: str) -> m.StartSession:
    """``country_code``/``party_id``: the eMSP that owns the token."""
    return _read_start_session(s, country_code, party_id)


start_session_from_model = _V.writer(
    m.StartSession, w.StartSession, "``connector_id`` and ``authorization_reference`` (2.2+) are not written."
)
stop_session_to_model = _V.reader(w.StopSession, m.StopSession)
stop_session_from_model = _V.writer(m.StopSession, w.StopSession)
unlock_connector_to_model = _V.reader(w.UnlockConnector, m.UnlockConnector)
unlock_connector_from_model = _V.writer(m.UnlockConnector, w.UnlockConnector)
