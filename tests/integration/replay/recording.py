"""Record real ``PlanRunWorkflow`` runs (fake activities) and return their histories.

A scenario is a plan, a contact, the fakes' answers and a list of actions taken
against the running workflow (sleep, signal an event, an operator update). The
replay tests and ``scripts/make_histories.py`` share it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import contracts as c
from dee.documents import load_plan
from interpreter import ExecutionPlan
from tests.integration.runtime.fakes import FakeWorld
from tests.integration.temporal_env import plain_history
from workflows.plan_run import PlanRunWorkflow

ROOT = Path(__file__).resolve().parents[3]
DAY = 86_400

Action = tuple[str, Any]


@dataclass
class Scenario:
    name: str
    plan: str | ExecutionPlan = "sales-sequence.yaml"
    contact: dict[str, Any] = field(default_factory=lambda: {"id": "c-1", "timezone": "UTC"})
    actions: list[Action] = field(default_factory=list)
    fail_sends: dict[str, str] = field(default_factory=dict)
    unknown_sends: dict[str, str] = field(default_factory=dict)
    policy: dict[str, c.PolicyResponse] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    # Real seconds every send takes (a slow provider): its result is handled ticks later.
    send_seconds: float = 0.0
    # The instant local times count from (``RunInput.calendar_origin_ms``): a run whose
    # plan uses local times records the same decisions whatever day it is recorded on.
    calendar_origin_ms: int | None = None
    # What every send waits on instead (``wait()``), to act while a send is in flight.
    send_gate: Any = None
    # The CEL implementation the run is told to evaluate with (``RunInput.cel``).
    cel: str | None = None


class _Delay:
    """Stands where ``FakeWorld.send_gate`` waits: a send that takes real time."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def wait(self) -> None:
        await asyncio.sleep(self.seconds)


def sleep(seconds: int) -> Action:
    return ("sleep", seconds)


def call(step: Callable[[], Awaitable[Any] | None]) -> Action:
    """Call ``step`` (and await what it returns, for at most ``CALL_TIMEOUT`` seconds):
    wait for a gate the test holds, or open it."""
    return ("call", step)


CALL_TIMEOUT = 30.0


def event(event_id: str, kind: str, step_id: str | None = None, **data: Any) -> Action:
    return ("signal", c.EventSignal(event_id, kind, step_id, dict(data)))


def answered(event_id: str, kind: str, step_id: str | None = None, **data: Any) -> Action:
    """An event delivered as ``Engine.ingest_event`` does: the ``ingest`` update."""
    return ("update", (c.INGEST_UPDATE, c.EventSignal(event_id, kind, step_id, dict(data))))


def operator(action: str, **request: Any) -> Action:
    return ("update", (action, c.OperatorRequest(by="ops@example.com", **request)))


async def record(
    env: WorkflowEnvironment,
    scenario: Scenario,
    *,
    workflows: list[type] | None = None,
    runner: Any = None,
    workflow_id: str | None = None,
) -> tuple[WorkflowHistory, list[dict[str, Any]]]:
    """Run ``scenario`` on a fresh task queue; the history and the persisted chain."""
    plan = scenario.plan
    if isinstance(plan, str):
        plan = load_plan(ROOT / "plans" / plan)
    world = FakeWorld(
        fail_sends=dict(scenario.fail_sends),
        unknown_sends=dict(scenario.unknown_sends),
        policy=dict(scenario.policy),
    )
    if scenario.send_seconds:
        world.send_gate = _Delay(scenario.send_seconds)  # type: ignore[assignment]
    if scenario.send_gate is not None:
        world.send_gate = scenario.send_gate
    run_id = workflow_id or f"{scenario.name}-{uuid.uuid4().hex[:8]}"
    run_input = c.RunInput(
        run_id, "acme", plan.to_document(), plan.content_hash, scenario.contact,
        scenario.variables, search_attributes=False,
        calendar_origin_ms=scenario.calendar_origin_ms, cel=scenario.cel,
    )  # fmt: skip
    queue = f"q-{uuid.uuid4()}"
    extra: dict[str, Any] = {"identity": "dee-replay-recorder"}
    if runner is not None:
        extra["workflow_runner"] = runner
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=workflows or [PlanRunWorkflow],
        activities=world.activities(),
        **extra,
    ):
        handle = await env.client.start_workflow(
            c.WORKFLOW_NAME, run_input, id=run_id, task_queue=queue, result_type=c.RunResult
        )
        await env.sleep(1)
        for kind, arg in scenario.actions:
            if kind == "sleep":
                await env.sleep(arg)
            elif kind == "signal":
                await handle.signal("ingest_event", arg)
            elif kind == "call":
                awaited = arg()
                if awaited is not None:
                    await asyncio.wait_for(awaited, CALL_TIMEOUT)
            else:
                name, request = arg
                await handle.execute_update(name, request, result_type=c.RunView)
        await env.sleep(60)
        history = await plain_history(await handle.fetch_history())
    return WorkflowHistory(run_id, history.events), world.chain(run_id)


def edit_carried_entry(text: str, seq: int, edit: Callable[[dict[str, Any]], None]) -> str:
    """A history JSON whose audit entry ``seq`` (in every activity input) was edited."""
    data = json.loads(text)
    for ev in data["events"]:
        attrs = ev.get("activityTaskScheduledEventAttributes")
        if not attrs:
            continue
        for payload in attrs["input"]["payloads"]:
            arg = json.loads(base64.b64decode(payload["data"]))
            batch = arg.get("batch", arg)  # a run's last flush is a batch itself
            for entry in batch["entries"]:
                if entry["seq"] == seq:
                    edit(entry)
            payload["data"] = base64.b64encode(json.dumps(arg).encode()).decode()
    return json.dumps(data)
