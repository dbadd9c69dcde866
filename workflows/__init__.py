"""workflows room (see ARCHITECTURE.md)."""
