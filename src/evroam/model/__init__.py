"""evroam.model."""
