"""adapters room (see ARCHITECTURE.md)."""
