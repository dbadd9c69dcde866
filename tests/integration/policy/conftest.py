"""Fixtures for the policy tests; the databases come from ``tests/integration/conftest.py``
(a fresh migrated database per test, on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from adapters.policy import PolicyAdmin
from adapters.storage import Database


@pytest.fixture
def admin(database: Database) -> PolicyAdmin:
    return PolicyAdmin(database)
