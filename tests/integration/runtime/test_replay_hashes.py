"""Replaying a run's history recomputes the same decisions and the same audit hashes."""

from __future__ import annotations

import uuid
from typing import Any

from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import (
    Interceptor,
    Replayer,
    StartActivityInput,
    StartLocalActivityInput,
    UnsandboxedWorkflowRunner,
    Worker,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from activities import contracts as c
from tests.integration.runtime.fakes import FakeWorld
from tests.integration.temporal_env import plain_history
from tests.interpreter.helpers import sales_plan
from workflows.plan_run import PlanRunWorkflow

SEEN: list[dict[str, Any]] = []


def _capture(args: Any) -> None:
    for arg in args:
        batch = arg if isinstance(arg, c.AuditBatch) else getattr(arg, "batch", None)
        if isinstance(batch, c.AuditBatch):
            SEEN.extend(batch.entries)


class _Outbound(WorkflowOutboundInterceptor):
    def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle[Any]:
        _capture(input.args)
        return super().start_activity(input)

    def start_local_activity(self, input: StartLocalActivityInput) -> workflow.ActivityHandle[Any]:
        _capture(input.args)
        return super().start_local_activity(input)


class _Inbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_Outbound(outbound))


class CaptureAuditBatches(Interceptor):
    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        return _Inbound


async def test_replaying_the_history_recomputes_identical_audit_hashes(
    env: WorkflowEnvironment,
) -> None:
    world = FakeWorld(fail_sends={"cold-follow-up": "smtp_timeout"})
    plan = sales_plan()
    queue = f"q-{uuid.uuid4()}"
    run_input = c.RunInput(
        "replay-run", "acme", plan.to_document(), plan.content_hash, {"id": "c"},
        search_attributes=False,
    )  # fmt: skip
    async with Worker(
        env.client, task_queue=queue, workflows=[PlanRunWorkflow], activities=world.activities()
    ):
        handle = await env.client.start_workflow(
            PlanRunWorkflow.run, run_input, id="replay-run", task_queue=queue
        )
        await env.sleep(86_400 * 4)
        await handle.execute_update(PlanRunWorkflow.retry, c.OperatorRequest(by="ops"))
        await env.sleep(60)
        history = await plain_history(await handle.fetch_history())
    recorded = world.chain("replay-run")
    assert (recorded[-1]["action"], recorded[-1]["outcome"]) == ("end", "followed-up")
    assert any(e["action"] == "retry" for e in recorded)

    SEEN.clear()
    replayer = Replayer(
        workflows=[PlanRunWorkflow],
        interceptors=[CaptureAuditBatches()],
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    await replayer.replay_workflow(history)  # raises on any nondeterminism
    replayed = {e["seq"]: e for e in SEEN}
    assert [replayed[e["seq"]] for e in recorded] == recorded
