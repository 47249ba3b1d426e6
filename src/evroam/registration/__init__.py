"""evroam.registration."""
