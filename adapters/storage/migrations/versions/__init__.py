"""Alembic revisions of DEE's schema (loaded by Alembic from this folder)."""
