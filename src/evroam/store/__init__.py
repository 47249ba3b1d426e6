"""evroam.store."""
