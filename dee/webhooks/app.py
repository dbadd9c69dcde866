"""The ASGI application: routes, the one error handler, and how to serve it.

Every refusal is a JSON ``{"error": ...}`` with a 4xx status naming what was wrong,
and nothing was ingested for it. Handlers share nothing mutable but the replay
memory, so a bad request cannot disturb a good one arriving beside it.
"""

from __future__ import annotations

import logging

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.tracking import MessageIndex
from dee.engine import Engine
from dee.webhooks import email_routes, voice_routes
from dee.webhooks.auth import Refused
from dee.webhooks.receiver import Receiver

log = logging.getLogger(__name__)


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    log.info("refused %s %s: %s %s", request.method, request.url.path, exc.status, exc.message)
    return JSONResponse({"error": exc.message}, status_code=exc.status)


async def _health(request: Request) -> Response:
    return JSONResponse({"ok": True})


def create_app(engine: Engine) -> Starlette:
    """The receiver for ``engine`` (its configuration's ``webhooks`` and credentials)."""
    app = Starlette(
        routes=[
            Route("/webhooks/health", _health, methods=["GET"]),
            *email_routes.routes,
            *voice_routes.routes,
        ],
        exception_handlers={Refused: _refused},
    )
    app.state.receiver = Receiver(engine, engine.config, MessageIndex(engine.database))
    return app


def server(engine: Engine, *, host: str | None = None, port: int | None = None) -> uvicorn.Server:
    """A uvicorn server for the receiver (``await server.serve()``; ``should_exit`` stops it)."""
    hooks = engine.config.webhooks
    config = uvicorn.Config(
        create_app(engine),
        host=host or hooks.host,
        port=port or hooks.port,
        log_level="warning",
        lifespan="off",
    )
    return uvicorn.Server(config)


__all__ = ["create_app", "server"]
