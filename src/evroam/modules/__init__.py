"""evroam.modules."""
