"""Edges of the runtime: bad event payloads, failed starts, broken executions,
and a cancel that lands while a send is in flight."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from dee.config import EngineConfig
from dee.engine import Engine
from dee.errors import EngineError
from tests.integration.runtime.plans import one_email

CONTACT = {"id": "c-edge", "email": "edge@example.com", "first_name": "E", "company": "X"}
VARS = {"product": "DEE", "sender_name": "Sam"}


async def test_event_data_that_cannot_be_hashed_is_refused_by_the_engine(
    engine: Engine, env: WorkflowEnvironment
) -> None:
    run = await engine.execute(one_email(wait_hours=5), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(minutes=1))  # settle: no activity in flight at teardown
    for bad in ({"n": 2**60}, {"x": math.nan}):
        with pytest.raises(EngineError, match="cannot be recorded in the audit log"):
            await engine.ingest_event(
                type="email.opened", contact_id="c-edge", run_id=run.run_id, data=bad
            )


async def test_a_start_that_temporal_refuses_leaves_no_run_behind(
    env: WorkflowEnvironment, config: EngineConfig
) -> None:
    # The time-skipping server has no DEE search attributes: a start using them fails.
    config = config.model_copy(
        update={"temporal": config.temporal.model_copy(update={"search_attributes": True})}
    )
    engine = await Engine.connect(config, client=env.client)
    try:
        with pytest.raises(EngineError, match="Temporal refused the start"):
            await engine.execute(one_email(), contact=CONTACT, variables=VARS)
        assert await engine.list_runs() == []
    finally:
        await engine.close()


async def test_a_terminated_execution_is_reported_dead_not_stale(
    engine: Engine, env: WorkflowEnvironment
) -> None:
    run = await engine.execute(one_email(wait_hours=5), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(minutes=1))
    assert (await engine.get_run(run.run_id)).status == "WAITING"
    await engine.client.get_workflow_handle(run.run_id).terminate("operator pulled the plug")
    broken = await engine.get_run(run.run_id)
    assert (broken.status, broken.temporal_status) == ("DEAD", "TERMINATED")
    assert broken.temporal_reason == "operator pulled the plug"
    # This server has no visibility: the listing describes each run instead.
    [listed] = await engine.list_runs()
    assert (listed.status, listed.temporal_reason) == ("DEAD", "operator pulled the plug")
    assert [r.run_id for r in await engine.list_runs(status="DEAD")] == [run.run_id]
    assert await engine.list_runs(status="WAITING") == []
