"""The tokens module: the eMSP side (our own tokens, the Sender interface with real-time authorization)
and the CPO side (the Receiver interface for the tokens eMSPs push, and the authorization decision).
Same layout as :mod:`evroam.modules.locations`: ports, service, repository, validation, wire,
bindings, push, cli; plus :mod:`.rules` (the pure decision rules) and :mod:`.decision` (the CPO's
decision service). See ``docs/tokens.md``.
"""

from evroam.modules.tokens.convert import TokenConverters, token_converters
from evroam.modules.tokens.decision import (
    AuthorizationDecision,
    AuthorizationService,
    OcpiRealTime,
    Outcome,
    issuer_from_uid,
)
from evroam.modules.tokens.kit import TOKENS, TokenLookups
from evroam.modules.tokens.ports import (
    AuthorizationPolicy,
    ImportedToken,
    PartnerLookup,
    RealTimeAuthorizer,
    TokenAdminPort,
    TokenImportReport,
    TokenPage,
    TokenReceiverPort,
    TokenSenderPort,
)
from evroam.modules.tokens.repository import (
    DEFAULT_TYPE,
    TOKEN_KIND,
    TokenDocument,
    TokenRecord,
    load_token_record,
    save_token,
    token_key,
    token_object_id,
)
from evroam.modules.tokens.rules import (
    AuthorizationRules,
    LocationRule,
    Route,
    Verdict,
    judge,
    route_for,
)
from evroam.modules.tokens.service import StoredRules, TokenAdmin, TokenReceiver, TokenSender
from evroam.modules.tokens.validation import parse_tokens

__all__ = [
    "DEFAULT_TYPE",
    "TOKENS",
    "TOKEN_KIND",
    "AuthorizationDecision",
    "AuthorizationPolicy",
    "AuthorizationRules",
    "AuthorizationService",
    "ImportedToken",
    "LocationRule",
    "OcpiRealTime",
    "Outcome",
    "PartnerLookup",
    "RealTimeAuthorizer",
    "Route",
    "StoredRules",
    "TokenAdmin",
    "TokenAdminPort",
    "TokenConverters",
    "TokenDocument",
    "TokenImportReport",
    "TokenLookups",
    "TokenPage",
    "TokenReceiver",
    "TokenReceiverPort",
    "TokenRecord",
    "TokenSender",
    "TokenSenderPort",
    "Verdict",
    "issuer_from_uid",
    "judge",
    "load_token_record",
    "parse_tokens",
    "route_for",
    "save_token",
    "token_converters",
    "token_key",
    "token_object_id",
]
