"""The credentials handshake (OCPI registration) as a service, independent of HTTP.

See ``docs/registration.md``. The HTTP side is generated in :mod:`evroam.http.server`; the outbound
calls go through :class:`evroam.registration.api.HttpPartnerApi`.
"""

from evroam.registration.model import (
    Caller,
    IssuedToken,
    Partner,
    PartnerEndpoint,
    PartnerStatus,
    PartyRole,
    TokenUse,
)
from evroam.registration.ports import PartnerApi, PartnerRepository
from evroam.registration.redaction import RedactingFilter, redact, remember_secret
from evroam.registration.repository import StorePartnerRepository, decode_partner
from evroam.registration.service import Invitation, OwnPlatform, RegistrationError, RegistrationService

__all__ = [
    "Caller",
    "Invitation",
    "IssuedToken",
    "OwnPlatform",
    "Partner",
    "PartnerApi",
    "PartnerEndpoint",
    "PartnerRepository",
    "PartnerStatus",
    "PartyRole",
    "RedactingFilter",
    "RegistrationError",
    "RegistrationService",
    "StorePartnerRepository",
    "TokenUse",
    "decode_partner",
    "redact",
    "remember_secret",
]
