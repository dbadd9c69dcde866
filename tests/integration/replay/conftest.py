"""Fixtures for the replay tests: the time-skipping server (nothing is downloaded)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.integration.temporal_env import time_skipping_server_path


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=time_skipping_server_path()
    ) as env:
        yield env
