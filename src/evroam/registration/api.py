"""The registration service's outbound side over :class:`~evroam.http.client.OcpiClient`."""

from __future__ import annotations

from typing import Any

from evroam.core.clock import Clock, IdGenerator
from evroam.core.errors import PartnerError
from evroam.http.client import OcpiClient
from evroam.model import Credentials
from evroam.ocpi.registry import spec_for
from evroam.ocpi.table import VersionSpec
from evroam.ocpi.transport import TokenEncoding
from evroam.registration.model import PartnerEndpoint
from evroam.registration.ports import OfferedVersion
from evroam.registration.wire import (
    credentials_from_wire,
    credentials_to_wire,
    endpoints_from_wire,
    versions_from_wire,
)

__all__ = ["HttpPartnerApi"]


class HttpPartnerApi:
    """:class:`~evroam.registration.ports.PartnerApi` over HTTP.

    ``http`` is the node's one ``httpx.AsyncClient`` (typed ``Any`` here so that only
    :mod:`evroam.http.client` imports httpx). The versions list is read before a version is agreed; it
    is requested the way ``default_version`` prescribes (tracing headers, token encoding).
    """

    def __init__(self, http: Any, *, clock: Clock, ids: IdGenerator, default_version: str) -> None:
        self._http = http
        self._clock = clock
        self._ids = ids
        self._default = spec_for(default_version)

    def _client(self, spec: VersionSpec, token: str, encoding: str) -> OcpiClient:
        return OcpiClient(
            self._http,
            spec=spec,
            token=token,
            token_encoding=TokenEncoding(encoding),
            us=None,
            them=None,
            ids=self._ids,
            clock=self._clock,
        )

    async def versions(self, url: str, token: str, *, encoding: str) -> list[OfferedVersion]:
        data = await self._client(self._default, token, encoding).get(url, Any, module="versions")
        if data is None:
            raise PartnerError(200, None, "the versions answer carries no data", url)
        return versions_from_wire(data, url)

    async def endpoints(self, url: str, token: str, *, version: str, encoding: str) -> list[PartnerEndpoint]:
        spec = spec_for(version)
        data = await self._client(spec, token, encoding).get(url, Any, module="versions")
        if data is None:
            raise PartnerError(200, None, "the version details answer carries no data", url)
        return endpoints_from_wire(spec, data, url)

    async def credentials(
        self,
        method: str,
        url: str,
        token: str,
        *,
        version: str,
        encoding: str,
        ours: Credentials | None = None,
    ) -> Credentials | None:
        spec = spec_for(version)
        client = self._client(spec, token, encoding)
        model = spec.models["Credentials"]
        if method == "DELETE":
            await client.delete(url, module="credentials")
            return None
        if ours is None:
            raise ValueError(f"{method} of credentials needs our credentials")
        body = credentials_to_wire(spec, ours)
        if method == "POST":
            answer = await client.post(url, body, model, module="credentials")
        elif method == "PUT":
            answer = await client.put(url, body, model, module="credentials")
        else:
            raise ValueError(f"unsupported credentials method {method}")
        return credentials_from_wire(spec, answer)
