"""What audit mirroring costs a run in Temporal history, on the time-skipping server.

Runs the documents' sales plan (cold path: three sends, one wait, one branch) through
``PlanRunWorkflow`` with in-memory activities, then counts the history events by type.
Audit entries travel inside the policy and send activities (no extra activity per
send); only waits and the end flush them with a local activity (one marker each).

    python -m bench.audit_cost
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import contracts as c
from bench.results_file import publish
from tests.integration.runtime.fakes import FakeWorld
from tests.integration.temporal_env import time_skipping_server_path
from tests.interpreter.helpers import sales_plan
from workflows.plan_run import PlanRunWorkflow


async def measure() -> dict[str, object]:
    plan = sales_plan()
    world = FakeWorld()
    queue = f"bench-{uuid.uuid4()}"
    async with (
        await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=time_skipping_server_path()
        ) as env,
        Worker(env.client, task_queue=queue, workflows=[PlanRunWorkflow],
               activities=world.activities()) as _worker,
    ):  # fmt: skip
        run_input = c.RunInput("bench-run", "bench", plan.to_document(), plan.content_hash,
                               {"id": "c"}, search_attributes=False)  # fmt: skip
        handle = await env.client.start_workflow(
            PlanRunWorkflow.run, run_input, id="bench-run", task_queue=queue
        )
        result = await handle.result()
        kinds: Counter[str] = Counter()
        async for event in handle.fetch_history_events():
            kinds[str(event.WhichOneof("attributes")).removesuffix("_event_attributes")] += 1
    entries = len(world.chain("bench-run"))
    steps = sum(1 for e in world.chain("bench-run") if e["action"] == "enter")
    return {
        "benchmark": "audit_cost",
        "plan": plan.id,
        "path": "cold (no events): 3 sends, 1 wait, 1 branch, end",
        "status": result.status,
        "steps": steps,
        "audit_entries": entries,
        "history_events": sum(kinds.values()),
        "history_events_by_type": dict(sorted(kinds.items())),
        "audit_local_activity_markers": kinds["marker_recorded"],
        "activities_scheduled": kinds["activity_task_scheduled"],
    }


def main() -> None:
    result = asyncio.run(measure())
    publish("audit_cost", result)


if __name__ == "__main__":
    main()
