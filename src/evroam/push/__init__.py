"""Push (a persisted outbox delivered by a worker with a pure retry policy) and pull (``sync``).

See ``docs/push.md``. The worker and the sync live in :mod:`evroam.push.worker` and
:mod:`evroam.push.sync` (imported on demand: they depend on the modules' repositories, which in turn
write the outbox through :mod:`evroam.push.outbox`).
"""

from evroam.push.outbox import (
    ObjectChange,
    PartnerDirectory,
    PartnerTarget,
    RegisteredPartners,
    enqueue_change,
)
from evroam.push.retry import Decision, Jitter, RandomSource, RetryPolicies, RetryPolicy

__all__ = [
    "Decision",
    "Jitter",
    "ObjectChange",
    "PartnerDirectory",
    "PartnerTarget",
    "RandomSource",
    "RegisteredPartners",
    "RetryPolicies",
    "RetryPolicy",
    "enqueue_change",
]
