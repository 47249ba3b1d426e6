"""The node's Prometheus metrics (``prometheus-client``), served at ``/metrics`` (docs/deployment.md).

Two kinds:

* **counted in the process** as things happen: HTTP requests by module, role, OCPI version, method and
  status with a latency histogram; push requests and failures per partner and module, outbox jobs by
  outcome; database errors by reason. These live in this module, registered in :data:`REGISTRY`.
* **read from the database at scrape time** (:class:`Snapshot`): outbox jobs per partner and status,
  the age of each partner's oldest job still to be delivered and how late its earliest due one is,
  each partner's registration status, the last sync and import results. Every worker reads the same
  database, so any worker may answer the scrape.

Several worker processes: when ``PROMETHEUS_MULTIPROC_DIR`` names a directory (``evroam serve
--workers N`` sets it to a fresh one before it starts its workers), ``prometheus-client`` keeps each
process's values in files there, and :func:`exposition` adds them all up with its
``MultiProcessCollector``: a scrape answered by any one worker counts the requests of every worker,
including workers that have exited since (counters never go back). The variable must be set before
``prometheus_client`` is first imported in a process.

This module imports nothing of evroam: every layer may count through it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

__all__ = [
    "CONTENT_TYPE",
    "DB_ERRORS",
    "MULTIPROC_ENV",
    "PG_GROUP_SECONDS",
    "PG_GROUP_UNITS",
    "PG_UNITS_LEFT",
    "PUSH_FAILURES",
    "PUSH_JOBS",
    "PUSH_REQUESTS",
    "REFUSED",
    "REGISTRY",
    "REQUESTS",
    "REQUEST_SECONDS",
    "ImportRun",
    "OutboxDepth",
    "Snapshot",
    "SyncRun",
    "count_database_error",
    "count_refused",
    "exposition",
    "import_result_setting",
    "multiprocess",
    "observe_pg_group",
    "observe_request",
    "read_run",
    "run_record",
    "sync_result_setting",
]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

REGISTRY = CollectorRegistry(auto_describe=True)
"""evroam's own metrics (not prometheus-client's global registry, which an embedding app may use)."""

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "evroam_http_requests",
    "HTTP requests answered, by OCPI module, interface role, OCPI version, method and status.",
    ["module", "role", "version", "method", "status"],
    registry=REGISTRY,
)
REQUEST_SECONDS = Histogram(
    "evroam_http_request_duration_seconds",
    "Time from the request's arrival to the end of its answer, by OCPI module, role and version.",
    ["module", "role", "version"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
PUSH_REQUESTS = Counter(
    "evroam_push_requests",
    "Requests the push worker made to partners (delivery attempts), by partner and module.",
    ["partner", "module"],
    registry=REGISTRY,
)
PUSH_FAILURES = Counter(
    "evroam_push_failures",
    "Deliveries that failed (to be retried or parked), by partner and module.",
    ["partner", "module"],
    registry=REGISTRY,
)
PUSH_JOBS = Counter(
    "evroam_push_jobs",
    "Outbox jobs the push worker finished a try of, by outcome (delivered, skipped, failed, parked).",
    ["outcome"],
    registry=REGISTRY,
)
REFUSED = Counter(
    "evroam_http_refused",
    "Requests and connections refused before the app saw them (not in evroam_http_requests_total), by "
    "reason: invalid_request (uvicorn's parser, 400), header_timeout (408), body_timeout (closed), "
    "too_many_connections (503).",
    ["reason"],
    registry=REGISTRY,
)
DB_ERRORS = Counter(
    "evroam_database_errors",
    "Requests and worker passes the database failed, by reason (unreachable, disk full, ...) and where.",
    ["reason", "where"],
    registry=REGISTRY,
)

PG_GROUP_UNITS = Histogram(
    "evroam_pg_group_units",
    "PostgreSQL group commits by how many transactions (units) they committed or rolled back together.",
    buckets=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64),
    registry=REGISTRY,
)
PG_GROUP_SECONDS = Histogram(
    "evroam_pg_group_seconds",
    "PostgreSQL group commits by the time from their first unit's start to the end of their COMMIT "
    "(row locks of the group are held that long).",
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
PG_UNITS_LEFT = Counter(
    "evroam_pg_units_left",
    "Transactions that left their PostgreSQL group because another transaction held their row (they "
    "then waited for it in a transaction of their own).",
    registry=REGISTRY,
)


def observe_pg_group(units: int, left: int, seconds: float) -> None:
    """Count one finished PostgreSQL group commit."""
    PG_GROUP_UNITS.observe(units)
    PG_GROUP_SECONDS.observe(seconds)
    if left:
        PG_UNITS_LEFT.inc(left)


# the labelled children of the request metrics, made once per label set (``labels()`` costs a lock and
# a dictionary look-up with a tuple built on every call)
_children: dict[tuple[str, str, str, str, int], tuple[Counter, Histogram]] = {}


def observe_request(module: str, role: str, version: str, method: str, status: int, seconds: float) -> None:
    """Count one answered HTTP request and its duration."""
    key = (module, role, version, method, status)
    found = _children.get(key)
    if found is None:
        found = (
            REQUESTS.labels(module, role, version, method, str(status)),
            REQUEST_SECONDS.labels(module, role, version),
        )
        if len(_children) < 10_000:  # bounded: label values come from the route table, not the client
            _children[key] = found
    found[0].inc()
    found[1].observe(seconds)


def count_refused(reason: str) -> None:
    """Count one request or connection the server refused before the app saw it."""
    REFUSED.labels(reason).inc()


def count_database_error(reason: str, where: str) -> None:
    """Count one request or worker pass that failed because the database did."""
    DB_ERRORS.labels(reason, where).inc()


# -- the last sync and import, kept in the store's settings (they run in one-shot commands) ------------


def sync_result_setting(partner_id: str, module: str) -> str:
    """The setting holding the result of the last ``evroam sync MODULE`` from that partner."""
    return f"metrics.sync.{partner_id}.{module}"


def import_result_setting(module: str) -> str:
    """The setting holding the result of the last ``evroam MODULE import``."""
    return f"metrics.import.{module}"


def run_record(finished: float, ok: bool, counts: dict[str, int] | None = None) -> str:
    """The setting's value for one run."""
    return json.dumps({"finished": finished, "ok": ok, "counts": counts or {}}, sort_keys=True)


