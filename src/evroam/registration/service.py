"""The credentials handshake, both ways, as a plain service.

Receiving side (a partner registers with us):

1. :meth:`RegistrationService.invite` stores a fresh token A for a named partner;
2. the partner POSTs its credentials (token B) authenticated with token A:
   :meth:`~RegistrationService.register_incoming` fetches the partner's versions and version details
   *with token B*, checks that the version of the URL the partner used is one it offers (3002 otherwise)
   and that it has the endpoints we require (3003), stores the partner, issues token C, retires token A
   and answers with our credentials carrying token C.

Initiating side (we register with a partner that gave us its versions URL and token A):
:meth:`RegistrationService.register` fetches versions and details with token A, picks the highest
mutual version, issues token B, POSTs our credentials and stores the partner's token C from the answer.

Afterwards: :meth:`~RegistrationService.update_incoming` (the partner PUTs: new token both ways),
:meth:`~RegistrationService.unregister_incoming` (the partner DELETEs), :meth:`~RegistrationService.rotate`
(we PUT) and :meth:`~RegistrationService.unregister` (we DELETE).

Every failure leaves the stored state as it was before the step (token A stays valid, tokens issued for
a step that failed are revoked). Tokens are compared by digest (:func:`hmac.compare_digest`), never logged.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from evroam.core.clock import Clock, IdGenerator
from evroam.core.errors import (
    ClientApiUnreachable,
    MethodNotAllowed,
    NoMatchingEndpoints,
    NotFound,
    PartnerError,
    PartyTaken,
    RegistrationError,
    Unauthorized,
    UnsupportedVersion,
    ValidationFailed,
)
from evroam.core.status import StatusCode
from evroam.core.types import CiString
from evroam.model import BusinessDetails, Credentials, CredentialsRole, Role
from evroam.ocpi.registry import spec_for
from evroam.ocpi.transport import TokenEncoding
from evroam.registration.model import (
    Caller,
    IssuedToken,
    Partner,
    PartnerEndpoint,
    PartnerStatus,
    TokenUse,
    token_digest,
)
from evroam.registration.ports import OfferedVersion, PartnerApi, PartnerRepository
from evroam.registration.redaction import remember_secret

__all__ = ["Invitation", "OwnPlatform", "RegistrationError", "RegistrationService", "version_key"]

log = logging.getLogger(__name__)

CREDENTIALS = "credentials"


def version_key(version: str) -> tuple[int, ...]:
    """``"2.2.1"`` → ``(2, 2, 1)``; a version that is not dotted numbers sorts below every real one."""
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return (-1,)


@dataclass(frozen=True, slots=True)
class OwnPlatform:
    """What the service needs to know about our own node."""

    versions_url: str
    roles: tuple[CredentialsRole, ...]
    versions: tuple[str, ...]
    """The OCPI versions we serve."""
    required_modules: tuple[str, ...] = (CREDENTIALS,)
    """Modules a partner must expose in its version details for a registration to succeed."""

    def credentials(self, token: str) -> Credentials:
        return Credentials(token=token, url=self.versions_url, roles=self.roles)


@dataclass(frozen=True, slots=True)
class Invitation:
    """What to hand to a partner so that it can register with us."""

    partner: Partner
    versions_url: str
    token: str

    def __repr__(self) -> str:
        return f"Invitation(partner={self.partner.name!r}, versions_url={self.versions_url!r})"


def _mutual(offered: Sequence[OfferedVersion], ours: Sequence[str]) -> OfferedVersion | None:
    common = [entry for entry in offered if entry[0] in ours]
    return max(common, key=lambda entry: version_key(entry[0]), default=None)


def _listed(versions: Sequence[str]) -> str:
    return ", ".join(versions) if versions else "none"


def same_party(a: CredentialsRole, b: CredentialsRole) -> bool:
    """Whether two roles claim the same party in the same role (``country_code`` and ``party_id``
    compared case-insensitively; a role without one, as 2.1.1 credentials have, matches every role)."""
    return (
        a.country_code.casefold() == b.country_code.casefold()
        and a.party_id.casefold() == b.party_id.casefold()
        and (a.role is None or b.role is None or a.role == b.role)
    )


def _hub_role(hub_party_id: str, name: str) -> CredentialsRole | None:
    """The party of an OCPI 2.3.0 ``hub_party_id`` (country code + party id, ``NLHUB``) as a role HUB,
    the way a 2.2.1 hub lists itself; ``None`` when it is not five characters."""
    text = str(hub_party_id)
    if len(text) != 5:
        return None
    return CredentialsRole(
        business_details=BusinessDetails(name=name),
        country_code=CiString(text[:2].upper()),
        party_id=CiString(text[2:].upper()),
        role=Role.HUB,
    )


def _is_role_of(role: CredentialsRole, party: CredentialsRole) -> bool:
    """Whether ``role`` is a role of ``party``'s country code and party id (any role)."""
    return (role.country_code.casefold(), role.party_id.casefold()) == (
        party.country_code.casefold(),
        party.party_id.casefold(),
    )


