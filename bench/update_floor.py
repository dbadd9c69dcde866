"""What the Temporal SDK alone costs scenario 4's path, on the same kind of dev server.

Scenario 4 times ``Engine.ingest_event``: an update that the run answers once a local
activity has stored its audit entries, in the SDK's workflow sandbox. This times the
same shape with nothing of DEE's in it (``bench.floor_workflow``): an update that
returns at once, with and without awaiting a local activity that does nothing, with
and without the sandbox. The worker runs in this process; updates go one at a time,
round-robin over 10 waiting runs, the first tenth of each variant not counted. So
the difference between scenario 4 and the ``sandbox_local_activity`` variant is
what DEE adds to an event (its database transaction, the interpreter, the run's
bookkeeping); the variant itself is the floor no engine on this SDK path goes under.

    python -m bench.update_floor [--updates 1000]

Writes ``bench/results/update_floor.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from bench.event_latency import TARGET_P99_MS, latency_figures
from bench.floor_workflow import WORKFLOW_NAME, UpdateFloorWorkflow, noop
from bench.results_file import publish
from dee.devserver import dev_server

RUNS = 10
VARIANTS = {  # name: (sandboxed, with a local activity)
    "bare": (False, False),
    "local_activity": (False, True),
    "sandbox": (True, False),
    "sandbox_local_activity": (True, True),
}


async def _latencies(client: Client, queue: str, updates: int, with_la: bool) -> list[float]:
    handles = [
        await client.start_workflow(WORKFLOW_NAME, id=f"{queue}-{i}", task_queue=queue)
        for i in range(RUNS)
    ]
    out = []
    for n in range(updates):
        begin = time.perf_counter()
        await handles[n % RUNS].execute_update(UpdateFloorWorkflow.bump, with_la)
        out.append((time.perf_counter() - begin) * 1000)
    for handle in handles:
        await handle.signal(UpdateFloorWorkflow.finish)
    return out[updates // 10 :]


async def variant(client: Client, sandboxed: bool, with_la: bool, updates: int) -> dict[str, Any]:
    queue = f"bench-floor-{uuid.uuid4().hex[:8]}"
    runner = {} if sandboxed else {"workflow_runner": UnsandboxedWorkflowRunner()}
    async with Worker(
        client, task_queue=queue, workflows=[UpdateFloorWorkflow], activities=[noop], **runner
    ):
        latencies = await _latencies(client, queue, updates, with_la)
    return {"updates_counted": len(latencies), **latency_figures(latencies)}


async def run(updates: int) -> dict[str, Any]:
    async with dev_server(ui=False) as dev:
        client = await Client.connect(dev.address)
        figures = {
            name: await variant(client, sandboxed, with_la, updates)
            for name, (sandboxed, with_la) in VARIANTS.items()
        }
    return {"updates": updates, "runs": RUNS, "target_p99_ms": TARGET_P99_MS, **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--updates", type=int, default=1000)
    args = parser.parse_args()
    result = asyncio.run(run(args.updates))
    publish("update_floor", result)


if __name__ == "__main__":
    main()
