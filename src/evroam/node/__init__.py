"""evroam.node."""
