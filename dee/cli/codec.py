"""``dee codec-server`` (the Web UI's remote codec) and ``dee codec-key`` (a new key entry)."""

from __future__ import annotations

from typing import Annotated

import typer

from dee.cli.common import ConfigOpt, config_of, run_async
from dee.errors import DocumentError


def codec_server(
    config: ConfigOpt = None,
    host: Annotated[
        str | None, typer.Option(help="Interface to bind (default codec.serverHost).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default codec.serverPort).")] = None,
) -> None:
    """Serve POST /encode and /decode for the Temporal Web UI and CLI (bearer token)."""
    from dee.codec_server import codec_server as build  # noqa: PLC0415
    from dee.codec_server import server_token  # noqa: PLC0415

    cfg = config_of(config)
    token, generated = server_token(cfg)
    server = build(cfg, token, host=host, port=port)
    bound = f"http://{server.config.host}:{server.config.port}"
    print(f"DEE codec server on {bound}; origins {', '.join(cfg.codec.ui_origins)}")
    if generated:  # printed once, so the operator can paste it into the UI or --codec-auth
        print(f"token (generated; set codec.serverToken to keep one): {token}")
    try:
        run_async(server.serve())
    except KeyboardInterrupt:
        print("stopped")


def codec_key(
    key_id: Annotated[str, typer.Argument(help="The new key's id, e.g. 2027-01.")],
) -> None:
    """Print a new ID:KEY entry (256-bit random key) to append to codec.keys."""
    from adapters.codec import CodecError, generate_key_line  # noqa: PLC0415

    try:
        print(generate_key_line(key_id))
    except CodecError as exc:
        raise DocumentError([str(exc)]) from None