def read_run(raw: str | None) -> tuple[float, bool, dict[str, int]] | None:
    """``(finished, ok, counts)`` of :func:`run_record`'s value; ``None`` when absent or unreadable."""
    if not raw:
        return None
    try:
        data = json.loads(raw)
        counts = {str(k): int(v) for k, v in dict(data.get("counts") or {}).items()}
        return float(data["finished"]), bool(data["ok"]), counts
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


# -- read at scrape time ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboxDepth:
    """Outbox jobs of one partner in one status, the earliest ``due_at`` and the earliest ``created_at``
    (when enqueued) among them (epoch s)."""

    partner: str
    status: str
    jobs: int
    earliest_due: float | None
    earliest_created: float | None = None


@dataclass(frozen=True, slots=True)
class SyncRun:
    """The last ``evroam sync`` of a module from a partner."""

    partner: str
    module: str
    finished: float
    """When it ended (epoch seconds)."""
    ok: bool
    counts: dict[str, int] = field(default_factory=dict)
    """fetched, created, updated, unchanged, stale, refused, removed."""
    last_success: float | None = None
    """When the last successful sync *started* (epoch seconds; the ``date_from`` of the next one)."""


@dataclass(frozen=True, slots=True)
class ImportRun:
    """The last ``evroam <module> import``."""

    module: str
    finished: float
    ok: bool
    counts: dict[str, int] = field(default_factory=dict)
    """created, updated, unchanged, stale."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the database says when /metrics is scraped."""

    now: float
    outbox: Sequence[OutboxDepth] = ()
    partners: Sequence[tuple[str, str]] = ()
    """(partner name, registration status)."""
    partner_statuses: Sequence[str] = ()
    """Every status a partner may have (each partner gets a 0/1 series per status)."""
    syncs: Sequence[SyncRun] = ()
    imports: Sequence[ImportRun] = ()
    worker_running: bool | None = None
    """Whether this process's push worker runs; ``None``: this process runs none."""


