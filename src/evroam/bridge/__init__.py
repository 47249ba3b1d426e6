"""OCPI <-> OICP: the gateway (:mod:`evroam.bridge.gateway`). See docs/bridge.md."""
