"""The code before the flip onto Google's CEL (issue 23), and a plan whose branch tells
the two evaluators apart: ``size()`` of "Zoë" is 3 code points on Google's CEL and 4
UTF-8 bytes on the old evaluator. Shared by the replay tests, the dev-server test and
``scripts/make_histories.py``."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

from activities import contracts as c
from interpreter import ExecutionPlan, PlanMetadata, steps
from workflows.plan_run import PlanRunWorkflow

ZOE_PLAN = ExecutionPlan(
    id="zoe",
    version=1,
    name="Zoë",
    metadata=PlanMetadata(created_at="2026-01-01T00:00:00Z", created_by="tests"),
    steps=(
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
ZOE = {"id": "c-1", "timezone": "UTC", "name": "Zoë"}


@workflow.defn(name=c.WORKFLOW_NAME)
class PreFlip(PlanRunWorkflow):
    """The workflow before the flip: a start naming no CEL runs on the old evaluator
    (run it with ``UnsandboxedWorkflowRunner``: a test module is not passed through)."""

    def _google_cel_today(self) -> bool:
        return False

    @workflow.run
    async def run(self, raw: Any) -> c.RunResult:
        return await super().run(raw)
