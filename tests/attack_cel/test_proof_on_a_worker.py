"""Issue 23's proof on a real worker (the dev server): branches on ``size()`` of a
non-ASCII name, ``dyn()``, a timestamp comparison and ``lowerAscii()``/``endsWith()``
each take the branch standard CEL says, in runs started on today's code."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from activities import contracts as c
from dee.devserver import DevServer, dev_server
from dee.sandbox import workflow_runner
from interpreter import ExecutionPlan, PlanMetadata, steps, validate
from interpreter.cel_env import CEL_IMPLEMENTATION
from tests.integration.runtime.fakes import FakeWorld
from workflows.plan_run import PlanRunWorkflow

CHECKS = (
    ("name", "size(contact.name) == 3"),
    ("balance", "dyn(contact.balance) > 100"),
    ("signed", 'timestamp(contact.signedUp) < timestamp("2026-01-01T00:00:00Z")'),
    ("email", 'contact.email.lowerAscii().endsWith("@example.com")'),
)


def _plan() -> ExecutionPlan:
    branches = [
        steps.branch(
            id=f"check-{name}",
            conditions=[
                {
                    "when": when,
                    "goto": f"check-{CHECKS[i + 1][0]}" if i + 1 < len(CHECKS) else "all",
                },
                {"when": "default", "goto": f"not-{name}"},
            ],
        )
        for i, (name, when) in enumerate(CHECKS)
    ]
    ends = [steps.end(id=f"not-{name}", outcome=f"not-{name}") for name, _ in CHECKS]
    return ExecutionPlan(
        id="proof-23",
        version=1,
        name="Each condition of issue 23's proof, in turn",
        metadata=PlanMetadata(created_at="2026-01-01", created_by="tests"),
        steps=(*branches, steps.end(id="all", outcome="all"), *ends),
    )


PLAN = _plan()
ZOE = {
    "id": "c-1",
    "timezone": "UTC",
    "name": "Zoë",  # 3 code points, 4 UTF-8 bytes
    "balance": 250,
    "signedUp": "2025-12-31T23:59:59Z",
    "email": "Zoe.Dupont@Example.COM",
}
# Each contact fails exactly one condition: the run ends at that condition's default.
CASES = {
    "all": ZOE,
    "not-name": {**ZOE, "name": "Zoëy"},
    "not-balance": {**ZOE, "balance": 100.5 - 0.5},  # a double: dyn() compares across types
    "not-signed": {**ZOE, "signedUp": "2026-01-01T00:00:00Z"},
    "not-email": {**ZOE, "email": "zoe@example.com.evil"},
}


@pytest.fixture(scope="module")
async def client() -> AsyncIterator[Client]:
    server: DevServer
    async with dev_server(ui=False) as server:
        yield await Client.connect(server.address)


async def _run(client: Client, world: FakeWorld, queue: str, contact: dict[str, Any]) -> Any:
    run_id = f"proof-{uuid.uuid4().hex[:8]}"
    inp = c.RunInput(
        run_id, "acme", PLAN.to_document(), PLAN.content_hash, contact, {},
        search_attributes=False,
    )  # fmt: skip
    result = await client.execute_workflow(
        c.WORKFLOW_NAME, inp, id=run_id, task_queue=queue, result_type=c.RunResult
    )
    return result, world.chain(run_id)


async def test_each_condition_takes_the_branch_standard_cel_says(client: Client) -> None:
    assert validate(PLAN) == []  # on Google's checker, today's default
    world, queue = FakeWorld(), f"q-{uuid.uuid4()}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[PlanRunWorkflow],
        activities=world.activities(),
        workflow_runner=workflow_runner(),
    ):
        done = await asyncio.gather(
            *(_run(client, world, queue, contact) for contact in CASES.values())
        )
    for expected, (result, chain) in zip(CASES, done, strict=True):
        assert result.outcome == expected, (expected, chain)
        [start] = [e for e in chain if e["action"] == "start"]
        assert start["detail"]["cel"] == CEL_IMPLEMENTATION
