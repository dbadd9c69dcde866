"""The plan's compliance block on a real run (time-skipping server, activities as
in-memory fakes): the workflow asks the gate with the debt read from the run's
variables, the plan's presets and subject, and a call's caller id; a plan without the
block asks as it always did."""

from __future__ import annotations

import uuid
from typing import Any

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import contracts as c
from interpreter import parse_plan
from tests.integration.runtime.fakes import FakeWorld
from workflows.plan_run import PlanRunWorkflow

PLAN = {
    "id": "collect",
    "version": 1,
    "name": "Collections",
    "metadata": {"createdAt": "2026-01-01T00:00:00Z", "createdBy": "tests"},
    "compliance": {"presets": ["regf"], "debtRef": "vars.loan.number", "subject": "Loan"},
    "steps": [
        {"type": "sendEmail", "id": "mail", "templateId": "t", "subject": "Hello"},
        {
            "type": "sendVoice",
            "id": "call",
            "scriptId": "s",
            "callerId": "+15551234567",
            "maxDuration": {"minutes": 2},
        },
        {"type": "end", "id": "done", "outcome": "called"},
    ],
}


async def _asked(
    env: WorkflowEnvironment, document: dict[str, Any], variables: dict[str, Any]
) -> list[c.PolicyRequest]:
    plan = parse_plan(document, source="test")
    world, queue, run_id = FakeWorld(), f"q-{uuid.uuid4()}", f"run-{uuid.uuid4()}"
    run = c.RunInput(
        run_id=run_id,
        tenant="acme",
        plan=plan.to_document(),
        plan_hash=plan.content_hash,
        contact={"id": "contact-1"},
        variables=variables,
        search_attributes=False,
    )
    async with Worker(
        env.client, task_queue=queue, workflows=[PlanRunWorkflow], activities=world.activities()
    ):
        handle = await env.client.start_workflow(
            PlanRunWorkflow.run, run, id=run_id, task_queue=queue
        )
        result = await handle.result()
    assert (result.status, result.outcome) == ("COMPLETED", "called")
    return world.asked


def _about(req: c.PolicyRequest) -> tuple[Any, ...]:
    return (
        req.step_id,
        req.debt_ref,
        req.subject,
        req.presets,
        req.caller_id,
        req.debt_ref_problem,
    )


async def test_the_gate_is_asked_with_the_runs_debt_and_the_plans_block(
    env: WorkflowEnvironment,
) -> None:
    asked = await _asked(env, PLAN, {"loan": {"number": "L-7"}})
    assert [_about(r) for r in asked] == [
        ("mail", "L-7", "Loan", ["regf"], None, None),
        ("call", "L-7", "Loan", ["regf"], "+15551234567", None),
    ]


async def test_a_missing_debt_is_asked_as_none_with_the_reason(env: WorkflowEnvironment) -> None:
    asked = await _asked(env, PLAN, {})
    problem = "compliance.debtRef vars.loan.number: the run has no value there"
    assert [_about(r) for r in asked] == [
        ("mail", None, "Loan", ["regf"], None, problem),
        ("call", None, "Loan", ["regf"], "+15551234567", problem),
    ]


async def test_a_plan_without_the_block_asks_as_before(env: WorkflowEnvironment) -> None:
    asked = await _asked(env, {k: v for k, v in PLAN.items() if k != "compliance"}, {})
    assert [_about(r) for r in asked] == [
        ("mail", None, None, [], None, None),
        ("call", None, None, [], "+15551234567", None),
    ]
