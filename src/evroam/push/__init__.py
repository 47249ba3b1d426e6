"""Push: the outbox (written by the modules' services through :mod:`evroam.store.outbox`) delivered to
partners by a worker (:mod:`evroam.push.worker`) with a pure retry policy (:mod:`evroam.push.retry`).
The worker knows no module: each module kit brings its pusher, and the node injects them.

See ``docs/push.md``; pulling a partner's lists lives in :mod:`evroam.pull`.
"""

from evroam.push.retry import Decision, Jitter, RandomSource, RetryPolicies, RetryPolicy

__all__ = [
    "Decision",
    "Jitter",
    "RandomSource",
    "RetryPolicies",
    "RetryPolicy",
]
