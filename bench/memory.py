"""Scenario 6: worker memory with N runs waiting on timers.

N runs of the wait-first plan (each parks on a 24-hour timer after its first
workflow task) are started against a worker process (``bench.worker_proc``, the
instant activities: the workflow's memory is what is measured, not a database
driver's). The worker's resident set (VmRSS) is read when it is idle before the
starts and again once every run is waiting and the worker is idle. Measured twice:
with the SDK's default workflow cache (``max_cached_workflows=1000``, what
``dee worker`` uses: runs beyond it are evicted and replayed when they wake) and
with a cache of N (every waiting run held in memory).

    python -m bench.memory [--runs 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from typing import Any

from temporalio.client import Client

from activities import contracts as c
from bench.infra import settle
from bench.plans import wait_first_plan
from bench.proc import worker_process
from bench.results_file import publish
from dee.devserver import dev_server
from workflows.plan_run import PlanRunWorkflow

MB = 1024 * 1024


async def _start_waiting(client: Client, queue: str, runs: int) -> list[str]:
    plan = wait_first_plan()
    document, digest = plan.to_document(), plan.content_hash
    gate = asyncio.Semaphore(64)
    prefix = uuid.uuid4().hex[:8]

    async def one(i: int) -> str:
        run_id = f"mem-{prefix}-{i}"
        async with gate:
            await client.start_workflow(
                PlanRunWorkflow.run,
                c.RunInput(run_id, "bench", document, digest, {"id": f"m-{i}"}),
                id=run_id,
                task_queue=queue,
            )
        return run_id

    return await asyncio.gather(*(one(i) for i in range(runs)))


async def _waiting(client: Client, run_ids: list[str]) -> int:
    """How many of a sample of the runs report WAITING (a query each)."""
    sample = run_ids[:: max(1, len(run_ids) // 20)]
    views = [await client.get_workflow_handle(r).query(PlanRunWorkflow.state) for r in sample]
    return sum(v.status == "WAITING" for v in views) * len(run_ids) // len(sample)


async def one_setting(address: str, runs: int, cache: int) -> dict[str, Any]:
    client = await Client.connect(address)
    queue = f"bench-mem-{uuid.uuid4().hex[:8]}"
    async with worker_process(address, queue, cache=cache) as worker:
        await _start_waiting(client, queue, 20)  # warm-up: imports, first sandbox
        await settle(worker)
        idle = worker.rss()
        run_ids = await _start_waiting(client, queue, runs)
        await settle(worker)
        loaded = worker.rss()
        waiting = await _waiting(client, run_ids[:runs])
    held = min(runs, cache)
    return {
        "max_cached_workflows": cache,
        "runs_waiting": runs,
        "sampled_waiting_estimate": waiting,
        "rss_idle_mb": round(idle / MB, 1),
        "rss_with_runs_mb": round(loaded / MB, 1),
        "rss_growth_mb": round((loaded - idle) / MB, 1),
        "kb_per_cached_run": round((loaded - idle) / 1024 / held, 1),
    }


async def run(address: str, runs: int) -> dict[str, Any]:
    default = await one_setting(address, runs, 1000)
    all_cached = await one_setting(address, runs, max(runs, 1000))
    return {"runs": runs, "default_cache": default, "all_cached": all_cached}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5000)
    args = parser.parse_args()

    async def go() -> dict[str, Any]:
        async with dev_server(ui=False) as dev:
            return await run(dev.address, args.runs)

    result = asyncio.run(go())
    publish("memory", result)


if __name__ == "__main__":
    main()
