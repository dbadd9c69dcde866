"""Database fixtures shared by the integration suites (storage, policy): a fresh database
per test on both backends. See ``tests/integration/databases.py`` for how each is made."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path

import pytest

from adapters.storage import Database
from tests.integration.databases import BACKENDS, cli_environment, empty_database_url, migrated


@pytest.fixture(params=BACKENDS)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A URL of an empty database (not yet migrated), removed afterwards."""
    async with empty_database_url(request.param, tmp_path, "dee_test") as url:
        yield url


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    """A migrated database."""
    async with migrated(db_url) as db:
        yield db


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path) -> Iterator[Mapping[str, str]]:
    """Environment for running the ``dee`` CLI against the test database."""
    yield cli_environment(db_url, tmp_path)
