"""The OCPI response envelope: ``data``, ``status_code``, ``status_message``, ``timestamp``.

Every OCPI response body is one envelope, in all three versions. This module builds the envelopes we
answer with (success, or error from any :class:`~evroam.core.errors.EvroamError`) and decodes the
envelopes partners answer us with.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

from evroam.core.clock import Clock
from evroam.core.codec import convert, decode
from evroam.core.errors import EvroamError, InvalidJson, PartnerError, ValidationFailed
from evroam.core.status import StatusCode
from evroam.core.types import DateTime
from evroam.ocpi.base import WireModel

__all__ = [
    "Envelope",
    "decode_envelope",
    "error_envelope",
    "error_message",
    "is_success",
    "require_data",
    "success_envelope",
]

T = TypeVar("T")


class Envelope(WireModel, Generic[T], kw_only=True):
    """One OCPI response body.

    ``data`` is ``None`` (and left out of the JSON) when there is nothing to return: error answers,
    and answers the spec gives no data for.
    """

    data: T | None = None
    status_code: int
    status_message: str | None = None
    timestamp: DateTime


def is_success(status_code: int) -> bool:
    """True for the 1xxx family (1000 and the custom 1900-1999 codes)."""
    return 1000 <= status_code <= 1999


def success_envelope(
    data: T | None,
    clock: Clock,
    *,
    status_code: int = StatusCode.SUCCESS,
    status_message: str | None = None,
) -> Envelope[T]:
    """A success envelope stamped with ``clock.now()``; ``status_code`` may be a custom 19xx code."""
    if not is_success(status_code):
        raise ValueError(f"{status_code} is not an OCPI success code (1000-1999)")
    return Envelope(
        data=data, status_code=int(status_code), status_message=status_message, timestamp=clock.now()
    )


def error_message(error: EvroamError) -> str:
    """The ``status_message`` for an error; for :class:`ValidationFailed` it names every violation."""
    if isinstance(error, ValidationFailed) and error.violations:
        listed = "; ".join(str(v) for v in error.violations)
        if error.omitted:
            listed += f"; {error.omitted_note}"
        if error.message == listed:
            return listed
        return f"{error.message}: {listed}"
    return error.message


def error_envelope(error: EvroamError, clock: Clock) -> Envelope[Any]:
    """The envelope answering ``error``: its OCPI status, its message, no ``data``.

    The HTTP status to send it with is ``error.http_status``.
    """
    return Envelope(
        data=None,
        status_code=int(error.ocpi_status),
        status_message=error_message(error),
        timestamp=clock.now(),
    )


class _ReceivedEnvelope(msgspec.Struct, kw_only=True):
    # ``data`` is kept as raw JSON: it is only decoded (into the caller's type) when the status is a success.
    data: msgspec.Raw = msgspec.Raw()  # empty when absent
    status_code: int
    status_message: str | None = None
    timestamp: DateTime


def decode_envelope(
    body: bytes | str, data_type: Any, *, http_status: int = 200, url: str = ""
) -> Envelope[Any]:
    """Read a partner's envelope and its ``data`` as ``data_type``.

    * ``data`` absent or ``null`` gives ``Envelope.data is None`` (whatever ``data_type`` is);
    * a body that is not an envelope, a non-1xxx ``status_code``, or ``data`` that does not fit
      ``data_type`` raise :class:`~evroam.core.errors.PartnerError` carrying ``http_status`` and the
      partner's OCPI code (when it sent one).
    """
    try:
        received: _ReceivedEnvelope = decode(body, _ReceivedEnvelope)
    except (InvalidJson, ValidationFailed) as exc:
        raise PartnerError(http_status, None, f"not an OCPI response envelope: {exc.message}", url) from exc
    message = received.status_message or ""
    if not is_success(received.status_code):
        raise PartnerError(http_status, received.status_code, message or "no status_message", url)
    raw = bytes(received.data)
    data: Any = None
    if raw.strip() not in (b"", b"null"):
        try:
            data = decode(raw, data_type)
        except ValidationFailed as exc:
            raise PartnerError(
                http_status, received.status_code, f"data does not fit the expected model: {exc.message}", url
            ) from exc
    return Envelope(
        data=data,
        status_code=received.status_code,
        status_message=received.status_message,
        timestamp=received.timestamp,
    )


def require_data(envelope: Envelope[T], data_type: Any, *, http_status: int = 200, url: str = "") -> T:
    """``envelope.data``, or — when the partner sent none — ``null`` read as ``data_type``.

    ``data_type`` that admits ``None`` (``X | None``, ``Any``) turns absent data into ``None``; any other
    type makes absent data a :class:`~evroam.core.errors.PartnerError`.
    """
    if envelope.data is not None:
        return envelope.data
    try:
        return convert(None, data_type)  # type: ignore[no-any-return]
    except ValidationFailed as exc:
        raise PartnerError(http_status, envelope.status_code, "the answer carries no data", url) from exc
