"""OICP 2.3 status codes (``StatusCode.Code``, a 3-character string) and their defined texts."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["DESCRIPTIONS", "Code"]


class Code(StrEnum):
    """The codes of ``DIGEST.md`` §3.3; the value is what goes on the wire (leading zeros kept)."""

    SUCCESS = "000"
    HUBJECT_SYSTEM_ERROR = "001"
    HUBJECT_DATABASE_ERROR = "002"
    DATA_TRANSACTION_ERROR = "009"
    UNAUTHORIZED_ACCESS = "017"
    INCONSISTENT_EVSE_ID = "018"
    INCONSISTENT_EVCO_ID = "019"
    SYSTEM_ERROR = "021"
    DATA_ERROR = "022"
    QR_INVALID_CREDENTIALS = "101"
    RFID_INVALID_UID = "102"
    RFID_NOT_READABLE = "103"
    PLC_INVALID_EVCO_ID = "105"
    NO_POSITIVE_AUTHENTICATION = "106"
    QR_APP_TIMEOUT = "110"
    PLC_INVALID_UNDERLYING_EVCO_ID = "120"
    PLC_INVALID_CERTIFICATE = "121"
    PLC_TIMEOUT = "122"
    EVCO_ID_LOCKED = "200"
    NO_VALID_CONTRACT = "210"
    PARTNER_NOT_FOUND = "300"
    PARTNER_DID_NOT_RESPOND = "310"
    SERVICE_NOT_AVAILABLE = "320"
    SESSION_INVALID = "400"
    EVSE_COMMUNICATION_FAILED = "501"
    NO_EV_CONNECTED = "510"
    EVSE_ALREADY_RESERVED = "601"
    EVSE_IN_USE = "602"
    UNKNOWN_EVSE_ID = "603"
    EVSE_NOT_HUBJECT_COMPATIBLE = "604"
    EVSE_OUT_OF_SERVICE = "700"


#: The defined ``Description`` of each code (free text belongs in ``AdditionalInfo``).
DESCRIPTIONS: dict[Code, str] = {
    Code.SUCCESS: "Success",
    Code.HUBJECT_SYSTEM_ERROR: "Hubject system error",
    Code.HUBJECT_DATABASE_ERROR: "Hubject database error",
    Code.DATA_TRANSACTION_ERROR: "Data transaction error",
    Code.UNAUTHORIZED_ACCESS: "Unauthorized Access",
    Code.INCONSISTENT_EVSE_ID: "Inconsistent EvseID",
    Code.INCONSISTENT_EVCO_ID: "Inconsistent EvcoID",
    Code.SYSTEM_ERROR: "System error",
    Code.DATA_ERROR: "Data error",
    Code.QR_INVALID_CREDENTIALS: "QR Code Authentication failed - Invalid Credentials",
    Code.RFID_INVALID_UID: "RFID Authentication failed - invalid UID",
    Code.RFID_NOT_READABLE: "RFID Authentication failed - card not readable",
    Code.PLC_INVALID_EVCO_ID: "PLC Authentication failed - invalid EvcoID",
    Code.NO_POSITIVE_AUTHENTICATION: "No positive authentication response",
    Code.QR_APP_TIMEOUT: "QR Code App Authentication failed - time out error",
    Code.PLC_INVALID_UNDERLYING_EVCO_ID: (
        "PLC (ISO/ IEC 15118) Authentication failed - invalid underlying EvcoID"
    ),
    Code.PLC_INVALID_CERTIFICATE: "PLC (ISO/ IEC 15118) Authentication failed - invalid certificate",
    Code.PLC_TIMEOUT: "PLC (ISO/ IEC 15118) Authentication failed - time out error",
    Code.EVCO_ID_LOCKED: "EvcoID locked",
    Code.NO_VALID_CONTRACT: "No valid contract",
    Code.PARTNER_NOT_FOUND: "Partner not found",
    Code.PARTNER_DID_NOT_RESPOND: "Partner did not respond",
    Code.SERVICE_NOT_AVAILABLE: "Service not available",
    Code.SESSION_INVALID: "Session is invalid",
    Code.EVSE_COMMUNICATION_FAILED: "Communication to EVSE failed",
    Code.NO_EV_CONNECTED: "No EV connected to EVSE",
    Code.EVSE_ALREADY_RESERVED: "EVSE already reserved",
    Code.EVSE_IN_USE: "EVSE already in use/ wrong token",
    Code.UNKNOWN_EVSE_ID: "Unknown EVSE ID",
    Code.EVSE_NOT_HUBJECT_COMPATIBLE: "EVSE ID is not Hubject compatible",
    Code.EVSE_OUT_OF_SERVICE: "EVSE out of service",
}
