"""evroam.push."""
