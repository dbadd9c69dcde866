"""Fixtures shared by the integration suites: a fresh database per test on both backends
(see ``tests/integration/databases.py``), and per test module a time-skipping Temporal
server and a local mail sink."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from adapters.storage import Database
from tests.integration.databases import BACKENDS, cli_environment, empty_database_url, migrated
from tests.integration.mailsink import SmtpServer, running_mail_sink
from tests.integration.temporal_env import data_converter, time_skipping_server_path


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


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=time_skipping_server_path(), data_converter=data_converter()
    ) as env:
        yield env


@pytest.fixture(scope="module")
def mail() -> Iterator[SmtpServer]:
    with running_mail_sink() as server:
        yield server
