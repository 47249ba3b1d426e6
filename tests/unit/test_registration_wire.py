"""Registration's credentials conversions go through each version's converters to ``model.Credentials``."""

from __future__ import annotations

from typing import Any

from evroam.core.codec import convert, encode
from evroam.core.types import CiString
from evroam.model import BusinessDetails, Credentials, CredentialsRole, Role
from evroam.ocpi.registry import spec_for
from evroam.registration.wire import credentials_from_wire, credentials_to_wire


def wire(version: str, data: dict[str, Any]) -> Any:
    return convert(data, spec_for(version).models["Credentials"])


def role(kind: Role, country: str, party: str, name: str, website: str | None = None) -> CredentialsRole:
    return CredentialsRole(
        business_details=BusinessDetails(name=name, website=website),
        party_id=CiString(party),
        country_code=CiString(country),
        role=kind,
    )


OURS = Credentials(
    token="our-token",
    url="http://cpo.test/ocpi/versions",
    roles=(
        role(Role.CPO, "NL", "CPO", "Charge B.V.", "https://charge.example"),
        role(Role.EMSP, "NL", "EMP", "Drive"),
    ),
)


def test_a_2_1_1_partner_is_recorded_with_role_other() -> None:
    theirs = wire(
        "2.1.1",
        {
            "token": "t",
            "url": "http://old.test/ocpi/versions",
            "business_details": {"name": "Old NV", "website": "https://old.example"},
            "party_id": "OLD",
            "country_code": "BE",
        },
    )
    read = credentials_from_wire(spec_for("2.1.1"), theirs)
    assert (read.token, read.url, read.hub_party_id) == ("t", "http://old.test/ocpi/versions", None)
    assert read.roles == (role(Role.OTHER, "BE", "OLD", "Old NV", "https://old.example"),)


def test_2_2_1_roles_are_read_as_sent() -> None:
    theirs = wire(
        "2.2.1",
        {
            "token": "t",
            "url": "http://drive.test/ocpi/versions",
            "roles": [
                {
                    "role": "EMSP",
                    "party_id": "DRV",
                    "country_code": "DE",
                    "business_details": {"name": "Drive"},
                },
                {"role": "HUB", "party_id": "HUB", "country_code": "NL", "business_details": {"name": "Hub"}},
            ],
        },
    )
    read = credentials_from_wire(spec_for("2.2.1"), theirs)
    assert read.roles == (role(Role.EMSP, "DE", "DRV", "Drive"), role(Role.HUB, "NL", "HUB", "Hub"))
    assert [str(r) for r in read.roles] == ["DE*DRV (EMSP)", "NL*HUB (HUB)"]


def test_our_credentials_in_each_version() -> None:
    assert encode(credentials_to_wire(spec_for("2.2.1"), OURS)) == (
        b'{"token":"our-token","url":"http://cpo.test/ocpi/versions","roles":['
        b'{"role":"CPO","business_details":{"name":"Charge B.V.","website":"https://charge.example"},'
        b'"party_id":"CPO","country_code":"NL"},'
        b'{"role":"EMSP","business_details":{"name":"Drive"},"party_id":"EMP","country_code":"NL"}]}'
    )
    # 2.1.1 carries one party: the first role
    assert encode(credentials_to_wire(spec_for("2.1.1"), OURS)) == (
        b'{"token":"our-token","url":"http://cpo.test/ocpi/versions",'
        b'"business_details":{"name":"Charge B.V.","website":"https://charge.example"},'
        b'"party_id":"CPO","country_code":"NL"}'
    )
    # 2.3.0 carries a HUB role as hub_party_id
    hub = Credentials(token="t", url="u", roles=(role(Role.HUB, "NL", "HUB", "Hub"), *OURS.roles))
    newest = credentials_to_wire(spec_for("2.3.0"), hub)
    assert newest.hub_party_id == "NLHUB"
    assert [r.role for r in newest.roles] == ["CPO", "EMSP"]


def test_credentials_repr_hides_the_token() -> None:
    assert "our-token" not in repr(OURS)
    assert "http://cpo.test/ocpi/versions" in repr(OURS)
