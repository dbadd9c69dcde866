"""The webhook receiver: inbound provider traffic in, ``Engine.ingest_event`` out.

Boundary: an ASGI app (Starlette, served by uvicorn) whose every route authenticates
the request first (HMAC tokens, provider signatures, basic auth), then turns it into
one ``ingest_event`` per event under a stable id, so a provider's re-delivery is
answered 200 and recorded as a duplicate. It owns no state but small per-process
memories (``Receiver``); consent changes go through the policy admin, events through
the engine.
"""

from __future__ import annotations

from dee.webhooks.app import create_app, server

__all__ = ["create_app", "server"]
