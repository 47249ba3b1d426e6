"""evroam.tariffs."""
