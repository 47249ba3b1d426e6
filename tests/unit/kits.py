"""The built-in kits' pushers and pull specs, for tests that run the push worker or a sync directly."""

from evroam.node.kits import BUILTIN_KITS, policies_of, pulls_of, pushers_of

PUSHERS = pushers_of(BUILTIN_KITS)
PULLS = pulls_of(BUILTIN_KITS)
POLICIES = policies_of(BUILTIN_KITS)

__all__ = ["POLICIES", "PULLS", "PUSHERS"]
