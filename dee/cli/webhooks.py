"""``dee webhooks``: the webhook receiver (open pixel, clicks, unsubscribe, replies,
provider event and voice status callbacks) under uvicorn, until interrupted."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from dee.cli.common import ConfigOpt, config_of, run_async
from dee.engine import Engine


def webhooks(
    config: ConfigOpt = None,
    host: Annotated[
        str | None, typer.Option(help="Interface to bind (default webhooks.host).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default webhooks.port).")] = None,
) -> None:
    """Serve the webhook receiver; events go to the runs through Temporal signals."""
    from dee.observability import configure_logging, observed_process  # noqa: PLC0415
    from dee.webhooks import server  # noqa: PLC0415 - the ASGI stack only for this command

    cfg = config_of(config)

    async def serve() -> None:
        engine = await Engine.connect(cfg)
        # Only once connected: a refused start (bad TLS settings, the database down) is
        # the CLI's one ``error:`` line, not the migration's log lines before it.
        configure_logging(cfg.observability)
        try:
            receiver = server(engine, host=host, port=port)
            _to_root("uvicorn", "uvicorn.error", "uvicorn.access")
            bound = f"{receiver.config.host}:{receiver.config.port}"
            print(f"DEE webhook receiver on {bound}; public URL {cfg.webhooks.public_url}")
            await receiver.serve()
        finally:
            await engine.close()

    # With observability.metricsAddress the receiver serves dee_event_ingest_seconds (the
    # events it takes in) and its client's SDK metrics; its log lines, uvicorn's too, in
    # observability.logFormat like the worker's (set up in serve; the root logger is
    # put back on exit).
    with observed_process(cfg, logs=False):
        try:
            run_async(serve())
        except KeyboardInterrupt:
            print("stopped")


def _to_root(*names: str) -> None:
    """Hand uvicorn's loggers to the root handler (``observability.logFormat``): building
    its ``Config`` gave them handlers of its own, in its own text format."""
    for name in names:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
