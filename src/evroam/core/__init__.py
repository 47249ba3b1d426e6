"""evroam.core."""
