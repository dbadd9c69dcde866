"""A stand-in of Postmark's ``POST /email``, checking requests as the real API does.

Documented behaviour reproduced here: the ``X-Postmark-Server-Token`` header is
required (401, ErrorCode 10); the body must be JSON (422, ErrorCode 402/409); From,
To, Subject and a body are required (422, ErrorCode 300); From must be a verified
sender signature (422, ErrorCode 400); an inactive (bounced) recipient is refused
(422, ErrorCode 406); an unknown message stream is refused (422, ErrorCode 1235);
``Metadata`` must be a flat object of string values with unique (case-insensitive)
keys, at most 10 fields, names up to 20 and values up to 80 characters (422, ErrorCode 403).
Success is 200 with ``{To, SubmittedAt, MessageID, ErrorCode: 0, Message: "OK"}``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any

from tests.integration.channels.standins.server import (
    Answer,
    Behaviour,
    Recorded,
    StandInHandler,
    serving,
)

TOKEN = "server-token-0f1e2d"
VERIFIED_DOMAIN = "example.com"
INACTIVE = "bounced@example.org"
STREAMS = ("outbound", "broadcast")


@dataclass
class PostmarkStandIn:
    url: str
    behaviour: Behaviour
    sent: list[dict[str, Any]] = field(default_factory=list)


def _unprocessable(code: int, message: str) -> Answer:
    return Answer(422, {"ErrorCode": code, "Message": message})


def _check_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _unprocessable(403, "Incompatible JSON: expected an object")
    for name in ("From", "To", "Subject"):
        if not isinstance(body.get(name), str) or not body[name]:
            raise _unprocessable(300, f"Invalid email request: missing or empty '{name}'")
    if not (body.get("TextBody") or body.get("HtmlBody")):
        raise _unprocessable(300, "Invalid email request: provide either TextBody or HtmlBody")
    headers = body.get("Headers", [])
    if not isinstance(headers, list) or not all(
        isinstance(h, dict) and set(h) == {"Name", "Value"} for h in headers
    ):
        raise _unprocessable(403, "Incompatible JSON: Headers is a list of {Name, Value}")
    _check_metadata(body.get("Metadata", {}))
    sender = parseaddr(body["From"])[1]
    if sender.rpartition("@")[2] != VERIFIED_DOMAIN:
        raise _unprocessable(
            400, f"The 'From' address you supplied ({body['From']}) is not a Sender Signature"
        )
    if parseaddr(body["To"])[1] == INACTIVE:
        raise _unprocessable(
            406,
            "You tried to send to recipient(s) that have been marked as inactive. "
            "Found inactive addresses: " + INACTIVE,
        )
    if body.get("MessageStream", "outbound") not in STREAMS:
        raise _unprocessable(1235, "The message stream for the provided 'ID' was not found.")
    return body


def _check_metadata(metadata: Any) -> None:
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and k and isinstance(v, str) for k, v in metadata.items()
    ):
        raise _unprocessable(403, "Incompatible JSON: Metadata is an object of string values")
    if len({k.lower() for k in metadata}) != len(metadata):
        raise _unprocessable(403, "Metadata keys must be unique (case-insensitive)")
    # Postmark's documented limits: 10 fields, names up to 20, values up to 80 characters.
    if len(metadata) > 10 or any(len(k) > 20 or len(v) > 80 for k, v in metadata.items()):
        raise _unprocessable(403, "Metadata: at most 10 fields, names <= 20, values <= 80 chars")


@contextmanager
def running_postmark() -> Iterator[PostmarkStandIn]:
    behaviour = Behaviour()
    sent: list[dict[str, Any]] = []

    class Handler(StandInHandler):
        def handle_request(self, request: Recorded) -> tuple[int, Any]:
            if request.method != "POST" or request.path != "/email":
                raise Answer(404, {"ErrorCode": 404, "Message": "Not found"})
            if request.headers.get("X-Postmark-Server-Token") != TOKEN:
                raise Answer(
                    401,
                    {
                        "ErrorCode": 10,
                        "Message": "Request does not contain a valid Server token.",
                    },
                )
            if "application/json" not in request.headers.get("Content-Type", ""):
                raise _unprocessable(409, "JSON data required")
            try:
                body = _check_body(json.loads(request.body))
            except ValueError:
                raise _unprocessable(402, "Received invalid JSON input.") from None
            sent.append(body)
            return 200, {
                "To": body["To"],
                "SubmittedAt": "2026-01-01T00:00:00.0000000Z",
                "MessageID": str(uuid.uuid4()),
                "ErrorCode": 0,
                "Message": "OK",
            }

        def outage_body(self, status: int) -> Any:
            return {"ErrorCode": 100, "Message": "Maintenance"}

    Handler.behaviour = behaviour
    with serving(Handler) as url:
        yield PostmarkStandIn(url, behaviour, sent)
