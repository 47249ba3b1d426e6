"""Pull: fetch a partner's lists from its Sender interfaces into our store (``evroam sync``).

:func:`~evroam.pull.sync.sync_module` is generic; each module kit's
:class:`~evroam.modules.kit.PullSpec` says how its objects are read, stored and removed.
"""

from evroam.pull.sync import SyncIssue, SyncResult, last_sync, sync_module, sync_setting

__all__ = ["SyncIssue", "SyncResult", "last_sync", "sync_module", "sync_setting"]
