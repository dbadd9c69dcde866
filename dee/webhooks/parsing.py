"""Reading request bodies: JSON objects, forms, and the headers of an inbound email.

Every failure is a ``Refused`` (400, or 413 for a body over the route's cap) that
says what was wrong with the body. JSON is decoded by ``dee.strict_decode`` (the
plans' decoder, which bounds nesting: the stdlib's recursed into a RecursionError),
and NUL characters and lone surrogates are refused by field: past parsing they
surfaced as a 500 (the database, ``str.encode``) instead of a 400 naming the field.
"""

from __future__ import annotations

import asyncio
import math
import unicodedata
from email.parser import HeaderParser
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import Message

from dee.strict_decode import Refused as Undecodable
from dee.strict_decode import decode_json
from dee.webhooks.auth import Refused

MAX_BODY_BYTES = 5 * 1024 * 1024  # inbound mail with attachments is parsed, not stored
# Voice status callbacks are a few hundred bytes; anything near this is not a provider.
MAX_CALLBACK_BYTES = 64 * 1024
# Postmark's delivery, bounce and click events are a few KB. Under the 5 MB inbound cap
# a 4.5 MB event passed, then its Description overflowed Temporal's message limit, which
# answered 503 (retried by Postmark forever); a 413 here ends it.
MAX_EVENT_BYTES = 256 * 1024


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


def text_problem(value: str, *, line: bool = False) -> str | None:
    """Why ``value`` is not acceptable text, ``None`` if it is.

    NUL and lone surrogates cannot be stored (PostgreSQL text and JSON) nor encoded to
    UTF-8 (hashing), so no text may hold them. With ``line`` (an address, an id, a
    status) no control character at all: none belongs there. Other text keeps them,
    since mail bodies do carry a stray form feed and refusing one would drop a reply.
    """
    for ch in value:
        if "\ud800" <= ch <= "\udfff":
            return f"contains a lone surrogate (U+{ord(ch):04X})"
        if ch == "\x00" or (line and unicodedata.category(ch) == "Cc"):
            return f"contains a control character (U+{ord(ch):04X})"
    return None


def _value_problems(value: Any) -> list[str]:
    """``field: problem`` for every value that is not acceptable in a provider's body.

    Not ``strict_decode.check_values``: that bounds integers to 2^53 for plans, and
    Postmark's bounce ``ID`` is an int64.
    """
    problems: list[str] = []
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:  # explicit stack: the decoder bounded the depth, the body cap the width
        path, item = stack.pop()
        where = ascii(path or "(document)")[1:-1]
        if item is None or isinstance(item, bool | int):
            continue
        if isinstance(item, str):
            bad = text_problem(item)
            if bad is not None:
                problems.append(f"{where}: {bad}")
        elif isinstance(item, float):
            if not math.isfinite(item):
                problems.append(f"{where}: {item} is not a finite number")
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(item))
        elif isinstance(item, dict):
            for key, v in item.items():
                bad = text_problem(key, line=True)
                if bad is not None:
                    problems.append(f"{where}: key {key!a} {bad}")
                stack.append((f"{path}.{key}" if path else key, v))
        else:  # the strict decoder's stand-in for an integer literal too long to convert
            problems.append(f"{where}: integer literal is too long")
    return problems


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """``raw`` as a JSON object; 400 naming what is wrong otherwise.

    Strict (``dee.strict_decode``): nesting past its depth limit and duplicate keys are
    refused, and (``_value_problems``) integer literals too long to convert, NaN and
    infinities, lone surrogates and control characters, naming the field.
    """
    try:
        value = decode_json(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise bad_request(f"body is not UTF-8 JSON: {exc}") from None
    except (ValueError, Undecodable) as exc:  # JSONDecodeError is a ValueError
        raise bad_request(f"body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise bad_request(f"body must be a JSON object, got {type(value).__name__}")
    problems = _value_problems(value)
    if problems:
        shown = "; ".join(problems[:5]) + ("; ..." if len(problems) > 5 else "")
        raise bad_request(f"body is not acceptable JSON: {shown}")
    return value


async def json_object(
    request: Request, limit: int = MAX_BODY_BYTES
) -> tuple[dict[str, Any], bytes]:
    """The body as a JSON object, and the raw bytes (signatures hash those)."""
    raw = await read_body(request, limit)
    if len(raw) <= MAX_CALLBACK_BYTES:
        return parse_json_object(raw), raw
    # The strict decoder is pure Python: a 5 MB body of tiny values takes seconds of
    # CPU, which must not stall every other request on the event loop.
    return await asyncio.to_thread(parse_json_object, raw), raw


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
            fields = {k: v for k, v in form.multi_items() if not isinstance(v, UploadFile)}
    except Exception as exc:  # python-multipart raises several kinds on malformed input
        raise bad_request(f"malformed form body: {exc}") from None
    for name, value in fields.items():  # %00 decodes to NUL: refuse it, naming the field
        bad = text_problem(name, line=True) or text_problem(value)
        if bad is not None:
            raise bad_request(f"form field {name!a} {bad}")
    return fields


def text_field(
    data: dict[str, Any], name: str, *, required: bool = True, line: bool = False
) -> str:
    """``data[name]`` as text; ``line`` for one-line values (addresses, ids, statuses)."""
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise bad_request(f"field {name!r} is missing")
        return ""
    if not isinstance(value, str):
        raise bad_request(f"field {name!r} must be a string")
    bad = text_problem(value, line=line)
    if bad is not None:
        raise bad_request(f"field {name!r} {bad}")
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
    "MAX_EVENT_BYTES",
    "bad_request",
    "form_fields",
    "header_block",
    "header_list",
    "json_object",
    "msg_ids",
    "parse_json_object",
    "read_body",
    "text_field",
    "text_problem",
]
