"""Scenario 4: event latency, from ``Engine.ingest_event`` to the decision in the run's state.

A few runs of a wait-first plan are started through the ``Engine`` on the dev
server, with the worker DEE ships (``bench.worker_proc --kind real``: audit log in
PostgreSQL when reachable) in its own process. Then, one at a time, events go to
the runs in turn. ``ingest_event`` looks the run up in the database and delivers
the event as the ``ingest`` update, which returns once the run has decided on it
and its audit entry is stored. Two figures per event:

- the target's figure: until ``ingest_event`` returns with the run's state after the
  event (the ``RunView`` of a ``handled`` delivery) — by then the decision is in the
  run's state for every reader, and its audit entry is committed;
- ``confirmed_by_query``: until a separate ``state`` query, sent once ``ingest_event``
  returned (repeated back to back until it shows the event), agrees — one more
  round trip through the server and the worker, reported alongside.

    python -m bench.event_latency [--events 1000] [--runs 10]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from temporalio.client import Client

from bench.infra import bench_database
from bench.plans import wait_first_plan
from bench.proc import worker_process
from bench.results_file import publish
from dee.config import EngineConfig, TemporalConfig
from dee.devserver import dev_server
from dee.engine import Engine
from workflows.plan_run import PlanRunWorkflow

ROOT = Path(__file__).resolve().parents[1]
TARGET_P99_MS = 50.0


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..1) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, round(share * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


async def _wait_until(engine: Engine, run_id: str, events: int, limit: float = 30) -> None:
    handle = engine.client.get_workflow_handle(run_id)
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        view = await handle.query(PlanRunWorkflow.state)
        if view.events >= events and view.status == "WAITING":
            return
    raise TimeoutError(f"{run_id}: event {events} not visible within {limit} s")


async def measure(
    address: str, database_url: str, events: int, runs: int
) -> tuple[list[float], list[float]]:
    queue = f"bench-events-{uuid.uuid4().hex[:8]}"
    config = EngineConfig(
        database=database_url,
        templates_dir=ROOT / "templates",
        temporal=TemporalConfig(address=address, task_queue=queue),
    )
    async with worker_process(address, queue, kind="real", database=database_url):
        engine = await Engine.connect(config, client=await Client.connect(address))
        try:
            plan = wait_first_plan()
            started = [
                await engine.execute(plan, contact={"id": f"ev-{i}", "email": f"e{i}@example.com"})
                for i in range(runs)
            ]
            for run in started:
                await _wait_until(engine, run.run_id, 0)
            seen = dict.fromkeys((r.run_id for r in started), 0)
            acks, visible = [], []
            for n in range(events):
                run = started[n % runs]
                begin = time.perf_counter()
                got = await engine.ingest_event(
                    type="email.opened", contact_id=run.contact_id, run_id=run.run_id,
                    step_id="mail", event_id=f"evt-{n}",
                )  # fmt: skip
                acks.append((time.perf_counter() - begin) * 1000)
                seen[run.run_id] += 1
                outcomes = [d.outcome for d in got.deliveries]
                if outcomes != ["handled"]:  # a fallback would time another path
                    raise RuntimeError(f"event {n}: delivered as {outcomes}, not handled")
                await _wait_until(engine, run.run_id, seen[run.run_id])
                visible.append((time.perf_counter() - begin) * 1000)
            return acks, visible
        finally:
            await engine.close()


def latency_figures(latencies: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p90_ms": round(percentile(latencies, 0.90), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(max(latencies), 2),
        "mean_ms": round(statistics.fmean(latencies), 2),
    }


def summarize(
    acks: list[float], visible: list[float], runs: int, backend: str, note: str
) -> dict[str, Any]:
    figures = latency_figures(acks)
    return {
        "events": len(acks),
        "runs": runs,
        "database": backend,
        "database_note": note,
        **figures,
        "confirmed_by_query": latency_figures(visible),
        "target_p99_ms": TARGET_P99_MS,
        "met": {"p99": figures["p99_ms"] <= TARGET_P99_MS},
    }


async def run(address: str, events: int, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="dee-bench-") as scratch:
        async with bench_database(Path(scratch)) as db:
            acks, visible = await measure(address, db.url, events, runs)
            return summarize(acks, visible, runs, db.backend, db.note)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    async def go() -> dict[str, Any]:
        async with dev_server(ui=False) as dev:
            return await run(dev.address, args.events, args.runs)

    result = asyncio.run(go())
    publish("event_latency", result)


if __name__ == "__main__":
    main()
