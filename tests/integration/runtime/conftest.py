"""Fixtures for the runtime tests: an engine configured for the shared time-skipping server
and mail sink (tests/integration/conftest.py)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from dee.config import ChannelsConfig, EmailConfig, EngineConfig, TemporalConfig
from dee.engine import Engine
from dee.worker import worker_for
from tests.integration.mailsink import SmtpServer
from tests.integration.waiting import until

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def config(tmp_path: Path, mail: SmtpServer) -> EngineConfig:
    mail.handler.received.clear()
    return EngineConfig(
        database=f"sqlite+aiosqlite:///{tmp_path / 'dee.db'}",
        templates_dir=ROOT / "templates",
        temporal=TemporalConfig(task_queue=f"q-{uuid.uuid4()}", search_attributes=False),
        channels=ChannelsConfig(
            email=EmailConfig(host=mail.host, port=mail.port, sender="Sales <sales@example.com>")
        ),
    )


@pytest.fixture
async def engine(env: WorkflowEnvironment, config: EngineConfig) -> AsyncIterator[Engine]:
    engine = await Engine.connect(config, client=env.client)
    try:
        async with worker_for(config, env.client, database=engine.database) as worker, worker:
            yield engine
            await _end_runs(engine)
    finally:
        await engine.close()


async def _end_runs(engine: Engine) -> None:
    """Terminate what a test left running: a workflow task with no worker left to take it
    would stop the time-skipping server from skipping time for the next tests."""
    for run in await engine.list_runs(limit=10_000):
        handle = engine.client.get_workflow_handle(run.run_id)
        with contextlib.suppress(RPCError):  # already closed
            # Terminating while an activity runs leaves the time-skipping server's lock
            # for that activity held: wait (briefly, in real time) for it to finish.
            with contextlib.suppress(AssertionError):  # then terminate all the same
                await until(
                    handle.describe,
                    lambda d: not d.raw_description.pending_activities,
                    what=f"the activities of {run.run_id} finishing",
                    timeout=5,
                    every=0.1,
                )
            await handle.terminate("test over")
