"""``dee server`` (the embedded Temporal dev server with its Web UI) and ``dee worker``."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated

import typer

from dee.cli.common import ConfigOpt, config_of, run_async
from dee.connection import connect
from dee.devserver import dev_server


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
            await asyncio.to_thread(dev.process.wait)

    # A service manager (or ``kill``) stops with SIGTERM: handled as Ctrl-C, so the dev
    # server child is stopped too instead of left listening on its ports.
    signal.signal(signal.SIGTERM, lambda *_: signal.raise_signal(signal.SIGINT))
    try:
        run_async(serve())
    except KeyboardInterrupt:
        print("stopped")


def worker(config: ConfigOpt = None) -> None:
    """Run a DEE worker (workflow + activities) until interrupted."""
    # The worker's modules (channel adapters, Temporal's worker) load only here, not
    # for every ``dee`` command.
    from dee.observability import observed_process  # noqa: PLC0415

    cfg = config_of(config)
    log = observed_process(cfg)  # an endpoint it cannot serve is refused before the rest loads
    from dee.worker import worker_for  # noqa: PLC0415

    async def work() -> None:
        client = await connect(cfg)
        async with worker_for(cfg, client) as running:
            print(f"DEE worker on task queue {cfg.task_queue} ({cfg.temporal.address})")
            log.info("worker started on task queue %s", cfg.task_queue)
            await running.run()

    # SIGTERM (a service manager, ``kill``) stops as Ctrl-C does: logged, not silent.
    signal.signal(signal.SIGTERM, lambda *_: signal.raise_signal(signal.SIGINT))
    try:
        run_async(work())
    except KeyboardInterrupt:
        log.info("worker stopped by a signal")
        print("stopped")
