"""Reading request bodies: JSON objects, forms, and the headers of an inbound email.

Every failure is a ``Refused`` (400, or 413 for a body over the route's cap) that
says what was wrong with the body.
"""

from __future__ import annotations

import json
from email.parser import HeaderParser
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import Message

from dee.webhooks.auth import Refused

MAX_BODY_BYTES = 5 * 1024 * 1024  # inbound mail with attachments is parsed, not stored
# Voice status callbacks are a few hundred bytes; anything near this is not a provider.
MAX_CALLBACK_BYTES = 64 * 1024


def bad_request(message: str) -> Refused:
    return Refused(400, message)


def _too_large(limit: int) -> Refused:
    return Refused(413, f"body larger than {limit} bytes")


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, read as a stream and refused (413) as soon as it passes ``limit``.

    Routes read their body before or while authenticating (a signature covers it), so
    an anonymous caller must not be able to make the receiver hold more than this.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise bad_request(f"Content-Length {declared!r} is not a number")
        if int(declared) > limit:  # refused before a byte of it is read
            raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():  # chunked bodies declare no length
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """``raw`` as a JSON object; 400 naming what is wrong otherwise."""
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise bad_request(f"body must be a JSON object, got {type(value).__name__}")
    return value


async def json_object(
    request: Request, limit: int = MAX_BODY_BYTES
) -> tuple[dict[str, Any], bytes]:
    """The body as a JSON object, and the raw bytes (signatures hash those)."""
    raw = await read_body(request, limit)
    return parse_json_object(raw), raw


async def form_fields(request: Request, limit: int = MAX_BODY_BYTES) -> dict[str, str]:
    """A url-encoded or multipart form as text fields (files are skipped)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise bad_request(f"expected a form body, got content-type {kind or 'none'!r}")
    raw = await read_body(request, limit)

    async def replay() -> Message:
        return {"type": "http.request", "body": raw, "more_body": False}

    # Starlette parses forms from the stream; hand it the capped bytes instead.
    buffered = Request(request.scope, replay)
    try:
        async with buffered.form() as form:
            return {k: v for k, v in form.multi_items() if not isinstance(v, UploadFile)}
    except Exception as exc:  # python-multipart raises several kinds on malformed input
        raise bad_request(f"malformed form body: {exc}") from None


def text_field(data: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise bad_request(f"field {name!r} is missing")
        return ""
    if not isinstance(value, str):
        raise bad_request(f"field {name!r} must be a string")
    return value


def header_block(raw: str) -> dict[str, str]:
    """A raw RFC 5322 header block (multipart inbound parse) as a case-folded dict."""
    parsed = HeaderParser().parsestr(raw)
    return {name.lower(): str(value) for name, value in parsed.items()}


def header_list(items: object) -> dict[str, str]:
    """A ``[{"Name": ..., "Value": ...}]`` header list (Postmark inbound) as a dict."""
    if not isinstance(items, list):
        raise bad_request("field 'Headers' must be a list of {Name, Value}")
    out: dict[str, str] = {}
    for item in items:
        if not (isinstance(item, dict) and isinstance(item.get("Name"), str)):
            raise bad_request("field 'Headers' must be a list of {Name, Value}")
        out[item["Name"].lower()] = str(item.get("Value", ""))
    return out


def msg_ids(value: str) -> list[str]:
    """The ``<...>`` ids in an In-Reply-To or References value, in order."""
    return [f"<{part.split('>')[0]}>" for part in value.split("<")[1:] if ">" in part]


__all__ = [
    "MAX_BODY_BYTES",
    "MAX_CALLBACK_BYTES",
    "bad_request",
    "form_fields",
    "header_block",
    "header_list",
    "json_object",
    "msg_ids",
    "parse_json_object",
    "read_body",
    "text_field",
]
