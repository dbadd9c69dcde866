"""DEE public API."""
