"""evroam.http."""
