"""``dee server`` (the embedded Temporal dev server with its Web UI) and ``dee worker``."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dee.cli.common import ConfigOpt, config_of, run_async
from dee.connection import connect
from dee.devserver import dev_server
from dee.errors import EngineError

if TYPE_CHECKING:  # the worker's modules load only for ``dee worker``
    from temporalio.worker import Worker


def server(
    port: Annotated[int, typer.Option(help="gRPC port of the frontend.")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Web UI port.")] = 8233,
    db: Annotated[
        Path | None, typer.Option("--db", help="Persist Temporal state in this SQLite file.")
    ] = None,
    ui_codec_endpoint: Annotated[
        str | None,
        typer.Option(
            help="Point the Web UI at this remote codec (`dee codec-server`, e.g. "
            "http://127.0.0.1:8234/TOKEN), so it shows DEE's encrypted payloads decoded."
        ),
    ] = None,
) -> None:
    """Run the Temporal dev server with the Web UI and DEE's search attributes registered."""

    async def serve() -> None:
        async with dev_server(
            port=port, ui_port=ui_port, db_file=db, ui_codec_endpoint=ui_codec_endpoint
        ) as dev:
            print(f"Temporal dev server at {dev.address}; Web UI at {dev.ui_url}")
            print("search attributes registered: DeeTenant DeePlanId DeePlanVersion "
                  "DeeContactId DeeStatus DeeStep; Ctrl-C stops it")  # fmt: skip
            if not await _until_exit_or_signal(dev.process):
                raise EngineError(
                    [f"the Temporal dev server exited with status {dev.process.returncode}"]
                )
        print("stopped")

    try:
        run_async(serve())
    except KeyboardInterrupt:  # Ctrl-C while the server was still starting
        print("stopped")


async def _until_exit_or_signal(process: subprocess.Popen[bytes]) -> bool:
    """Return False when the child exits, True when DEE gets SIGTERM (a service manager,
    ``kill``) or SIGINT (Ctrl-C); ``dev_server`` then stops the child's process group.

    The loop's own handlers, not a SIGTERM handler raising SIGINT: a shell starts a
    background job with SIGINT ignored, so a raised SIGINT did nothing there and the
    ``temporal`` child outlived ``dee server``.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    exited = asyncio.ensure_future(asyncio.to_thread(process.wait))
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((exited, stopping), return_when=asyncio.FIRST_COMPLETED)
        return stop.is_set()
    finally:
        stopping.cancel()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


def worker(
    config: ConfigOpt = None,
    health_check: Annotated[
        bool,
        typer.Option(
            "--health-check",
            help="Do not run a worker: exit 0 if this host's worker polls DEE's task queue "
            "(a container health check), 1 if not.",
        ),
    ] = False,
) -> None:
    """Run a DEE worker (workflow + activities) until interrupted."""
    if health_check:
        from dee.cli.worker_health import check_worker  # noqa: PLC0415

        print(run_async(check_worker(config_of(config))))
        return
    # The worker's modules (channel adapters, Temporal's worker) load only here, not
    # for every ``dee`` command.
    from dee.observability import observed_process  # noqa: PLC0415

    cfg = config_of(config)
    with observed_process(cfg) as log:  # an endpoint it cannot serve: refused before the rest
        from dee.worker import worker_for  # noqa: PLC0415

        async def work() -> None:
            client = await connect(cfg)
            async with worker_for(cfg, client) as running:
                over = ", TLS" if cfg.temporal.uses_tls else ""
                print(f"DEE worker on task queue {cfg.task_queue} ({cfg.temporal.address}{over})")
                log.info("worker started on task queue %s", cfg.task_queue)
                if await _until_stopped(running):
                    log.info("worker stopped by a signal")
                    print("stopped")

        try:
            run_async(work())
        except KeyboardInterrupt:  # before the worker ran (while connecting)
            print("stopped")


async def _until_stopped(running: Worker) -> bool:
    """Run the worker until it ends (False) or DEE gets SIGTERM or SIGINT (True); then
    shut it down, its activities cancelled, before returning.

    The loop's own handlers, as ``_stopped`` for the dev server: a SIGTERM turned into a
    raised SIGINT would do nothing where a shell started DEE with SIGINT ignored.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    worked = asyncio.ensure_future(running.run())
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((worked, stopping), return_when=asyncio.FIRST_COMPLETED)
        if stop.is_set():
            await running.shutdown()  # polls stop; running activities are cancelled
            await worked
            return True
        await worked  # the worker's own failure, raised
        return False
    finally:
        stopping.cancel()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
