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

Every side runs on a dev server and worker of its own (``fresh_worker``), and a round
runs both sides at once, each pinned to a core of its own, the cores swapping every
round (``bench.paired``). The PostgreSQL server (plan, run rows, the workers' audit
writes) is shared and not pinned. CPU per start, by process, counts each side's
worker and server until the worker has taken every new run's first task.

    python -m bench.enrolment [--contacts 5000] [--rounds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from temporalio.client import Client

from activities import contracts as c
from adapters.storage import PlanStore, open_database
from bench import paired
from bench.infra import bench_database, settle
from bench.plans import wait_first_plan
from bench.proc import WorkerProcess, cpu_seconds, worker_process
from bench.results_file import publish
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


async def _cli(folder: Path) -> tuple[float, float]:
    """Seconds the command took, end to end, and the CPU seconds it used."""
    dee = Path(sys.executable).parent / "dee"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEE_")}
    args = [
        str(dee), "start", str(folder / "plan.yaml"), "--contacts", str(folder / "contacts.csv"),
        "--config", str(folder / "config.yaml"), "--json",
    ]  # fmt: skip
    with tempfile.TemporaryFile() as errors:
        begin = time.perf_counter()
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=errors, env=env, cwd=ROOT)
        # Waited on in a thread (not an asyncio subprocess; see bench.proc.worker_process),
        # with wait4 for the command's own CPU time.
        _, status, usage = await asyncio.to_thread(os.wait4, proc.pid, 0)
        seconds = time.perf_counter() - begin
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            errors.seek(0)
            raise RuntimeError(f"dee start failed: {errors.read().decode()[-2000:]}")
    return seconds, usage.ru_utime + usage.ru_stime


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


@dataclass(frozen=True)
class EnrolmentSide:
    address: str
    queue: str
    server_pid: int
    worker: WorkerProcess


@asynccontextmanager
async def fresh_worker(db_url: str) -> AsyncIterator[EnrolmentSide]:
    """A dev server of its own with the worker DEE ships polling a new queue, both
    idle.

    A fresh server per measured side: the 5,000 runs one side leaves open (and the
    server's work on them) must not slow the next side. Measured: on a shared server
    the side in the fourth slot of A B B A was 35-45 % slower whichever it was.
    """
    async with dev_server(ui=False) as dev:
        queue = f"bench-enrol-{uuid.uuid4().hex[:8]}"
        async with worker_process(dev.address, queue, kind="real", database=db_url) as worker:
            await settle(worker)  # the worker's start-up, and the server's, are done
            yield EnrolmentSide(dev.address, queue, dev.process.pid, worker)


@asynccontextmanager
async def paired_side(
    side: str, contacts: int, options: Mapping[str, str]
) -> AsyncIterator[tuple[paired.Measure, paired.Fill]]:
    """A ``bench.paired`` side (``cli`` or ``raw``) on a dev server and worker of its own,
    settled; measures ``contacts`` starts, fills with raw starts of 200 more."""
    if side not in ("cli", "raw"):
        raise ValueError(f"unknown enrolment side {side!r}; 'cli' or 'raw'")
    db_url = options["database"]
    with tempfile.TemporaryDirectory(prefix=f"dee-bench-{side}-") as scratch:
        folder = Path(scratch)
        async with fresh_worker(db_url) as ours:
            _write_inputs(folder, contacts, ours.address, ours.queue, db_url)
            client = await Client.connect(ours.address)

            async def measure() -> dict[str, float]:
                server, worker = cpu_seconds(ours.server_pid), ours.worker.cpu()
                if side == "cli":
                    seconds, client_cpu = await _cli(folder)
                else:
                    client_cpu = time.process_time()
                    seconds = await raw_starts(client, ours.queue, contacts)
                    client_cpu = time.process_time() - client_cpu
                # The starts return before the worker has taken each run's first
                # task; count that backlog too, or the faster side would leave more
                # of it uncounted. (Only this side's worker: the other side is busy.)
                await settle(ours.worker, machine_share=None)
                server, worker = cpu_seconds(ours.server_pid) - server, ours.worker.cpu() - worker
                return {
                    "starts_per_second": contacts / seconds,
                    "client_cpu_ms_per_start": 1000 * client_cpu / contacts,
                    "server_cpu_ms_per_start": 1000 * server / contacts,
                    "worker_cpu_ms_per_start": 1000 * worker / contacts,
                }

            async def fill() -> None:
                await raw_starts(client, ours.queue, 200)

            yield measure, fill


async def _store_plan(db_url: str) -> None:
    """The plan in the database before any round: the worker's first audit write needs
    it, and the raw side never stores it (the CLI stores it again, idempotently)."""
    database = await open_database(db_url)
    try:
        await PlanStore(database).put(wait_first_plan())
    finally:
        await database.dispose()


async def run(contacts: int, rounds: int) -> dict[str, Any]:
    rates: dict[str, list[float]] = {"cli": [], "raw": []}
    cpu: dict[str, list[dict[str, float]]] = {"cli": [], "raw": []}
    with tempfile.TemporaryDirectory(prefix="dee-bench-") as scratch:
        async with bench_database(Path(scratch)) as db:
            await _store_plan(db.url)
            for r in range(rounds):
                got = await paired.pair(
                    "bench.enrolment", "cli", "raw", contacts, swap=r % 2 == 1,
                    options={"database": db.url},
                )  # fmt: skip
                for side, figures in got.items():
                    rates[side].append(figures.pop("starts_per_second"))
                    cpu[side].append(figures)
                print(f"  round {r + 1}/{rounds}: " + ", ".join(
                    f"{side} {rates[side][-1]:.1f} starts/s" for side in rates
                ), flush=True)  # fmt: skip
    ratios = [a / b for a, b in zip(rates["cli"], rates["raw"], strict=True)]
    ratio = statistics.median(ratios)
    return {
        "contacts": contacts,
        "rounds": rounds,
        "database": db.backend,
        "concurrency": BULK_CONCURRENCY,
        "design": "paired, a core per side" if paired.cores() else "sequential",
        "cli_starts_per_second": round(statistics.median(rates["cli"]), 1),
        "raw_starts_per_second": round(statistics.median(rates["raw"]), 1),
        "ratio_cli_to_raw": round(ratio, 3),
        "cpu_ms_per_start": {
            side: {k: round(statistics.median(f[k] for f in rows), 3) for k in rows[0]}
            for side, rows in cpu.items()
        },
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
    publish("enrolment", result)


if __name__ == "__main__":
    main()
