"""evroam.ocpi.v2_3_0."""
