"""evroam.ocpi."""
