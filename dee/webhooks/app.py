"""The ASGI application: routes, the error handlers, and how to serve it.

Every refusal is a JSON ``{"error": ...}`` naming what was wrong, and nothing was
ingested for it: 4xx for the request's fault, 503 when DEE cannot take the event now
(Temporal or the database unreachable, an endpoint not configured), so the provider
retries. Handlers share nothing mutable but the receiver's per-process memories and
the voice channel, so a bad request cannot disturb a good one arriving beside it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.storage import DatabaseUnavailable
from adapters.tracking import MessageIndex
from dee.engine import Engine
from dee.webhooks import email_routes, voice_routes
from dee.webhooks.auth import Refused
from dee.webhooks.receiver import Receiver

log = logging.getLogger(__name__)
_ADDRESS = re.compile(r"[^\s<>'\"(),;:\[\]]+@[^\s<>'\"(),;:\[\]]+")
_NUMBER = re.compile(r"\+?\d[\d ().-]{5,}\d")


def masked(message: str) -> str:
    """``message`` with anything shaped like an address or a phone number masked."""
    return _NUMBER.sub("[number]", _ADDRESS.sub("[address]", message))


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    # The answer may quote what the provider sent (an address it bounced); the log
    # line must not keep it (docs/privacy.md): addresses and numbers are masked.
    shown = masked(exc.message)
    log.info("refused %s %s: %s %s", request.method, request.url.path, exc.status, shown)
    return JSONResponse({"error": exc.message}, status_code=exc.status)


async def _no_route(request: Request, exc: Exception) -> Response:
    # The router's own refusals (no such path, a method the route does not take) would
    # otherwise be plain text, unlike every other refusal a provider sees.
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _unavailable(request: Request, exc: Exception) -> Response:
    # Reads outside ``Receiver.ingest`` (the reply index, consent) can meet it too.
    log.warning("database unavailable for %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse({"error": f"the database is unavailable: {exc}"}, status_code=503)


async def _health(request: Request) -> Response:
    return JSONResponse({"ok": True})


def create_app(engine: Engine) -> Starlette:
    """The receiver for ``engine`` (its configuration's ``webhooks`` and credentials)."""
    receiver = Receiver(engine, engine.config, MessageIndex(engine.database))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:  # the voice channel's connection pool, if a voicemail built it
            await receiver.aclose()

    app = Starlette(
        routes=[
            Route("/webhooks/health", _health, methods=["GET"]),
            *email_routes.routes,
            *voice_routes.routes,
        ],
        exception_handlers={
            Refused: _refused,
            DatabaseUnavailable: _unavailable,
            HTTPException: _no_route,
        },
        lifespan=lifespan,
    )
    app.state.receiver = receiver
    return app


def server(engine: Engine, *, host: str | None = None, port: int | None = None) -> uvicorn.Server:
    """A uvicorn server for the receiver (``await server.serve()``; ``should_exit`` stops it)."""
    hooks = engine.config.webhooks
    config = uvicorn.Config(
        create_app(engine),
        host=host or hooks.host,
        port=port or hooks.port,
        log_level="warning",
        lifespan="on",
    )
    return uvicorn.Server(config)


__all__ = ["create_app", "server"]
