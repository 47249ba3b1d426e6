"""evroam.sim."""
