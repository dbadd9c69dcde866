"""PlanRunWorkflow on the real time-skipping server, activities as in-memory fakes."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import contracts as c
from interpreter import Event, simulate, verify
from tests.integration.runtime.fakes import FakeWorld
from tests.integration.waiting import until
from tests.interpreter.helpers import sales_plan
from workflows.plan_run import PlanRunWorkflow

WAIT = 3 * 86_400 + 12 * 3_600


def _input(run_id: str) -> c.RunInput:
    plan = sales_plan()
    return c.RunInput(
        run_id=run_id,
        tenant="acme",
        plan=plan.to_document(),
        plan_hash=plan.content_hash,
        contact={"id": "contact-1"},
        search_attributes=False,
    )


async def _start(
    client: Client, queue: str, run_id: str
) -> WorkflowHandle[PlanRunWorkflow, c.RunResult]:
    return await client.start_workflow(
        PlanRunWorkflow.run, _input(run_id), id=run_id, task_queue=queue
    )


async def test_the_sales_plan_runs_end_to_end_like_its_simulation(env: WorkflowEnvironment) -> None:
    world = FakeWorld()
    queue = f"q-{uuid.uuid4()}"
    async with Worker(
        env.client, task_queue=queue, workflows=[PlanRunWorkflow], activities=world.activities()
    ):
        handle = await _start(env.client, queue, "run-cold")
        result = await handle.result()
    assert (result.status, result.outcome) == ("COMPLETED", "followed-up")
    chain = world.chain("run-cold")
    assert verify(chain) is None and chain[-1]["hash"] == result.audit_head
    path = [e["step_id"] for e in chain if e["action"] == "enter"]
    assert path == list(simulate(sales_plan(), {"id": "contact-1"}, []).path)
    assert [s[1] for s in world.sends] == ["intro-email", "cold-follow-up", "follow-up-call"]
    assert world.runs["run-cold"].status == "COMPLETED"


async def test_an_open_during_the_wait_takes_the_warm_path(env: WorkflowEnvironment) -> None:
    world = FakeWorld()
    queue = f"q-{uuid.uuid4()}"
    async with Worker(
        env.client, task_queue=queue, workflows=[PlanRunWorkflow], activities=world.activities()
    ):
        handle = await _start(env.client, queue, "run-open")
        await env.sleep(timedelta(hours=1))
        await handle.signal(
            PlanRunWorkflow.ingest_event, c.EventSignal("evt-1", "email.opened", "intro-email")
        )
        await handle.signal(
            PlanRunWorkflow.ingest_event, c.EventSignal("evt-1", "email.opened", "intro-email")
        )
        result = await handle.result()
    assert result.outcome == "followed-up"
    chain = world.chain("run-open")
    path = [e["step_id"] for e in chain if e["action"] == "enter"]
    events = [Event("email.opened", 3_600, "evt-1", "intro-email")]
    assert path == list(simulate(sales_plan(), {"id": "contact-1"}, events).path)
    assert [(e["action"], e["outcome"]) for e in chain if e["action"] == "event"] == [
        ("event", "ingested"),
        ("event", "duplicate"),
    ]


async def test_a_failed_send_waits_for_retry_and_sends_exactly_once_more(
    env: WorkflowEnvironment,
) -> None:
    world = FakeWorld(fail_sends={"intro-email": "smtp_timeout"})
    queue = f"q-{uuid.uuid4()}"
    async with Worker(
        env.client, task_queue=queue, workflows=[PlanRunWorkflow], activities=world.activities()
    ):
        handle = await _start(env.client, queue, "run-retry")
        await env.sleep(timedelta(minutes=5))
        view = await handle.query(PlanRunWorkflow.state)
        assert view.status == "FAILED" and view.failure is not None
        assert view.failure["reason"] == "smtp_timeout"
        assert world.sends == [("run-retry", "intro-email", 1)]
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(PlanRunWorkflow.resume, c.OperatorRequest(by="ops"))
        assert "the run is not paused (it is FAILED)" in str(refused.value.cause)
        await handle.execute_update(
            PlanRunWorkflow.retry, c.OperatorRequest(by="ops", reason="smtp back")
        )
        result = await handle.result()
    assert result.status == "COMPLETED"
    assert world.sends.count(("run-retry", "intro-email", 1)) == 2  # the retry, same visit key
    assert verify(world.chain("run-retry")) is None


async def test_a_signalled_payload_that_cannot_be_hashed_is_kept_with_the_reason(
    env: WorkflowEnvironment,
) -> None:
    world = FakeWorld()
    plan = sales_plan()
    queue = f"q-{uuid.uuid4()}"
    run_input = c.RunInput("edge-signal", "t", plan.to_document(), plan.content_hash,
                           {"id": "c"}, search_attributes=False)  # fmt: skip
    async with Worker(
        env.client, task_queue=queue, workflows=[PlanRunWorkflow], activities=world.activities()
    ):
        handle = await env.client.start_workflow(
            PlanRunWorkflow.run, run_input, id="edge-signal", task_queue=queue
        )
        await env.sleep(60)
        bad = c.EventSignal("e-big", "email.opened", "intro-email", {"n": 2**60})
        await handle.signal(PlanRunWorkflow.ingest_event, bad)
        await env.sleep(60)
        view = await handle.query(PlanRunWorkflow.state)
        assert view.status == "WAITING" and view.events == 1  # the run goes on
        await handle.cancel()
    [event] = [e for e in world.chain("edge-signal") if e["action"] == "event"]
    assert event["detail"]["id"] == "e-big"
    assert "IntegerDomainError" in event["detail"]["data"]["invalidData"]


async def test_cancel_during_an_in_flight_send_still_records_what_the_send_did(
    env: WorkflowEnvironment,
) -> None:
    world = FakeWorld(send_gate=asyncio.Event())
    plan = sales_plan()
    queue = f"q-{uuid.uuid4()}"
    run_input = c.RunInput("edge-cancel", "t", plan.to_document(), plan.content_hash,
                           {"id": "c"}, search_attributes=False)  # fmt: skip
    async with Worker(
        env.client, task_queue=queue, workflows=[PlanRunWorkflow], activities=world.activities()
    ):
        handle = await env.client.start_workflow(
            PlanRunWorkflow.run, run_input, id="edge-cancel", task_queue=queue
        )
        await until(  # the send activity is running (and held at the gate)
            lambda: handle.query(PlanRunWorkflow.state),
            lambda view: view.phase == "send",
            what="the send of edge-cancel starting",
        )
        view = await handle.execute_update(
            PlanRunWorkflow.cancel, c.OperatorRequest(by="ops", reason="stop now")
        )
        assert view.status == "CANCELED"
        assert world.send_gate is not None
        world.send_gate.set()
        result = await handle.result()
    assert result.status == "CANCELED"
    chain = world.chain("edge-cancel")
    assert [(e["action"], e["outcome"]) for e in chain[-2:]] == [
        ("cancel", "accepted"),
        ("send_email", "delivered"),
    ]
    assert chain[-1]["detail"]["afterCancel"] is True
    assert chain[-1]["detail"]["providerMessageId"] == "m-intro-email"
    assert world.sends == [("edge-cancel", "intro-email", 1)]
