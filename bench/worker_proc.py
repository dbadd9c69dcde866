"""A benchmark worker in its own process, so its CPU time and memory can be read alone.

    python -m bench.worker_proc --address HOST:PORT --queue Q [--kind fake|real]
        [--cache N] [--database URL]

``fake``: ``PlanRunWorkflow`` and the hand-written baseline with the instant
activities of ``bench.fakes`` (scenarios 1 and 6). ``real``: the worker DEE ships
(``dee.worker.worker_for``: the policy gate and the audit log in ``--database``,
SMTP into a local aiosmtpd sink started here), for scenarios 4 and 5. Prints
``ready`` once it polls; runs until it is terminated.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from aiosmtpd.controller import Controller
from temporalio.client import Client
from temporalio.worker import Worker

from bench.codec_keys import bench_converter
from bench.fakes import bench_activities
from bench.handwritten import HandWrittenSalesWorkflow
from dee.config import ChannelsConfig, EmailConfig, EngineConfig, PoliciesConfig, TemporalConfig
from dee.devserver import free_port
from dee.sandbox import workflow_runner
from dee.worker import worker_for
from workflows.plan_run import PlanRunWorkflow

ROOT = Path(__file__).resolve().parents[1]


class _Sink:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 accepted"


@contextlib.asynccontextmanager
async def _real_worker(args: argparse.Namespace, client: Client) -> AsyncIterator[Worker]:
    smtp = Controller(_Sink(), hostname="127.0.0.1", port=free_port())
    smtp.start()
    config = EngineConfig(
        database=args.database,
        templates_dir=ROOT / "templates",
        temporal=TemporalConfig(address=args.address, task_queue=args.queue),
        channels=ChannelsConfig(email=EmailConfig(host="127.0.0.1", port=smtp.port)),
        policies=PoliciesConfig(hours={"voice": None}),
    )
    try:
        async with worker_for(config, client) as worker:
            yield worker
    finally:
        smtp.stop()


async def serve(args: argparse.Namespace) -> None:
    client = await Client.connect(args.address, data_converter=bench_converter(args.codec_keys))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    ctx: contextlib.AbstractAsyncContextManager[Worker]
    if args.kind == "real":
        ctx = _real_worker(args, client)
    else:
        ctx = contextlib.nullcontext(
            Worker(
                client,
                task_queue=args.queue,
                workflows=[PlanRunWorkflow, HandWrittenSalesWorkflow],
                activities=bench_activities(),
                max_cached_workflows=args.cache,
                # The worker DEE ships passes its workflow modules through the sandbox;
                # the baseline's module gets the same treatment.
                workflow_runner=workflow_runner("bench.handwritten"),
            )
        )
    async with ctx as worker, worker:
        print("ready", flush=True)
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--address", required=True)
    parser.add_argument("--queue", required=True)
    parser.add_argument("--kind", choices=("fake", "real"), default="fake")
    parser.add_argument("--cache", type=int, default=1000, help="max_cached_workflows")
    parser.add_argument("--database")
    parser.add_argument("--codec-keys", default="", help="encrypt payloads (ID:KEY)")
    args = parser.parse_args()
    if args.kind == "real" and not args.database:
        sys.exit("--kind real needs --database")
    asyncio.run(serve(args))
    # Skip interpreter finalization: the SDK's Rust threads can abort it ("PyGILState_Release")
    # after a clean shutdown, which would only add noise to the bench's output.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
