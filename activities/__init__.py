"""activities room (see ARCHITECTURE.md)."""
