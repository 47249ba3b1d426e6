"""The credentials object (OCPI 2.1.1): one party, its business details and its versions URL.

2.1.1 has no roles list: a platform registers exactly one ``country_code`` + ``party_id``.
"""

from __future__ import annotations

from evroam.core.types import String2, String3, String64, Url
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_1_1.common import BusinessDetails

__all__ = ["Credentials"]


class Credentials(WireModel, kw_only=True):
    token: String64  # the token the other party must use to call us (sent raw in 2.1.1)
    url: Url  # our versions endpoint
    business_details: BusinessDetails
    party_id: String3
    country_code: String2
