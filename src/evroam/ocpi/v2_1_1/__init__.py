"""evroam.ocpi.v2_1_1."""
