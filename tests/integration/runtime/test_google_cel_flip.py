"""The flip onto Google's CEL (issue 23) on the real dev server, through continue-as-new.

A new run (its input names no CEL implementation) records the ``GOOGLE_CEL`` patch,
names the library and its version in its start entry, and keeps evaluating on it when
it continues as new. A run started before the flip (``PreFlip``: the code without
the patch) evaluated on the old evaluator, and today's code, replaying it or
continuing it as new, keeps it there. The branch tells them apart: ``size()`` of
"Zoë" is 3 code points on Google's CEL and 4 UTF-8 bytes on the old evaluator.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, Worker

from activities import contracts as c
from dee.devserver import DevServer, dev_server
from dee.replay.comparison import replay_run
from dee.replay.from_history import decode_history, patches
from dee.sandbox import workflow_runner
from interpreter import ExecutionPlan, PlanMetadata, steps
from interpreter.cel_branch import LEGACY_CEL, recorded_cel
from interpreter.cel_env import CEL_IMPLEMENTATION
from tests.integration.replay.pre_flip import PreFlip
from tests.integration.runtime.fakes import FakeWorld
from tests.integration.waiting import until
from workflows.patches import GOOGLE_CEL
from workflows.plan_run import PlanRunWorkflow

PLAN = ExecutionPlan(
    id="zoe-long",
    version=1,
    name="An email, a wait for the reply, a branch on the name's length",
    metadata=PlanMetadata(created_at="2026-01-01", created_by="tests"),
    steps=(
        steps.send_email(id="first", template_id="tmpl_intro", subject="Hello"),
        steps.wait_for_event(
            id="await",
            until='events.hasReply("first")',
            timeout={"days": 1},
            on_event="check",
            on_timeout="other",
        ),
        steps.branch(
            id="check",
            conditions=[
                {"when": "size(contact.name) == 3", "goto": "three"},
                {"when": "default", "goto": "other"},
            ],
        ),
        steps.end(id="three", outcome="three"),
        steps.end(id="other", outcome="other"),
    ),
)
CONTACT = {"id": "c-1", "timezone": "UTC", "name": "Zoë"}
OPENS = 30  # signals enough for several runs at the server's low threshold


@pytest.fixture(scope="module")
async def client() -> AsyncIterator[Client]:
    # A low continue-as-new suggestion threshold lets a short run continue as new.
    dynamic = {"limit.historyCount.suggestContinueAsNew": "60"}
    server: DevServer
    async with dev_server(ui=False, dynamic_config=dynamic) as server:
        yield await Client.connect(server.address)


async def _run(
    client: Client, workflow_class: type
) -> tuple[c.RunResult, list[WorkflowHistory], list[dict[str, Any]]]:
    """Run the plan to its end; its result, every run's history (oldest first), the chain."""
    world = FakeWorld()
    run_id, queue = f"flip-{uuid.uuid4().hex[:8]}", f"q-{uuid.uuid4()}"
    inp = c.RunInput(
        run_id, "acme", PLAN.to_document(), PLAN.content_hash, CONTACT, {},
        search_attributes=False,
    )  # fmt: skip
    runner = workflow_runner() if workflow_class is PlanRunWorkflow else UnsandboxedWorkflowRunner()
    async with Worker(
        client,
        task_queue=queue,
        workflows=[workflow_class],
        activities=world.activities(),
        workflow_runner=runner,
    ):
        handle = await client.start_workflow(
            c.WORKFLOW_NAME, inp, id=run_id, task_queue=queue, result_type=c.RunResult
        )
        for i in range(OPENS):  # each to the run current then (the latest of the chain)
            await handle.signal("ingest_event", c.EventSignal(f"o-{i}", "email.opened", "first"))
        latest = client.get_workflow_handle(run_id)
        await until(  # the reply, once the run has continued as new: it ends the run
            latest.describe,
            lambda described: described.run_id != handle.first_execution_run_id,
            what=f"run {run_id} continuing as new",
        )
        await handle.signal("ingest_event", c.EventSignal("r-1", "email.replied", "first"))
        result = await handle.result()  # follows the chain to its last run
    histories = [await client.get_workflow_handle(run_id).fetch_history()]
    while previous := _started(histories[0]).continued_execution_run_id:
        histories.insert(
            0, await client.get_workflow_handle(run_id, run_id=previous).fetch_history()
        )
    return result, histories, world.chain(run_id)


def _started(history: WorkflowHistory) -> Any:
    return history.events[0].workflow_execution_started_event_attributes


def _input_cel(history: WorkflowHistory) -> Any:
    """The ``cel`` the run's start input named."""
    [payload] = _started(history).input.payloads
    return DataConverter.default.payload_converter.from_payload(payload)["cel"]


async def _replays_on_todays_code(histories: list[WorkflowHistory]) -> None:
    replayer = Replayer(workflows=[PlanRunWorkflow], workflow_runner=workflow_runner())
    for history in histories:
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, result.replay_failure
    # DEE's own replay of the first run (the one with the start entry) agrees too.
    run = await decode_history(histories[0], source=histories[0].workflow_id)
    assert replay_run(run).identical


async def test_a_new_run_is_on_google_cel_and_stays_on_it_through_continue_as_new(
    client: Client,
) -> None:
    result, histories, chain = await _run(client, PlanRunWorkflow)
    assert len(histories) >= 2, "the run did not continue as new"
    assert result.outcome == "three"  # Google's size(): 3 code points
    [start] = [e for e in chain if e["action"] == "start"]
    assert start["detail"]["cel"] == CEL_IMPLEMENTATION == recorded_cel(chain)
    assert CEL_IMPLEMENTATION.startswith("cel-expr-python ")  # the library and its version
    first, *continued = histories
    assert GOOGLE_CEL in patches(first) and _input_cel(first) is None
    for history in continued:  # carried, so never asked again
        assert _input_cel(history) == CEL_IMPLEMENTATION
        assert GOOGLE_CEL not in patches(history)
    await _replays_on_todays_code(histories)


async def test_a_run_started_before_the_flip_stays_on_the_old_evaluator(client: Client) -> None:
    result, histories, chain = await _run(client, PreFlip)
    assert len(histories) >= 2, "the run did not continue as new"
    assert result.outcome == "other"  # the old size(): 4 UTF-8 bytes
    [start] = [e for e in chain if e["action"] == "start"]
    assert "cel" not in start["detail"] and recorded_cel(chain) == LEGACY_CEL
    first, *continued = histories
    assert not patches(first) & {GOOGLE_CEL} and _input_cel(first) is None
    for history in continued:  # the old evaluator named, so today's code keeps it
        assert _input_cel(history) == LEGACY_CEL
    # Today's code replays every run of the chain on the old evaluator: the first, as
    # its history has no marker; the continued ones, as their input names it.
    await _replays_on_todays_code(histories)
