"""Partner compatibility layer: tolerances for documented deviations of real peers, off by default.

The core (transport, client, server, modules) follows the OCPI text only. What a particular partner
does differently is tolerated here, at the node's HTTP edges, and only for the partners an operator
switched it on for (``evroam compat set PARTNER --profile extrawest-ocpi`` or ``--enable QUIRK``):

* :class:`Quirk` / :data:`PROFILES` — what can be tolerated (``docs/interop.md`` says who needs what);
* :class:`PartnerCompat` — the hooks the node's HTTP client and server call;
* :func:`load_switches` / :func:`save_switches` — the per-partner switches in the store.
"""

from evroam.compat.hooks import Match, PartnerCompat
from evroam.compat.quirks import PROFILES, Quirk, describe
from evroam.compat.switches import PartnerSwitches, load_switches, save_switches

__all__ = [
    "PROFILES",
    "Match",
    "PartnerCompat",
    "PartnerSwitches",
    "Quirk",
    "describe",
    "load_switches",
    "save_switches",
]
