"""evroam.ocpi.v2_2_1."""
