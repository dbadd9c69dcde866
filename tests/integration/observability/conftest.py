"""A time-skipping Temporal server whose clients run on a runtime that serves Prometheus,
as ``dee worker`` does with ``observability.metricsAddress`` set."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from dee.config_observability import ObservabilityConfig
from dee.devserver import free_port
from dee.observability import telemetry_runtime
from tests.integration.temporal_env import data_converter, time_skipping_server_path


@pytest.fixture(scope="module")
def observability() -> ObservabilityConfig:
    # Re-counted often, so the test sees the FAILED-runs gauge move within its budget.
    return ObservabilityConfig(
        metrics_address=f"127.0.0.1:{free_port()}", failed_refresh_seconds=0.1
    )


@pytest.fixture(scope="module")
async def env(observability: ObservabilityConfig) -> AsyncIterator[WorkflowEnvironment]:
    runtime = telemetry_runtime(observability)
    assert runtime is not None
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=time_skipping_server_path(),
        data_converter=data_converter(),
        runtime=runtime,
    ) as env:
        yield env
