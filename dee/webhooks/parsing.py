"""Reading request bodies: JSON objects, forms, and the headers of an inbound email.

Every failure is a ``Refused`` (400) that says what was wrong with the body.
"""

from __future__ import annotations

import json
from email.parser import HeaderParser
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from dee.webhooks.auth import Refused

MAX_BODY_BYTES = 5 * 1024 * 1024  # inbound mail with attachments is parsed, not stored


def bad_request(message: str) -> Refused:
    return Refused(400, message)


async def json_object(request: Request) -> tuple[dict[str, Any], bytes]:
    """The body as a JSON object, and the raw bytes (signatures hash those)."""
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise Refused(413, f"body larger than {MAX_BODY_BYTES} bytes")
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise bad_request(f"body must be a JSON object, got {type(value).__name__}")
    return value, body


async def form_fields(request: Request) -> dict[str, str]:
    """A url-encoded or multipart form as text fields (files are skipped)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise bad_request(f"expected a form body, got content-type {kind or 'none'!r}")
    try:
        form: FormData = await request.form()
    except Exception as exc:  # python-multipart raises several kinds on malformed input
        raise bad_request(f"malformed form body: {exc}") from None
    return {k: v for k, v in form.multi_items() if not isinstance(v, UploadFile)}


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
    "bad_request",
    "form_fields",
    "header_block",
    "header_list",
    "json_object",
    "msg_ids",
    "text_field",
]
