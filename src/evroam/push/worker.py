"""The push worker: delivers the outbox to partners, in order per object, with retries.

One pass (:meth:`PushWorker.run_once`):

1. claim the due outbox jobs of up to ``batch`` objects, each object's jobs as one group
   (:meth:`~evroam.store.port.Operations.outbox_claim_objects`: one object is never in flight twice,
   and a later change never overtakes an earlier one, even when that one waits in backoff);
2. per group, *coalesce* the pending changes (:func:`coalesce`): a PUT means "send the current
   state", read from the store at delivery time, so any number of changes of one object become one
   request with its latest state; PATCH rows merge their fields in order and go out as one PATCH
   carrying those fields' current values; a PUT covers every PATCH of the same scope or below it;
3. convert the canonical object to the partner's OCPI version and send PUT / PATCH / DELETE to
   ``{receiver endpoint}/{country_code}/{party_id}/{object_id}[/{evse_uid}[/{connector_id}]]``;
4. mark the jobs delivered, failed (due again after the retry policy's delay), or parked.

Crash safety: a claimed job carries a lease; if the worker dies before marking it, the lease runs out
and the job is claimed again. A change may then be delivered twice (harmless: PUT and PATCH of the
latest state are idempotent), never lost.

A PATCH (or a PUT of an EVSE/connector) the partner answers with "unknown object" (HTTP 404 or
OCPI 2003) is followed by a PUT of the whole object, as the OCPI text advises. A Location that is not
published to the partner is not sent: its jobs are marked delivered with a note, shown by
``evroam outbox list``.

Optional pusher hooks (duck-typed, so that existing pushers need none): ``settled_by(exc)`` may turn a
partner's refusal into "already delivered" (a note, e.g. a CDR the partner already holds),
``deliver(ops, target, change)`` makes the request itself (a relay's pusher: OICP), each change of the
group on its own and in order, returning a note or ``None``, and
``acknowledged(ops, target, change, outgoing, response)`` sees each successful answer (e.g. the
``Location`` header of a CDR POST). An :class:`Outgoing` with an empty ``path`` goes to the receiver
endpoint URL itself (POST of a CDR). A module whose policy retries forever is never parked, and with
an ``escalate_after`` its jobs are reported at error level once per escalation, not per attempt
(:func:`evroam.push.retry.escalation_level`), the state kept in their last error.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import msgspec

from evroam.core.clock import Clock, IdGenerator
from evroam.core.errors import EvroamError, PartnerError
from evroam.core.status import StatusCode
from evroam.http.client import OcpiClient, OcpiResponse
from evroam.metrics import PUSH_FAILURES, PUSH_JOBS, PUSH_REQUESTS, count_database_error
from evroam.modules.kit import Delivery, Outgoing, Pusher, Skip
from evroam.ocpi.converters import VersionConverters, converters
from evroam.ocpi.transport import PartyRef, TokenEncoding
from evroam.push.retry import (
    RandomSource,
    RetryPolicies,
    RetryPolicy,
    Undelivered,
    escalation_level,
    parse_undelivered,
    strip_undelivered,
    undelivered_note,
)
from evroam.registration.directory import RegisteredPartners
from evroam.store.failures import storage_failure
from evroam.store.outbox import ObjectChange, PartnerDirectory, PartnerTarget, decode_change
from evroam.store.port import OutboxItem, Store

__all__ = [
    "PushWorker",
    "RunReport",
    "coalesce",
    "options_from_env",
]

log = logging.getLogger(__name__)

_Scope = tuple[str | None, str | None]


# -- coalescing (pure) ---------------------------------------------------------------------------


def _fold(scope: _Scope) -> _Scope:
    return (
        None if scope[0] is None else scope[0].casefold(),
        None if scope[1] is None else scope[1].casefold(),
    )


def _covers(outer: _Scope, inner: _Scope) -> bool:
    if outer[0] is None:
        return True
    if inner[0] != outer[0]:
        return False
    return outer[1] is None or inner[1] == outer[1]


def _patch_fields(change: ObjectChange) -> list[str]:
    if change.patch is None:
        return []
    decoded = msgspec.json.decode(change.patch)
    return [str(name) for name in decoded] if isinstance(decoded, dict) else []


def coalesce(changes: Sequence[tuple[int, ObjectChange]]) -> list[Delivery]:
    """The requests that bring a partner up to date with ``changes`` (one object's, in id order).

    * a PUT or DELETE of the whole object covers everything: one PUT of the current state;
    * otherwise a PUT of an EVSE (or connector) covers every change of that EVSE (connector) and below;
    * the remaining PATCHes are merged per scope (EVSE, connector, or the Location itself), their
      fields in first-seen order.

    The requests come in the order of their first change.
    """
    ordered = sorted(changes, key=lambda pair: pair[0])
    if any(c.evse_uid is None and c.method in ("PUT", "DELETE") for _, c in ordered):
        return [Delivery("PUT", None, None, (), tuple(i for i, _ in ordered))]
    # scopes replaced as a whole (PUT, or a DELETE below the object, which OCPI has no verb for)
    put_scopes: list[_Scope] = []
    for _, change in ordered:
        scope = _fold((change.evse_uid, change.connector_id))
        if change.method != "PATCH" and scope not in put_scopes:
            put_scopes.append(scope)
    put_scopes = [s for s in put_scopes if not any(o != s and _covers(o, s) for o in put_scopes)]

    groups: dict[tuple[str, _Scope], dict[str, Any]] = {}
    for item_id, change in ordered:
        spelled: _Scope = (change.evse_uid, change.connector_id)
        scope = _fold(spelled)
        cover = next((s for s in put_scopes if _covers(s, scope)), None)
        if cover is not None:
            # every change it covers names the same EVSE (and connector): any spelling will do
            spelled = (change.evse_uid, change.connector_id if cover[1] is not None else None)
            entry = groups.setdefault(("PUT", cover), {"scope": spelled, "items": [], "fields": []})
            entry["items"].append(item_id)
            continue
        entry = groups.setdefault(("PATCH", scope), {"scope": spelled, "items": [], "fields": []})
        entry["items"].append(item_id)
        for name in _patch_fields(change):
            if name not in entry["fields"]:
                entry["fields"].append(name)
    deliveries = [
        Delivery(method, entry["scope"][0], entry["scope"][1], tuple(entry["fields"]), tuple(entry["items"]))
        for (method, _), entry in groups.items()
    ]
    deliveries.sort(key=lambda d: d.items[0])
    return deliveries


# -- the worker ----------------------------------------------------------------------------------

_ENV_SECONDS = {
    "EVROAM_PUSH_BASE_DELAY": "base",
    "EVROAM_PUSH_MAX_DELAY": "max_delay",
}
#: Seconds a job of a module with an escalation (CDRs) may fail before it is reported at error level.
_ENV_ESCALATE = "EVROAM_PUSH_ESCALATE_AFTER"


def _number(env: Mapping[str, str], name: str, minimum: float) -> float | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if not value >= minimum:
        raise ValueError(f"{name}={raw!r} must be at least {minimum:g}")
    return value


def options_from_env(env: Mapping[str, str], policies: RetryPolicies | None = None) -> dict[str, Any]:
    """:class:`PushWorker` keyword arguments from ``EVROAM_PUSH_*`` variables (unset: ``policies``, the
    node's policies built from its module kits, or the defaults).

    ``EVROAM_PUSH_BASE_DELAY`` / ``EVROAM_PUSH_MAX_DELAY`` (seconds) and ``EVROAM_PUSH_MAX_ATTEMPTS``
    (``0``: never park) shape the default retry policy; ``EVROAM_PUSH_LEASE`` and
    ``EVROAM_PUSH_POLL_INTERVAL`` are seconds, ``EVROAM_PUSH_BATCH`` / ``EVROAM_PUSH_CONCURRENCY``
    counts; ``EVROAM_PUSH_ESCALATE_AFTER`` (seconds) is how long a CDR may stay undelivered before it
    is reported at error level. Raises ``ValueError`` naming a bad value.
    """
    options: dict[str, Any] = {}
    policy: dict[str, Any] = {}
    for name, field_name in _ENV_SECONDS.items():
        value = _number(env, name, 0.001)
        if value is not None:
            policy[field_name] = timedelta(seconds=value)
    attempts = _number(env, "EVROAM_PUSH_MAX_ATTEMPTS", 0)
    if attempts is not None:
        policy["max_attempts"] = int(attempts) or None
    escalate = _number(env, _ENV_ESCALATE, 0.001)
    defaults = policies or RetryPolicies()
    if policies is not None:
        options["policies"] = policies
    if policy or escalate is not None:
        per_module = {m: dataclasses.replace(p, **policy) for m, p in defaults.per_module.items()}
        if escalate is not None:
            after = timedelta(seconds=escalate)
            per_module = {
                m: p if p.escalate_after is None else dataclasses.replace(p, escalate_after=after)
                for m, p in per_module.items()
            }
        options["policies"] = RetryPolicies(
            default=dataclasses.replace(defaults.default, **policy), per_module=per_module
        )
    lease = _number(env, "EVROAM_PUSH_LEASE", 1)
    if lease is not None:
        options["lease"] = timedelta(seconds=lease)
    poll = _number(env, "EVROAM_PUSH_POLL_INTERVAL", 0.001)
    if poll is not None:
        options["poll_interval"] = poll
    for name, key in (("EVROAM_PUSH_BATCH", "batch"), ("EVROAM_PUSH_CONCURRENCY", "concurrency")):
        count = _number(env, name, 1)
        if count is not None:
            options[key] = int(count)
    return options


@dataclass
class RunReport:
    """What one pass did, counted in outbox jobs (``groups``: objects claimed, ``requests``: HTTP)."""

    groups: int = 0
    delivered: int = 0
    skipped: int = 0
    failed: int = 0
    parked: int = 0
    requests: int = 0

    def add(self, other: RunReport) -> None:
        self.groups += other.groups
        self.delivered += other.delivered
        self.skipped += other.skipped
        self.failed += other.failed
        self.parked += other.parked
        self.requests += other.requests


@dataclass
class _Outcome:
    delivered: list[tuple[int, str | None]] = field(default_factory=list)
    failed: list[tuple[int, str, datetime]] = field(default_factory=list)
    parked: list[tuple[int, str]] = field(default_factory=list)
    requests: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    """(partner, module) of each delivery that failed."""


def _unknown_object(exc: PartnerError) -> bool:
    return exc.http_status == 404 or exc.ocpi_status == StatusCode.UNKNOWN_LOCATION


def _path_url(base: str, path: Sequence[str]) -> str:
    if not path:
        return base
    return base.rstrip("/") + "/" + "/".join(quote(str(segment), safe="") for segment in path)


def _error_text(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 1000 else text[:997] + "..."


class PushWorker:
    """Delivers outbox jobs. Use :meth:`run_once` (tests, tools) or :meth:`start` / :meth:`stop`.

    ``rng`` feeds the retry jitter (``random.Random()``); ``lease`` must be longer than a request
    can take (the HTTP client's timeout); ``batch`` objects are claimed per pass and up to
    ``concurrency`` of them are delivered at the same time; with nothing to do the worker sleeps
    ``poll_interval`` seconds or until :meth:`wake`.
    """

    def __init__(
        self,
        store: Store,
        http: Any,
        *,
        clock: Clock,
        ids: IdGenerator,
        rng: RandomSource,
        pushers: Mapping[str, Pusher],
        partners: PartnerDirectory | None = None,
        policies: RetryPolicies | None = None,
        lease: timedelta = timedelta(seconds=60),
        batch: int = 64,
        concurrency: int = 8,
        poll_interval: float = 0.5,
    ) -> None:
        if batch < 1 or concurrency < 1:
            raise ValueError("batch and concurrency must be at least 1")
        self._store = store
        self._http = http
        self._clock = clock
        self._ids = ids
        self._rng = rng
        self._partners = partners or RegisteredPartners()
        self._policies = policies or RetryPolicies()
        self._pushers = dict(pushers)
        self.lease = lease
        self.batch = batch
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self._last_delay: dict[tuple[str, str, str], timedelta] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self.totals = RunReport()

    # -- one pass --------------------------------------------------------------------------------

    async def run_once(self) -> RunReport:
        """Claim what is due now and deliver it; returns what was done."""
        items = await self._store.outbox_claim_objects(self._clock.now(), limit=self.batch, lease=self.lease)
        report = RunReport()
        if not items:
            return report
        groups: dict[tuple[str, str, str], list[OutboxItem]] = {}
        for item in items:
            groups.setdefault((item.partner_id, item.kind, item.object_key), []).append(item)
        report.groups = len(groups)
        limit = asyncio.Semaphore(self.concurrency)

        async def one(key: tuple[str, str, str], members: list[OutboxItem]) -> _Outcome:
            async with limit:
                return await self._deliver_group(key, members)

        outcomes = await asyncio.gather(*(one(key, members) for key, members in groups.items()))
        async with self._store.transaction() as tx:
            for outcome in outcomes:
                for item_id, note in outcome.delivered:
                    await tx.outbox_mark_delivered(item_id, note=note)
                for item_id, error, retry_at in outcome.failed:
                    await tx.outbox_mark_failed(item_id, error=error, retry_at=retry_at)
                for item_id, error in outcome.parked:
                    await tx.outbox_mark_parked(item_id, error=error)
        for outcome in outcomes:
            for partner, module in outcome.failures:
                PUSH_FAILURES.labels(partner, module).inc()
            report.delivered += sum(1 for _, note in outcome.delivered if note is None)
            report.skipped += sum(1 for _, note in outcome.delivered if note is not None)
            report.failed += len(outcome.failed)
            report.parked += len(outcome.parked)
            report.requests += outcome.requests
        self.totals.add(report)
        for name, number in (
            ("delivered", report.delivered),
            ("skipped", report.skipped),
            ("failed", report.failed),
            ("parked", report.parked),
        ):
            if number:
                PUSH_JOBS.labels(name).inc(number)
        return report

    async def drain(self, *, max_passes: int = 1000) -> RunReport:
        """Run passes until nothing is due (tests and tools); returns the sum."""
        total = RunReport()
        for _ in range(max_passes):
            report = await self.run_once()
            if report.groups == 0:
                break
            total.add(report)
        return total

    async def _deliver_group(self, key: tuple[str, str, str], items: list[OutboxItem]) -> _Outcome:
        outcome = _Outcome()
        partner_id, module, _ = key
        changes: list[tuple[int, ObjectChange]] = []
        for item in items:
            try:
                changes.append((item.id, decode_change(item.payload)))
            except EvroamError as exc:
                outcome.parked.append((item.id, f"unreadable outbox payload: {exc}"))
        if not changes:
            return outcome
        ids = [item_id for item_id, _ in changes]

        policy = self._policies.for_module(module)

        def park_all(reason: str) -> _Outcome:
            if policy.retry_forever:  # never given up: retried (and escalated) like a failed request
                retry_at = self._clock.now() + policy.max_delay
                error = self._failure_note(policy, items, reason, module, changes[0][1].object_id, partner_id)
                outcome.failed.extend((item_id, error, retry_at) for item_id in ids)
                return outcome
            log.error("push to %s parked %d job(s) of %s: %s", partner_id, len(ids), module, reason)
            outcome.parked.extend((item_id, reason) for item_id in ids)
            return outcome

        pusher = self._pushers.get(module)
        if pusher is None:
            return park_all(f"this node cannot push module {module!r}")
        chooser = getattr(pusher, "target", None)  # a module that pushes elsewhere than to RECEIVERs
        if chooser is not None:
            target = await chooser(self._store, partner_id)
            if target is None:
                return park_all(f"partner {partner_id} cannot be reached for {module} (any more)")
        else:
            target = await self._partners.target(self._store, partner_id, module)
            if target is None:
                return park_all(f"partner {partner_id} has no {module} RECEIVER endpoint (any more)")
        deliver = getattr(pusher, "deliver", None)  # a pusher that makes its own requests (a relay's)
        if deliver is not None:
            return await self._deliver_each(deliver, policy, key, target, items, changes, outcome)
        try:
            conv = converters(target.version)
        except KeyError:
            return park_all(f"OCPI {target.version} of partner {target.name} is not modelled")
        head = changes[0][1]
        addressee = getattr(pusher, "addressee", None)  # the party an object is for (a token's eMSP)
        if addressee is not None:
            party = await addressee(self._store, head)
            if party is not None:
                target = msgspec.structs.replace(target, country_code=party[0], party_id=party[1])
        try:
            client = self._client(target, conv, head)
        except ValueError as exc:
            return park_all(f"cannot call partner {target.name}: {exc}")
        attempts = {item.id: item.attempts for item in items}
        deliveries = coalesce(changes)
        for index, delivery in enumerate(deliveries):
            try:
                note = await self._send(pusher, client, conv, target, head, delivery, outcome)
            except Exception as exc:  # any failure is retried under the policy
                outcome.failures.append((target.name, module))
                if not isinstance(exc, EvroamError):
                    log.warning("push %s %s: unexpected error", module, head.object_id, exc_info=True)
                error = _error_text(exc)
                attempt = max(attempts[i] for i in delivery.items)
                decision = policy.decide(attempt, self._rng, self._last_delay.get(key))
                if decision.delay is None:
                    log.error(
                        "push %s %s to %s parked after %d attempt(s): %s",
                        module,
                        head.object_id,
                        target.name,
                        attempt,
                        error,
                    )
                    outcome.parked.extend((i, error) for i in delivery.items)
                    continue
                self._last_delay[key] = decision.delay
                retry_at = self._clock.now() + decision.delay
                if policy.escalate_after is not None:
                    members = [item for item in items if item.id in delivery.items]
                    error = self._failure_note(
                        policy, members, error, module, head.object_id, target.name, attempt=attempt
                    )
                    for rest in deliveries[index:]:
                        outcome.failed.extend((i, error, retry_at) for i in rest.items)
                    return outcome
                level = logging.ERROR if decision.report_error else logging.WARNING
                log.log(
                    level,
                    "push %s %s to %s failed (attempt %d), retry in %.1f s: %s",
                    module,
                    head.object_id,
                    target.name,
                    attempt,
                    decision.delay.total_seconds(),
                    error,
                )
                for rest in deliveries[index:]:
                    outcome.failed.extend((i, error, retry_at) for i in rest.items)
                return outcome
            outcome.delivered.extend((i, note) for i in delivery.items)
        self._last_delay.pop(key, None)
        return outcome

    def _failure_note(
        self,
        policy: RetryPolicy,
        items: Sequence[OutboxItem],
        error: str,
        module: str,
        object_id: str,
        partner: str,
        *,
        attempt: int | None = None,
    ) -> str:
        """The last error to keep for jobs that failed again, with their failing state; logged at
        error level when the jobs reach a new escalation (once per escalation), else as a warning."""
        now: datetime = self._clock.now()
        states = [state for item in items if (state := parse_undelivered(item.last_error)) is not None]
        since = min((s.since for s in states), default=now)
        failing_for: timedelta = now - since
        reported = max((s.level for s in states), default=0)
        after = policy.escalate_after
        level = escalation_level(after, failing_for) if after is not None else reported
        note = undelivered_note(Undelivered(since, max(level, reported)), now, strip_undelivered(error))
        tries = "" if attempt is None else f" (attempt {attempt})"
        if level > reported:
            log.error(
                "push %s %s to %s still undelivered after %s, retrying until it is acknowledged%s: %s",
                module,
                object_id,
                partner,
                failing_for,
                tries,
                error,
            )
        else:
            log.warning("push %s %s to %s failed%s, will retry: %s", module, object_id, partner, tries, error)
        return _error_text(Exception(note))

    async def _deliver_each(
        self,
        deliver: Any,
        policy: Any,
        key: tuple[str, str, str],
        target: PartnerTarget,
        items: list[OutboxItem],
        changes: list[tuple[int, ObjectChange]],
        outcome: _Outcome,
    ) -> _Outcome:
        """A pusher with ``deliver(ops, target, change)``: each change on its own, in order; the first
        failure holds it and every later one back (retried under the policy), so the order is kept."""
        partner_id, module, _ = key
        attempts = {item.id: item.attempts for item in items}
        for index, (item_id, change) in enumerate(changes):
            outcome.requests += 1
            try:
                note = await deliver(self._store, target, change)
            except Exception as exc:  # any failure is retried under the policy
                outcome.failures.append((target.name, module))
                error = _error_text(exc)
                decision = policy.decide(attempts[item_id], self._rng, self._last_delay.get(key))
                if decision.delay is None:
                    log.error("push %s to %s parked: %s", module, target.name, error)
                    outcome.parked.extend((i, error) for i, _ in changes[index:])
                    return outcome
                self._last_delay[key] = decision.delay
                retry_at = self._clock.now() + decision.delay
                if policy.escalate_after is not None:
                    members = [item for item in items if item.id == item_id]
                    error = self._failure_note(policy, members, error, module, change.object_id, partner_id)
                log.warning(
                    "push %s %s to %s failed, retry in %.1f s: %s",
                    module,
                    change.object_id,
                    target.name,
                    decision.delay.total_seconds(),
                    error,
                )
                outcome.failed.extend((i, error, retry_at) for i, _ in changes[index:])
                return outcome
            outcome.delivered.append((item_id, note))
        self._last_delay.pop(key, None)
        return outcome

    def _client(self, target: PartnerTarget, conv: VersionConverters, head: ObjectChange) -> OcpiClient:
        try:
            us: PartyRef | None = PartyRef.of(head.country_code, head.party_id)
        except ValueError:
            us = None
        them = None
        if target.country_code and target.party_id:
            with contextlib.suppress(ValueError):
                them = PartyRef.of(target.country_code, target.party_id)
        return OcpiClient(
            self._http,
            spec=conv.spec,
            token=target.token,
            token_encoding=TokenEncoding(target.token_encoding),
            us=us,
            them=them,
            ids=self._ids,
            clock=self._clock,
        )

    async def _send(
        self,
        pusher: Pusher,
        client: OcpiClient,
        conv: VersionConverters,
        target: PartnerTarget,
        change: ObjectChange,
        delivery: Delivery,
        outcome: _Outcome,
    ) -> str | None:
        """Make the delivery's request; the note when nothing needed sending; raises on failure."""
        prepared = await pusher.prepare(self._store, conv, target, change, delivery)
        if isinstance(prepared, Skip):
            log.info("push %s to %s: %s", pusher.module, target.name, prepared.note)
            return prepared.note
        try:
            response = await self._request(client, target, pusher.module, prepared, outcome)
        except PartnerError as exc:
            settled_by = getattr(pusher, "settled_by", None)
            settled = None if settled_by is None else settled_by(exc)
            if settled is not None:
                log.info("push %s to %s: %s", pusher.module, target.name, settled)
                return str(settled)
            if not _unknown_object(exc):
                raise
            if prepared.method == "DELETE":
                return None  # already gone there
            if delivery.evse_uid is None and prepared.method in ("PUT", "POST"):
                raise
            # the partner lacks the object (or the EVSE): send the whole object
            whole = Delivery("PUT", None, None, (), delivery.items)
            again = await pusher.prepare(self._store, conv, target, change, whole)
            if isinstance(again, Skip):
                return again.note
            prepared = again
            response = await self._request(client, target, pusher.module, again, outcome)
        acknowledged = getattr(pusher, "acknowledged", None)
        if acknowledged is not None:
            try:
                await acknowledged(self._store, target, change, prepared, response)
            except Exception:  # delivered all the same: only the bookkeeping of the answer failed
                log.warning(
                    "push %s %s: recording the answer failed", pusher.module, change.object_id, exc_info=True
                )
        return None

    async def _request(
        self, client: OcpiClient, target: PartnerTarget, module: str, outgoing: Outgoing, outcome: _Outcome
    ) -> OcpiResponse[Any]:
        outcome.requests += 1
        PUSH_REQUESTS.labels(target.name, module).inc()
        return await client.request(
            outgoing.method,
            outgoing.url if outgoing.url is not None else _path_url(target.url, outgoing.path),
            module=module,
            body=outgoing.body,
            params=outgoing.params,
        )

    # -- running in the background ---------------------------------------------------------------

    def wake(self) -> None:
        """Look at the outbox now instead of after the poll interval."""
        self._wake.set()

    async def run(self) -> None:
        """Pass after pass until :meth:`stop`; a failing pass is logged and retried after a pause."""
        self._stopping = False
        while not self._stopping:
            try:
                report = await self.run_once()
            except Exception as exc:  # the store is unreachable, a bug ...: keep the node alive
                failure = storage_failure(exc)
                if failure is None:
                    log.exception("push worker pass failed; retrying in %.1f s", self.poll_interval)
                else:  # one line per pass, not a traceback: the database says what is wrong
                    count_database_error(failure.reason, "push worker")
                    log.error(
                        "push worker pass failed: the database is unavailable (%s): %s; retrying in %.1f s",
                        failure.reason,
                        failure.detail,
                        self.poll_interval,
                    )
                report = RunReport()
            if report.groups == 0 and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval)
                self._wake.clear()

    def start(self) -> asyncio.Task[None]:
        """Run in a background task of the current event loop."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name="evroam-push-worker")
        return self._task

    async def stop(self, grace: float = 30.0) -> None:
        """Finish the current pass (its requests and marks) and stop; cancel after ``grace`` s.

        A pass cut short loses nothing: its jobs are claimed again when their lease runs out.
        """
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), grace)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()
