"""OCPI transport, shared by the server and the client side and by every version.

* :mod:`.envelope` — the response envelope, built from data or from any ``EvroamError``, and decoded
  from partners' answers;
* :mod:`.auth` — the ``Authorization: Token ...`` header (Base64 in 2.2+, raw in 2.1.1, both accepted);
* :mod:`.headers` — ``X-Request-ID`` / ``X-Correlation-ID`` and the ``OCPI-from/to-*`` routing headers;
* :mod:`.pagination` — GET-list query parameters, ``X-Total-Count`` / ``X-Limit`` / ``Link`` headers.

Pure functions and Structs: no HTTP framework or client is imported here. Functions whose behaviour
differs between versions take the version table (``VersionSpec``) or a flag derived from it.
"""

from evroam.ocpi.transport.auth import TokenEncoding, candidate_tokens, encode_authorization
from evroam.ocpi.transport.envelope import (
    Envelope,
    decode_envelope,
    error_envelope,
    error_message,
    is_success,
    require_data,
    success_envelope,
)
from evroam.ocpi.transport.headers import (
    CONFIGURATION_MODULES,
    CORRELATION_ID,
    FROM_COUNTRY_CODE,
    FROM_PARTY_ID,
    REQUEST_ID,
    TO_COUNTRY_CODE,
    TO_PARTY_ID,
    MessageHeaders,
    PartyRef,
    RequestIds,
    Routing,
    header_value,
    incoming_request_ids,
    outgoing_request_ids,
    parse_routing,
    read_request_headers,
    request_id_headers,
    response_headers,
    routing_headers,
    uses_request_ids,
    uses_routing,
)
from evroam.ocpi.transport.pagination import (
    LINK,
    X_LIMIT,
    X_TOTAL_COUNT,
    LinkValue,
    PageRequest,
    QueryParams,
    format_link,
    next_link,
    page_headers,
    parse_link_header,
    parse_page_request,
    parse_total_count,
)

__all__ = [
    "CONFIGURATION_MODULES",
    "CORRELATION_ID",
    "FROM_COUNTRY_CODE",
    "FROM_PARTY_ID",
    "LINK",
    "REQUEST_ID",
    "TO_COUNTRY_CODE",
    "TO_PARTY_ID",
    "X_LIMIT",
    "X_TOTAL_COUNT",
    "Envelope",
    "LinkValue",
    "MessageHeaders",
    "PageRequest",
    "PartyRef",
    "QueryParams",
    "RequestIds",
    "Routing",
    "TokenEncoding",
    "candidate_tokens",
    "decode_envelope",
    "encode_authorization",
    "error_envelope",
    "error_message",
    "format_link",
    "header_value",
    "incoming_request_ids",
    "is_success",
    "next_link",
    "outgoing_request_ids",
    "page_headers",
    "parse_link_header",
    "parse_page_request",
    "parse_routing",
    "parse_total_count",
    "read_request_headers",
    "request_id_headers",
    "require_data",
    "response_headers",
    "routing_headers",
    "success_envelope",
    "uses_request_ids",
    "uses_routing",
]