class RegistrationService:
    def __init__(
        self,
        platform: OwnPlatform,
        repository: PartnerRepository,
        api: PartnerApi,
        clock: Clock,
        ids: IdGenerator,
    ) -> None:
        if not platform.versions:
            raise ValueError("a node must serve at least one OCPI version")
        self.platform = platform
        self._repo = repository
        self._api = api
        self._clock = clock
        self._ids = ids
        self._lock = asyncio.Lock()
        highest = max(platform.versions, key=version_key)
        self._default_encoding = TokenEncoding.for_spec(spec_for(highest)).value

    # -- looking partners up --------------------------------------------------------------------

    async def partners(self) -> list[Partner]:
        return await self._repo.list_partners()

    async def find(self, name: str) -> Partner | None:
        """The partner called ``name`` (case-insensitive), or ``None``."""
        wanted = name.casefold()
        for partner in await self._repo.list_partners():
            if partner.name.casefold() == wanted:
                return partner
        return None

    async def get(self, name: str) -> Partner:
        partner = await self.find(name)
        if partner is None:
            raise NotFound(f"no partner called {name!r} (see `evroam partners list`)")
        return partner

    async def authenticate(self, candidates: Sequence[str], *, registration: bool) -> Caller:
        """The caller behind one of the ``candidates`` (readings of its Authorization header).

        ``registration`` says whether the endpoint is one token A may use (versions, version details,
        credentials). A token A anywhere else, an unknown token, or a token of a partner that is not
        (or no longer) connected is refused with :class:`Unauthorized` (HTTP 401).
        """
        for token in candidates:
            digest = token_digest(token)
            found = await self._repo.lookup(digest)
            if found is None:
                continue
            issued, partner = found
            if not hmac.compare_digest(issued.digest, digest):
                continue
            if partner is None or digest not in partner.issued:
                continue
            if registration:
                allowed = (
                    issued.use is TokenUse.REGISTRATION and partner.status is PartnerStatus.INVITED
                ) or (
                    issued.use is TokenUse.PEER
                    and partner.status in (PartnerStatus.REGISTERING, PartnerStatus.REGISTERED)
                )
            else:
                allowed = issued.use is TokenUse.PEER and partner.status is PartnerStatus.REGISTERED
            if not allowed:
                break
            remember_secret(token)
            return Caller(partner=partner, use=issued.use, digest=digest, token=token)
        raise Unauthorized()

    # -- receiving side -------------------------------------------------------------------------

    async def invite(self, name: str) -> Invitation:
        """Issue token A for ``name``; an earlier, unused token A of the same partner stops working."""
        name = name.strip()
        if not name:
            raise ValidationFailed("a partner needs a name")
        async with self._lock:
            now = self._clock.now()
            existing = await self.find(name)
            if existing is not None and existing.status in (
                PartnerStatus.REGISTERED,
                PartnerStatus.REGISTERING,
            ):
                raise RegistrationError(
                    f"partner {existing.name!r} is {existing.status.value.lower()}: "
                    f"run `evroam partners unregister {existing.name}` first, or pick another name"
                )
            token = self._ids.new_token()
            remember_secret(token)
            digest = token_digest(token)
            if existing is None:
                partner = Partner(
                    id=self._ids.new_id(),
                    name=name,
                    status=PartnerStatus.INVITED,
                    initiated_by="them",
                    created=now,
                    updated=now,
                    issued=(digest,),
                )
            else:
                partner = Partner(
                    id=existing.id,
                    name=existing.name,
                    status=PartnerStatus.INVITED,
                    initiated_by="them",
                    created=existing.created,
                    updated=now,
                    issued=(digest,),
                )
            revoke = existing.issued if existing is not None else ()
            await self._repo.commit(
                save=[partner],
                issue=[
                    IssuedToken(
                        digest=digest, partner_id=partner.id, use=TokenUse.REGISTRATION, issued_at=now
                    )
                ],
                revoke=revoke,
            )
        log.info("invited partner %s: token A issued", partner.name)
        return Invitation(partner=partner, versions_url=self.platform.versions_url, token=token)

    async def credentials_for(self, caller: Caller, version: str | None = None) -> Credentials:
        """GET credentials: what the caller uses to reach us (the token it presented), in ``version``
        (the version of the endpoint called; the partner's agreed version by default)."""
        return await self._ours(
            caller.token, version or caller.partner.version or "", caller.partner.id, caller.partner.roles
        )

    # -- our credentials, their roles -------------------------------------------------------------

    async def _ours(
        self, token: str, version: str, partner_id: str | None, theirs: Sequence[CredentialsRole] = ()
    ) -> Credentials:
        """Our credentials as sent to one partner (``partner_id``, whose parties are ``theirs``).

        A hub serving OCPI 2.3.0 (which has no role HUB) names itself with ``hub_party_id`` (the 2.3.0
        writer turns its HUB role into it) and lists in ``roles`` the parties it reaches: every party of
        the other platforms registered with it, read at each call, so the list follows the platforms that
        join and leave. The partner's own parties are left out. While it reaches no party, it lists its
        own party with role OTHER (2.3.0 credentials carry at least one role). In 2.2.1 and 2.1.1 our
        credentials are our own parties only (a 2.2.1 hub reports itself, its parties go by HubClientInfo).
        """
        own = self.platform.credentials(token)
        hub = next((r for r in own.roles if r.role is Role.HUB), None)
        if hub is None or version_key(version) < (2, 3):
            return own
        excluded = list(theirs)
        reachable: list[CredentialsRole] = []
        for partner in await self._repo.list_partners():
            if partner.id == partner_id:
                excluded.extend(partner.roles)
                continue
            if partner.status is not PartnerStatus.REGISTERED:
                continue
            for role in partner.roles:
                if role.role is None or role.role is Role.HUB:
                    continue
                if any(same_party(role, held) and held.role == role.role for held in reachable):
                    continue
                reachable.append(role)
        reachable = [r for r in reachable if not any(same_party(r, mine) for mine in excluded)]
        if not reachable:
            reachable = [msgspec.structs.replace(hub, role=Role.OTHER)]
        return msgspec.structs.replace(own, roles=(*own.roles, *reachable))

    async def _their_roles(
        self, theirs: Credentials, partner_id: str
    ) -> tuple[tuple[CredentialsRole, ...], tuple[CredentialsRole, ...]]:
        """``(the roles to keep for the partner, the roles it claims as owner)`` from its credentials.

        Credentials with a ``hub_party_id`` (OCPI 2.3.0) come from a hub: the hub's own party is kept as
        a role HUB, as a 2.2.1 hub lists itself, and the other roles are the parties reachable through it,
        as the parties of a 2.2.1 hub's ClientInfo join its roles (:meth:`add_reachable`). The hub owns
        only its own party: reachable parties that are ours, or that another partner holds (a direct
        connection goes first), are left out rather than refused.
        """
        if theirs.hub_party_id is None or any(r.role is Role.HUB for r in theirs.roles):
            return theirs.roles, theirs.roles
        hub = _hub_role(theirs.hub_party_id, f"hub {str(theirs.hub_party_id).upper()}")
        if hub is None:
            return theirs.roles, theirs.roles
        itself = next((r for r in theirs.roles if _is_role_of(r, hub)), None)
        if itself is not None:  # named by its own listing (a hub that reaches no party yet)
            hub = msgspec.structs.replace(hub, business_details=itself.business_details)
        others = [
            p
            for p in await self._repo.list_partners()
            if p.id != partner_id and p.status in (PartnerStatus.REGISTERED, PartnerStatus.REGISTERING)
        ]
        reachable = tuple(
            role
            for role in theirs.roles
            if not _is_role_of(role, hub)
            and not any(same_party(role, own) for own in self.platform.roles)
            and not any(same_party(role, held) for p in others for held in p.roles)
        )
        return (hub, *reachable), (hub,)

    async def register_incoming(self, caller: Caller, version: str, theirs: Credentials) -> Credentials:
        """POST credentials from a partner holding token A; returns our credentials with token C."""
        if caller.use is not TokenUse.REGISTRATION:
            raise MethodNotAllowed(
                "already registered: use PUT to update the credentials or DELETE to unregister"
            )
        remember_secret(theirs.token)
        async with self._lock:
            partner = await self._repo.get_partner(caller.partner.id)
            if partner is None or caller.digest not in partner.issued:
                raise Unauthorized()
            roles, claimed = await self._their_roles(theirs, partner.id)
            await self._refuse_taken(claimed, partner.id)
            offered, endpoints = await self._callback(theirs, version)
            now = self._clock.now()
            token_c = self._ids.new_token()
            remember_secret(token_c)
            digest = token_digest(token_c)
            registered = msgspec.structs.replace(
                partner,
                status=PartnerStatus.REGISTERED,
                initiated_by="them",
                updated=now,
                version=version,
                versions_url=theirs.url,
                token=theirs.token,
                token_encoding=TokenEncoding.for_spec(spec_for(version)).value,
                roles=roles,
                endpoints=tuple(endpoints),
                offered_versions=tuple(v for v, _ in offered),
                issued=(digest,),
            )
            ours = await self._ours(token_c, version, partner.id, roles)
            await self._repo.commit(
                save=[registered],
                issue=[IssuedToken(digest=digest, partner_id=partner.id, use=TokenUse.PEER, issued_at=now)],
                revoke=partner.issued,
            )
        log.info(
            "partner %s registered with us (OCPI %s, roles %s)",
            registered.name,
            version,
            ", ".join(str(r) for r in registered.roles),
        )
        return ours

    async def update_incoming(self, caller: Caller, version: str, theirs: Credentials) -> Credentials:
        """PUT credentials from a registered partner: endpoints fetched again, a new token both ways."""
        if caller.use is not TokenUse.PEER or caller.partner.status is not PartnerStatus.REGISTERED:
            raise MethodNotAllowed("not registered: POST the credentials first")
        remember_secret(theirs.token)
        async with self._lock:
            partner = await self._repo.get_partner(caller.partner.id)
            if partner is None or partner.status is not PartnerStatus.REGISTERED:
                raise MethodNotAllowed("not registered: POST the credentials first")
            roles, claimed = await self._their_roles(theirs, partner.id)
            await self._refuse_taken(claimed, partner.id)
            offered, endpoints = await self._callback(theirs, version)
            now = self._clock.now()
            new_token = self._ids.new_token()
            remember_secret(new_token)
            digest = token_digest(new_token)
            updated = msgspec.structs.replace(
                partner,
                updated=now,
                version=version,
                versions_url=theirs.url,
                token=theirs.token,
                token_encoding=TokenEncoding.for_spec(spec_for(version)).value,
                roles=roles,
                endpoints=tuple(endpoints),
                offered_versions=tuple(v for v, _ in offered),
                issued=(digest,),
            )
            ours = await self._ours(new_token, version, partner.id, roles)
            await self._repo.commit(
                save=[updated],
                issue=[IssuedToken(digest=digest, partner_id=partner.id, use=TokenUse.PEER, issued_at=now)],
                revoke=partner.issued,
            )
        log.info("partner %s updated its credentials (OCPI %s); tokens renewed", updated.name, version)
        return ours

    async def unregister_incoming(self, caller: Caller) -> None:
        """DELETE credentials from a registered partner: every token between us stops working."""
        if caller.use is not TokenUse.PEER or caller.partner.status is not PartnerStatus.REGISTERED:
            raise MethodNotAllowed("not registered: there is nothing to delete")
        async with self._lock:
            partner = await self._repo.get_partner(caller.partner.id)
            if partner is None or partner.status is not PartnerStatus.REGISTERED:
                raise MethodNotAllowed("not registered: there is nothing to delete")
            await self._repo.commit(save=[self._ended(partner)], revoke=partner.issued)
        log.info("partner %s unregistered itself", partner.name)

    async def add_reachable(self, partner_id: str, roles: Sequence[CredentialsRole]) -> bool:
        """A hub told us (HubClientInfo) that these parties are reachable through it (partner
        ``partner_id``): they join the partner's roles, so that objects of those parties are accepted
        from the hub and requests for them go to the hub. Our own parties are left out. Whether the
        partner record changed."""
        async with self._lock:
            partner = await self._repo.get_partner(partner_id)
            if partner is None:
                return False
            added = [
                role
                for role in roles
                if not any(same_party(role, held) and held.role == role.role for held in partner.roles)
                and not any(same_party(role, own) for own in self.platform.roles)
            ]
            if not added:
                return False
            updated = msgspec.structs.replace(partner, roles=(*partner.roles, *added))
            await self._repo.commit(save=[updated])
        log.info("partner %s reaches %s", partner.name, ", ".join(str(role) for role in added))
        return True

    async def taken_parties(self, roles: Sequence[CredentialsRole], partner_id: str) -> list[str]:
        """The parties among ``roles`` that this node hosts, or that a partner other than ``partner_id``
        holds (registered, or registering with us): one owner per party and role."""
        others = [
            p
            for p in await self._repo.list_partners()
            if p.id != partner_id and p.status in (PartnerStatus.REGISTERED, PartnerStatus.REGISTERING)
        ]
        taken: list[str] = []
        for role in roles:
            if any(same_party(role, own) for own in self.platform.roles):
                taken.append(f"{role} is a party of this node")
            elif any(same_party(role, held) for p in others for held in p.roles):
                taken.append(f"{role} is held by another platform registered here")
        return taken

    async def _refuse_taken(self, roles: Sequence[CredentialsRole], partner_id: str) -> None:
        """:class:`PartyTaken` (HTTP 409, OCPI 2000) when one of ``roles`` is another's party."""
        taken = await self.taken_parties(roles, partner_id)
        if taken:
            raise PartyTaken(
                "credentials refused, nothing stored: "
                + "; ".join(taken)
                + " (a party and role belong to one platform)"
            )

    async def _callback(
        self, theirs: Credentials, version: str
    ) -> tuple[list[OfferedVersion], list[PartnerEndpoint]]:
        """Fetch the versions and details of the partner that sent ``theirs`` (as the receiver does)."""
        encoding = TokenEncoding.for_spec(spec_for(version)).value
        try:
            offered = await self._api.versions(theirs.url, theirs.token, encoding=encoding)
        except (ClientApiUnreachable, PartnerError) as exc:
            raise ClientApiUnreachable(
                f"could not GET your versions at {theirs.url} with the token you sent: {exc.message}"
            ) from exc
        match = next((entry for entry in offered if entry[0] == version), None)
        if match is None:
            raise UnsupportedVersion(
                f"you POSTed to our OCPI {version} credentials endpoint but your versions list offers "
                f"{_listed([v for v, _ in offered])}; we serve {_listed(self.platform.versions)}"
            )
        try:
            endpoints = await self._api.endpoints(match[1], theirs.token, version=version, encoding=encoding)
        except (ClientApiUnreachable, PartnerError) as exc:
            raise ClientApiUnreachable(
                f"could not GET your OCPI {version} version details at {match[1]}: {exc.message}"
            ) from exc
        self._check_required(endpoints, version, whose="your")
        return offered, endpoints

    def _check_required(self, endpoints: Sequence[PartnerEndpoint], version: str, *, whose: str) -> None:
        present = {e.module for e in endpoints}
        missing = [m for m in self.platform.required_modules if m not in present]
        if missing:
            raise NoMatchingEndpoints(
                f"{whose} OCPI {version} version details lack required endpoint(s): {', '.join(missing)}"
            )

    def _ended(self, partner: Partner) -> Partner:
        return msgspec.structs.replace(
            partner, status=PartnerStatus.UNREGISTERED, updated=self._clock.now(), token=None, issued=()
        )

    # -- initiating side ------------------------------------------------------------------------

    async def _discover(
        self, versions_url: str, token: str, encoding: str
    ) -> tuple[list[OfferedVersion], str, list[PartnerEndpoint]]:
        """Versions, the highest mutual version and its endpoints, as the side that starts a handshake.

        Before a version is agreed the token's encoding is a guess: when the versions URL answers 401 to
        ``encoding``, the other encoding (Base64 / raw) is tried once.
        """
        try:
            try:
                offered = await self._api.versions(versions_url, token, encoding=encoding)
            except PartnerError as first:
                if first.http_status != 401:
                    raise
                other = TokenEncoding.RAW if encoding == TokenEncoding.BASE64 else TokenEncoding.BASE64
                offered = await self._api.versions(versions_url, token, encoding=other.value)
        except ClientApiUnreachable as exc:
            raise ClientApiUnreachable(
                f"cannot reach the partner's versions URL {versions_url}: {exc.message}"
            ) from exc
        except PartnerError as exc:
            raise self._refused("reading the partner's versions", exc) from exc
        match = _mutual(offered, self.platform.versions)
        if match is None:
            raise UnsupportedVersion(
                f"no OCPI version in common: the partner offers {_listed([v for v, _ in offered])}, "
                f"this node serves {_listed(self.platform.versions)}"
            )
        version, details_url = match
        try:
            endpoints = await self._api.endpoints(
                details_url, token, version=version, encoding=TokenEncoding.for_spec(spec_for(version)).value
            )
        except ClientApiUnreachable as exc:
            raise ClientApiUnreachable(
                f"cannot reach the partner's OCPI {version} version details at {details_url}: {exc.message}"
            ) from exc
        except PartnerError as exc:
            raise self._refused(f"reading the partner's OCPI {version} version details", exc) from exc
        self._check_required(endpoints, version, whose="the partner's")
        return offered, version, endpoints

    def _refused(self, step: str, exc: PartnerError) -> RegistrationError:
        hints = {
            401: "the partner does not accept our token (a token A stops working once it has been used)",
            405: "the partner says the state of the registration does not allow this step",
        }
        codes: dict[int, str] = {
            StatusCode.UNABLE_TO_USE_CLIENT_API: (
                f"the partner could not call this node back at {self.platform.versions_url}: "
                "is `evroam serve` running for this data dir, and is its --url reachable from the partner?"
            ),
            StatusCode.UNSUPPORTED_VERSION: "the partner found no OCPI version in common with this node",
            StatusCode.NO_MATCHING_ENDPOINTS: "the partner misses endpoints it requires from this node",
        }
        why = codes.get(exc.ocpi_status) or hints.get(exc.http_status) or "see the partner's message"
        detail = exc.message
        return RegistrationError(f"{step} failed: {why} ({detail})")

    async def register(self, versions_url: str, token_a: str, name: str | None = None) -> Partner:
        """Register with a partner that gave us its versions URL and token A."""
        remember_secret(token_a)
        wanted = name.strip() if name else None
        if wanted:
            existing = await self.find(wanted)
            if existing is not None and existing.status is not PartnerStatus.UNREGISTERED:
                raise RegistrationError(
                    f"a partner called {existing.name!r} already exists ({existing.status.value.lower()}): "
                    "choose another --name or unregister it first"
                )
        offered, version, endpoints = await self._discover(versions_url, token_a, self._default_encoding)
        credentials_url = self._credentials_url(endpoints, version)
        encoding = TokenEncoding.for_spec(spec_for(version)).value
        async with self._lock:
            now = self._clock.now()
            existing = await self.find(wanted) if wanted else None
            partner_id = existing.id if existing is not None else self._ids.new_id()
            token_b = self._ids.new_token()
            remember_secret(token_b)
            digest = token_digest(token_b)
            pending = Partner(
                id=partner_id,
                name=wanted or f"pending-{partner_id}",
                status=PartnerStatus.REGISTERING,
                initiated_by="us",
                created=existing.created if existing is not None else now,
                updated=now,
                version=version,
                versions_url=versions_url,
                token_encoding=encoding,
                endpoints=tuple(endpoints),
                offered_versions=tuple(v for v, _ in offered),
                issued=(digest,),
            )
            await self._repo.commit(
                save=[pending],
                issue=[IssuedToken(digest=digest, partner_id=partner_id, use=TokenUse.PEER, issued_at=now)],
            )
            try:
                answer = await self._api.credentials(
                    "POST",
                    credentials_url,
                    token_a,
                    version=version,
                    encoding=encoding,
                    ours=await self._ours(token_b, version, partner_id),
                )
                if answer is None:
                    raise RegistrationError(
                        f"the partner answered the credentials POST at {credentials_url} without credentials"
                    )
                roles, claimed = await self._their_roles(answer, partner_id)
                taken = await self.taken_parties(claimed, partner_id)
                if taken:
                    raise RegistrationError(
                        f"the partner's credentials claim parties held elsewhere: {'; '.join(taken)}; "
                        "not registered (a party and role belong to one platform)"
                    )
            except BaseException as exc:
                await self._undo_pending(pending, existing)
                if isinstance(exc, PartnerError):
                    raise self._refused(f"POST of our credentials to {credentials_url}", exc) from exc
                if isinstance(exc, ClientApiUnreachable):
                    raise ClientApiUnreachable(
                        f"POST of our credentials to {credentials_url} failed: {exc.message}"
                    ) from exc
                raise
            remember_secret(answer.token)
            partners = await self._repo.list_partners()
            registered = msgspec.structs.replace(
                pending,
                name=wanted or self._default_name(roles, partners, partner_id),
                status=PartnerStatus.REGISTERED,
                updated=self._clock.now(),
                token=answer.token,
                versions_url=answer.url,
                roles=roles,
            )
            await self._repo.commit(save=[registered])
        log.info(
            "registered with partner %s (OCPI %s, roles %s)",
            registered.name,
            version,
            ", ".join(str(r) for r in registered.roles),
        )
        return registered

    async def _undo_pending(self, pending: Partner, existing: Partner | None) -> None:
        if existing is not None:
            await self._repo.commit(save=[existing], revoke=pending.issued)
        else:
            await self._repo.commit(delete=[pending.id], revoke=pending.issued)

    @staticmethod
    def _default_name(roles: Sequence[CredentialsRole], partners: Sequence[Partner], own_id: str) -> str:
        taken = {p.name.casefold() for p in partners if p.id != own_id}
        base = f"{roles[0].country_code}-{roles[0].party_id}".upper() if roles else "partner"
        name, n = base, 1
        while name.casefold() in taken:
            n += 1
            name = f"{base}-{n}"
        return name

    @staticmethod
    def _credentials_url(endpoints: Sequence[PartnerEndpoint], version: str) -> str:
        for endpoint in endpoints:
            if endpoint.module == CREDENTIALS:
                return endpoint.url
        raise NoMatchingEndpoints(
            f"the partner's OCPI {version} version details have no credentials endpoint"
        )

    async def rotate(self, name: str) -> Partner:
        """Renew the tokens with a registered partner: PUT our credentials with a new token."""
        partner = await self.get(name)
        if (
            partner.status is not PartnerStatus.REGISTERED
            or partner.token is None
            or not partner.versions_url
        ):
            raise RegistrationError(
                f"partner {partner.name!r} is {partner.status.value.lower()}, not registered"
            )
        offered, version, endpoints = await self._discover(
            partner.versions_url, partner.token, partner.token_encoding
        )
        credentials_url = self._credentials_url(endpoints, version)
        async with self._lock:
            now = self._clock.now()
            new_token = self._ids.new_token()
            remember_secret(new_token)
            digest = token_digest(new_token)
            # the new token must already work: the partner calls our versions back with it
            await self._repo.commit(
                save=[msgspec.structs.replace(partner, issued=(*partner.issued, digest))],
                issue=[IssuedToken(digest=digest, partner_id=partner.id, use=TokenUse.PEER, issued_at=now)],
            )
            try:
                answer = await self._api.credentials(
                    "PUT",
                    credentials_url,
                    partner.token,
                    version=version,
                    encoding=partner.token_encoding,
                    ours=await self._ours(new_token, version, partner.id, partner.roles),
                )
                if answer is None:
                    raise RegistrationError(
                        f"the partner answered the credentials PUT at {credentials_url} without credentials"
                    )
                roles, claimed = await self._their_roles(answer, partner.id)
                taken = await self.taken_parties(claimed, partner.id)
                if taken:
                    raise RegistrationError(
                        f"the partner's new credentials claim parties held elsewhere: {'; '.join(taken)}; "
                        "the old tokens are kept (a party and role belong to one platform)"
                    )
            except BaseException as exc:
                await self._repo.commit(save=[partner], revoke=[digest])
                if isinstance(exc, PartnerError):
                    raise self._refused(f"PUT of our credentials to {credentials_url}", exc) from exc
                if isinstance(exc, ClientApiUnreachable):
                    raise ClientApiUnreachable(
                        f"PUT of our credentials to {credentials_url} failed: {exc.message}"
                    ) from exc
                raise
            remember_secret(answer.token)
            rotated = msgspec.structs.replace(
                partner,
                updated=self._clock.now(),
                version=version,
                versions_url=answer.url,
                token=answer.token,
                token_encoding=TokenEncoding.for_spec(spec_for(version)).value,
                roles=roles,
                endpoints=tuple(endpoints),
                offered_versions=tuple(v for v, _ in offered),
                issued=(digest,),
            )
            await self._repo.commit(save=[rotated], revoke=[d for d in partner.issued if d != digest])
        log.info("tokens with partner %s renewed (OCPI %s)", rotated.name, version)
        return rotated

    async def unregister(self, name: str, *, force: bool = False) -> Partner:
        """DELETE our credentials at the partner, then stop all traffic with it.

        When the partner cannot be told, nothing changes unless ``force``; a partner that answers 401 or
        405 no longer knows us, which is what we want.
        """
        partner = await self.get(name)
        if partner.status is PartnerStatus.UNREGISTERED:
            raise RegistrationError(f"partner {partner.name!r} is already unregistered")
        endpoint = partner.endpoint(CREDENTIALS)
        if partner.status is PartnerStatus.REGISTERED and partner.token and endpoint and partner.version:
            try:
                await self._api.credentials(
                    "DELETE",
                    endpoint.url,
                    partner.token,
                    version=partner.version,
                    encoding=partner.token_encoding,
                )
            except PartnerError as exc:
                if exc.http_status not in (401, 405) and not force:
                    raise RegistrationError(
                        f"the partner refused the DELETE at {endpoint.url} ({exc.message}); nothing changed "
                        "here — retry, or add --force to stop all traffic on this side only"
                    ) from exc
            except ClientApiUnreachable as exc:
                if not force:
                    raise RegistrationError(
                        f"cannot reach the partner's credentials endpoint {endpoint.url} ({exc.message}); "
                        "nothing changed here — retry, or add --force to stop all traffic on this side only"
                    ) from exc
        async with self._lock:
            current = await self._repo.get_partner(partner.id) or partner
            ended = self._ended(current)
            await self._repo.commit(save=[ended], revoke=current.issued)
        log.info("unregistered from partner %s", ended.name)
        return ended
