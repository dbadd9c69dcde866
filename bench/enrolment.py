"""Scenario 5: bulk enrolment, ``dee start --contacts`` against a raw ``start_workflow`` loop.

Both sides start N runs of a wait-first plan (the runs park on a timer at once, so
the figure is about starting) on the dev server, with the worker DEE ships running
in its own process (the engine answers ``get_run`` from the live workflow, and both
sides' runs take their first workflow task there):

* ``cli``: the real command, ``dee start PLAN --contacts FILE.csv --config C --json``,
  as a subprocess, timed end to end (process start included): it validates and
  stores the plan once, starts the workflows with their search attributes and UI
  summary 64 at a time, and records the runs in one transaction
  (``Engine.execute_many``).
* ``raw``: ``Client.start_workflow(PlanRunWorkflow.run, RunInput(...))`` for the same
  contacts with the same plan snapshot, 64 at a time, nothing else.

Rounds alternate which side goes first, and every side runs on a dev server and worker
of its own (see ``_side``).

    python -m bench.enrolment [--contacts 5000] [--rounds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import yaml
from temporalio.client import Client

from activities import contracts as c
from bench.infra import bench_database, settle
from bench.plans import wait_first_plan
from bench.proc import worker_process
from dee.cli.runs import BULK_CONCURRENCY
from dee.devserver import dev_server
from workflows.plan_run import PlanRunWorkflow

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 0.9


def _write_inputs(folder: Path, contacts: int, address: str, queue: str, db_url: str) -> None:
    (folder / "plan.yaml").write_text(yaml.safe_dump(wait_first_plan().to_document()))
    with (folder / "contacts.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "email"])
        writer.writerows([f"bulk-{i}", f"bulk{i}@example.com"] for i in range(contacts))
    settings = {
        "database": db_url,
        "templatesDir": str(ROOT / "templates"),
        "temporal": {"address": address, "taskQueue": queue},
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(settings))


async def _cli(folder: Path) -> float:
    dee = Path(sys.executable).parent / "dee"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEE_")}
    args = [
        str(dee), "start", str(folder / "plan.yaml"), "--contacts", str(folder / "contacts.csv"),
        "--config", str(folder / "config.yaml"), "--json",
    ]  # fmt: skip
    begin = time.perf_counter()
    # Waited on in a thread (not an asyncio subprocess; see bench.proc.worker_process).
    done = await asyncio.to_thread(
        subprocess.run, args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT
    )
    if done.returncode != 0:
        raise RuntimeError(f"dee start failed: {done.stderr.decode()[-2000:]}")
    return time.perf_counter() - begin


StartOptions = Callable[[str, str], dict[str, Any]]  # (contact id, plan hash) -> kwargs


async def raw_starts(
    client: Client, queue: str, contacts: int, options: StartOptions | None = None
) -> float:
    """Seconds to start ``contacts`` runs with bare ``start_workflow`` calls, 64 at a
    time; ``options`` adds keyword arguments to each call (``bench.start_options``)."""
    plan = wait_first_plan()
    document, digest = plan.to_document(), plan.content_hash
    gate = asyncio.Semaphore(BULK_CONCURRENCY)
    prefix = uuid.uuid4().hex[:8]

    async def one(i: int) -> None:
        run_id = f"raw-{prefix}-{i}"
        contact = {"id": f"bulk-{i}", "email": f"bulk{i}@example.com"}
        extra = options(contact["id"], digest) if options is not None else {}
        async with gate:
            await client.start_workflow(
                PlanRunWorkflow.run,
                c.RunInput(run_id, "default", document, digest, contact),
                id=run_id,
                task_queue=queue,
                **extra,
            )

    begin = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(contacts)))
    return time.perf_counter() - begin


@asynccontextmanager
async def fresh_worker(db_url: str) -> AsyncIterator[tuple[str, str]]:
    """A dev server of its own with the worker DEE ships polling a new queue, both
    idle: yields (address, queue).

    A fresh server per measured side: the 5,000 runs one side leaves open (and the
    server's work on them) must not slow the next side. Measured: on a shared server
    the side in the fourth slot of A B B A was 35-45 % slower whichever it was.
    """
    async with dev_server(ui=False) as dev:
        queue = f"bench-enrol-{uuid.uuid4().hex[:8]}"
        async with worker_process(dev.address, queue, kind="real", database=db_url) as worker:
            await settle(worker)  # the worker's start-up, and the server's, are done
            yield dev.address, queue


async def _side(side: str, folder: Path, db_url: str, contacts: int) -> float:
    """One side's starts per second, on a dev server and worker of its own."""
    async with fresh_worker(db_url) as (address, queue):
        _write_inputs(folder, contacts, address, queue, db_url)
        if side == "cli":
            seconds = await _cli(folder)
        else:
            seconds = await raw_starts(await Client.connect(address), queue, contacts)
    return contacts / seconds


async def run(contacts: int, rounds: int) -> dict[str, Any]:
    rates: dict[str, list[float]] = {"cli": [], "raw": []}
    with tempfile.TemporaryDirectory(prefix="dee-bench-") as scratch:
        folder = Path(scratch)
        async with bench_database(folder) as db:
            for r in range(rounds):
                for side in ["cli", "raw"] if r % 2 == 0 else ["raw", "cli"]:
                    rate = await _side(side, folder, db.url, contacts)
                    rates[side].append(rate)
                    print(f"  round {r + 1}/{rounds} {side}: {rate:.1f} starts/s", flush=True)
    ratios = [a / b for a, b in zip(rates["cli"], rates["raw"], strict=True)]
    ratio = statistics.median(ratios)
    return {
        "contacts": contacts,
        "rounds": rounds,
        "database": db.backend,
        "concurrency": BULK_CONCURRENCY,
        "fresh_server_per_side": True,
        "cli_starts_per_second": round(statistics.median(rates["cli"]), 1),
        "raw_starts_per_second": round(statistics.median(rates["raw"]), 1),
        "ratio_cli_to_raw": round(ratio, 3),
        "ratio_per_round": [round(x, 3) for x in ratios],
        "target_ratio": TARGET_RATIO,
        "met": {"ratio": ratio >= TARGET_RATIO},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()

    result = asyncio.run(run(args.contacts, args.rounds))
    (ROOT / "bench" / "results" / "enrolment.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
