"""``dee codec-server``: the remote codec the Temporal Web UI and CLI call to read payloads.

The protocol is Temporal's: ``POST /encode`` and ``POST /decode`` take and return JSON
``{"payloads": [...]}`` (protobuf JSON of ``temporal.api.common.v1.Payloads``), also
under a leading path segment (``/{namespace}/decode``, the CLI's endpoint templating).
A browser calls it cross-origin, so the UI's origins (``codec.uiOrigins``) get CORS
headers and their preflight is answered; any other origin's preflight is refused.

Every POST needs the token: ``Authorization: Bearer TOKEN`` (``temporal workflow show
--codec-auth "Bearer TOKEN"``, or a UI that passes a token), or the token as the first
path segment, ``/TOKEN/decode``, for a Web UI without sign-in that cannot add a header
(its endpoint setting then holds the token: keep that UI private). Without the token:
401, and nothing is decoded.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import re
import secrets

import uvicorn
from google.protobuf import json_format
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from temporalio.api.common.v1 import Payloads

from adapters.codec import CodecError, EncryptionCodec
from dee.config import EngineConfig
from dee.connection import payload_codec

log = logging.getLogger(__name__)

MAX_BODY = 16 * 1024 * 1024  # a history page of payloads; Temporal caps one blob at 2 MB
_ALLOW_HEADERS = "authorization, content-type, x-namespace"
_ACTIONS = ("encode", "decode")
_URLSAFE = re.compile(r"^[A-Za-z0-9_-]*={0,2}$")


def _no_such() -> Response:
    return JSONResponse({"error": "no such endpoint: POST /encode or /decode"}, status_code=404)


def _cors(request: Request, origins: frozenset[str]) -> dict[str, str]:
    origin = request.headers.get("origin")
    if origin is None or origin not in origins:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": _ALLOW_HEADERS,
        "Access-Control-Allow-Credentials": "true",
        "Vary": "Origin",
    }


def _base64(value: object, where: str) -> None:
    # protobuf's JSON reader skips characters outside the alphabet; a sender's garbage
    # must be refused, not decoded as some other bytes.
    if not isinstance(value, str):
        raise ValueError(f"{where} is not a base64 string")
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        try:
            base64.urlsafe_b64decode(value.encode("ascii") + b"=" * (-len(value) % 4))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raise ValueError(f"{where} is not base64") from None
        if not _URLSAFE.match(value):
            raise ValueError(f"{where} is not base64") from None


def _parse(body: bytes) -> Payloads:
    """The request's payloads; ``ValueError`` names what is wrong with the body."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"invalid JSON ({exc})") from None
    except RecursionError:  # a hostile body nested past the parser's stack: a 400, not a 500
        raise ValueError("invalid JSON (nested too deeply)") from None
    if not isinstance(data, dict) or not isinstance(data.get("payloads"), list):
        raise ValueError("no 'payloads' list")
    for n, item in enumerate(data["payloads"]):
        if not isinstance(item, dict):
            raise ValueError(f"payloads[{n}] is not an object")
        if "data" in item:
            _base64(item["data"], f"payloads[{n}].data")
        metadata = item.get("metadata", {})
        if not isinstance(metadata, dict):
            raise ValueError(f"payloads[{n}].metadata is not an object")
        for key, value in metadata.items():
            _base64(value, f"payloads[{n}].metadata.{key}")
    try:
        return json_format.ParseDict(data, Payloads())
    except json_format.ParseError as exc:
        raise ValueError(str(exc)) from None


async def _capped_body(request: Request) -> bytes | None:
    """The body, or ``None`` past ``MAX_BODY`` (read no further than that)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _authorised(request: Request, token: str) -> bool:
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode()):
        return True
    prefix = request.path_params.get("prefix", "")
    return bool(prefix) and hmac.compare_digest(prefix.encode(), token.encode())


def create_app(codec: EncryptionCodec, token: str, origins: frozenset[str]) -> Starlette:
    """The codec server's ASGI app over ``codec``, requiring ``token``."""
    if not token:
        raise ValueError("the codec server needs a token")

    async def preflight(request: Request) -> Response:
        if request.path_params["action"] not in _ACTIONS:
            return _no_such()
        headers = _cors(request, origins)
        if not headers:
            return JSONResponse({"error": "origin not allowed"}, status_code=403)
        return Response(status_code=204, headers=headers)

    async def handle(request: Request) -> Response:
        if request.path_params["action"] not in _ACTIONS:
            return _no_such()
        headers = _cors(request, origins)
        if not _authorised(request, token):
            log.info("codec server: refused %s without the token", request.url.path)
            return JSONResponse(
                {"error": "missing or wrong codec token (Authorization: Bearer TOKEN)"},
                status_code=401,
                headers={**headers, "WWW-Authenticate": "Bearer"},
            )
        body = await _capped_body(request)
        if body is None:
            return JSONResponse(
                {"error": f"body over {MAX_BODY} bytes"}, status_code=413, headers=headers
            )
        try:
            payloads = _parse(body)
        except ValueError as exc:
            problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            message = f"the body is not JSON {{'payloads': [...]}} of Temporal payloads: {problem}"
            return JSONResponse({"error": message}, status_code=400, headers=headers)
        action = request.path_params["action"]
        try:
            if action == "encode":
                out = await codec.encode(payloads.payloads)
            else:
                out = await codec.decode(payloads.payloads)
        except CodecError as exc:
            return JSONResponse({"error": str(exc)}, status_code=422, headers=headers)
        # Always a "payloads" list (protobuf's JSON would leave out an empty one).
        answer = {"payloads": [json_format.MessageToDict(p) for p in out]}
        return JSONResponse(answer, headers=headers)

    routes = [
        Route("/{action:str}", preflight, methods=["OPTIONS"]),
        Route("/{prefix:str}/{action:str}", preflight, methods=["OPTIONS"]),
        Route("/{action:str}", handle, methods=["POST"]),
        Route("/{prefix:str}/{action:str}", handle, methods=["POST"]),
    ]
    return Starlette(routes=routes)


def server_token(config: EngineConfig) -> tuple[str, bool]:
    """The configured token, or a new random one (``True``: generated, print it)."""
    token = config.codec.server_token
    if token:
        return token, False
    return secrets.token_urlsafe(24), True


def codec_server(
    config: EngineConfig, token: str, *, host: str | None = None, port: int | None = None
) -> uvicorn.Server:
    """A uvicorn server of the codec server (``await server.serve()``)."""
    app = create_app(payload_codec(config), token, frozenset(config.codec.ui_origins))
    settings = uvicorn.Config(
        app,
        host=host or config.codec.server_host,
        port=port or config.codec.server_port,
        log_level="warning",
        lifespan="off",
    )
    return uvicorn.Server(settings)


__all__ = ["MAX_BODY", "codec_server", "create_app", "server_token"]