class _SnapshotCollector(Collector):
    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        s = self.snapshot
        jobs = GaugeMetricFamily(
            "evroam_outbox_jobs",
            "Outbox jobs not yet delivered, per partner and status.",
            labels=["partner", "status"],
        )
        age = GaugeMetricFamily(
            "evroam_outbox_oldest_age_seconds",
            "Per partner: how long ago the oldest job still to be delivered (pending or in flight) was "
            "enqueued; 0 when there is none.",
            labels=["partner"],
        )
        late = GaugeMetricFamily(
            "evroam_outbox_oldest_due_age_seconds",
            "Per partner: how long ago the earliest due undelivered job (pending or in flight) became due; "
            "0 when none is due.",
            labels=["partner"],
        )
        earliest: dict[str, float] = {}
        oldest: dict[str, float] = {}
        for row in s.outbox:
            jobs.add_metric([row.partner, row.status], row.jobs)
            if row.status not in ("pending", "in_flight"):
                continue
            if row.earliest_due is not None:
                earliest[row.partner] = min(earliest.get(row.partner, row.earliest_due), row.earliest_due)
            if row.earliest_created is not None:
                made = row.earliest_created
                oldest[row.partner] = min(oldest.get(row.partner, made), made)
        for partner in sorted({row.partner for row in s.outbox}):
            first, due = oldest.get(partner), earliest.get(partner)
            age.add_metric([partner], max(0.0, s.now - first) if first is not None else 0.0)
            late.add_metric([partner], max(0.0, s.now - due) if due is not None else 0.0)
        yield jobs
        yield age
        yield late

        status = GaugeMetricFamily(
            "evroam_partner_status",
            "1 for each partner's current registration status, 0 for the others.",
            labels=["partner", "status"],
        )
        for name, current in s.partners:
            for candidate in s.partner_statuses or (current,):
                status.add_metric([name, candidate], 1.0 if candidate == current else 0.0)
        yield status

        sync_time = GaugeMetricFamily(
            "evroam_sync_last_run_timestamp_seconds",
            "When the last `evroam sync` of a module from a partner ended.",
            labels=["partner", "module"],
        )
        sync_ok = GaugeMetricFamily(
            "evroam_sync_last_run_success",
            "1 when the last sync succeeded, 0 when it failed.",
            labels=["partner", "module"],
        )
        sync_objects = GaugeMetricFamily(
            "evroam_sync_last_run_objects",
            "Objects of the last sync by outcome (fetched, created, updated, unchanged, stale, refused, "
            "removed).",
            labels=["partner", "module", "outcome"],
        )
        sync_success = GaugeMetricFamily(
            "evroam_sync_last_success_timestamp_seconds",
            "When the last successful sync started.",
            labels=["partner", "module"],
        )
        for run in s.syncs:
            sync_time.add_metric([run.partner, run.module], run.finished)
            sync_ok.add_metric([run.partner, run.module], 1.0 if run.ok else 0.0)
            for outcome, number in sorted(run.counts.items()):
                sync_objects.add_metric([run.partner, run.module, outcome], number)
            if run.last_success is not None:
                sync_success.add_metric([run.partner, run.module], run.last_success)
        yield from (sync_time, sync_ok, sync_objects, sync_success)

        import_time = GaugeMetricFamily(
            "evroam_import_last_run_timestamp_seconds",
            "When the last import of a module ended.",
            labels=["module"],
        )
        import_ok = GaugeMetricFamily(
            "evroam_import_last_run_success",
            "1 when the last import succeeded, 0 when it failed.",
            labels=["module"],
        )
        import_objects = GaugeMetricFamily(
            "evroam_import_last_run_objects",
            "Objects of the last import by outcome (created, updated, unchanged, stale).",
            labels=["module", "outcome"],
        )
        for one in s.imports:
            import_time.add_metric([one.module], one.finished)
            import_ok.add_metric([one.module], 1.0 if one.ok else 0.0)
            for outcome, number in sorted(one.counts.items()):
                import_objects.add_metric([one.module, outcome], number)
        yield from (import_time, import_ok, import_objects)

        if s.worker_running is not None:
            worker = GaugeMetricFamily(
                "evroam_push_worker_running", "1 when the push worker of the process that answered runs."
            )
            worker.add_metric([], 1.0 if s.worker_running else 0.0)
            yield worker


def multiprocess() -> bool:
    """Whether the metrics of several processes are kept in ``PROMETHEUS_MULTIPROC_DIR``."""
    return bool(os.environ.get(MULTIPROC_ENV))


def exposition(snapshot: Snapshot | None = None, extra: Iterable[Collector] = ()) -> bytes:
    """The text exposition of every metric: this process's (or, in multiprocess mode, every worker's)
    counters and histograms, then ``snapshot``'s gauges."""
    if multiprocess():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        out = generate_latest(registry)
    else:
        out = generate_latest(REGISTRY)
    now = CollectorRegistry()
    if snapshot is not None:
        now.register(_SnapshotCollector(snapshot))
    for collector in extra:
        now.register(collector)
    return out + generate_latest(now)
