"""``dee webhooks``: the webhook receiver (open pixel, clicks, unsubscribe, replies,
provider event and voice status callbacks) under uvicorn, until interrupted."""

from __future__ import annotations

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
    from dee.observability import observed_process  # noqa: PLC0415
    from dee.webhooks import server  # noqa: PLC0415 - the ASGI stack only for this command

    cfg = config_of(config)

    async def serve() -> None:
        engine = await Engine.connect(cfg)
        try:
            receiver = server(engine, host=host, port=port)
            bound = f"{receiver.config.host}:{receiver.config.port}"
            print(f"DEE webhook receiver on {bound}; public URL {cfg.webhooks.public_url}")
            await receiver.serve()
        finally:
            await engine.close()

    # With observability.metricsAddress the receiver serves dee_event_ingest_seconds (the
    # events it takes in) and its client's SDK metrics; its logging stays as it was.
    with observed_process(cfg, logs=False):
        try:
            run_async(serve())
        except KeyboardInterrupt:
            print("stopped")
