"""A stand-in of Postmark's ``POST /email``, checking requests as the real API does.

Documented behaviour reproduced here: the ``X-Postmark-Server-Token`` header is
required (401, ErrorCode 10); the body must be JSON (422, ErrorCode 402/409); From,
To, Subject and a body are required (422, ErrorCode 300); From must be a verified
sender signature (422, ErrorCode 400); an inactive (bounced) recipient is refused
(422, ErrorCode 406); an unknown message stream is refused (422, ErrorCode 1235);
``Metadata`` must be a flat object of string values with unique (case-insensitive)
keys, at most 10 fields, names up to 20 and values up to 80 characters (422, ErrorCode 403).
Success is 200 with ``{To, SubmittedAt, MessageID, ErrorCode: 0, Message: "OK"}``.

``GET /messages/outbound`` is the Messages API's outbound search over what the
stand-in accepted: same token; ``count`` (1..500) and ``offset`` required and
``count + offset`` at most 10,000 (422 otherwise); filters ``recipient`` (any of To,
Cc, Bcc), ``fromemail``, ``tag``, ``subject``, ``status``, ``messagestream`` (the
``outbound`` stream when absent), ``fromdate``/``todate`` (inclusive, read as US
Eastern time as Postmark documents) and one ``metadata_<key>=<value>``; a parameter
it does not know is refused, so a misspelt filter fails loudly here instead of
widening the search. Answers
``{TotalCount, Messages}``, newest first, each message in the search's summary shape
(``MessageID``, ``To``, ``Recipients``, ``ReceivedAt``, ``Status``, ``Metadata``, ...).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import getaddresses, parseaddr
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

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
EASTERN = ZoneInfo("America/New_York")
_SEARCH_FILTERS = {
    "count", "offset", "recipient", "fromemail", "tag", "subject", "status",
    "messagestream", "fromdate", "todate",
}  # fmt: skip


@dataclass
class PostmarkStandIn:
    url: str
    behaviour: Behaviour
    sent: list[dict[str, Any]] = field(default_factory=list)
    # What the outbound search sees: one summary per accepted message, oldest first.
    outbound: list[dict[str, Any]] = field(default_factory=list)

    def clear(self) -> None:
        self.sent.clear()
        self.outbound.clear()


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


def _summary(body: dict[str, Any], message_id: str, received: datetime) -> dict[str, Any]:
    def recipients(field_name: str) -> list[dict[str, str]]:
        pairs = getaddresses([body.get(field_name, "")]) if body.get(field_name) else []
        return [{"Email": email, "Name": name} for name, email in pairs]

    to, cc, bcc = recipients("To"), recipients("Cc"), recipients("Bcc")
    return {
        "Tag": body.get("Tag", ""),
        "MessageID": message_id,
        "MessageStream": body.get("MessageStream", "outbound"),
        "To": to,
        "Cc": cc,
        "Bcc": bcc,
        "Recipients": [r["Email"] for r in to + cc + bcc],
        "ReceivedAt": received.astimezone(EASTERN).isoformat(),
        "From": body["From"],
        "Subject": body["Subject"],
        "Attachments": [],
        "Status": "Sent",
        "TrackOpens": False,
        "TrackLinks": "None",
        "Metadata": body.get("Metadata", {}),
        "Sandboxed": False,
    }


def _eastern(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _unprocessable(300, f"Invalid '{name}': {value}") from None
    if moment.tzinfo is not None:
        raise _unprocessable(300, f"Invalid '{name}': no time zone; Eastern Time is implied")
    return moment.replace(tzinfo=EASTERN)


def _search(outbound: list[dict[str, Any]], query: dict[str, list[str]]) -> dict[str, Any]:
    one = {k: v[0] for k, v in query.items()}
    metadata = {k.removeprefix("metadata_"): v for k, v in one.items() if k.startswith("metadata_")}
    unknown = set(one) - _SEARCH_FILTERS - {f"metadata_{k}" for k in metadata}
    if unknown:
        raise _unprocessable(300, f"Unknown filter: {', '.join(sorted(unknown))}")
    if len(metadata) > 1:
        raise _unprocessable(300, "Only one metadata field can be searched at a time")
    try:
        count, offset = int(one["count"]), int(one["offset"])
    except (KeyError, ValueError):
        raise _unprocessable(300, "count and offset are required integers") from None
    if not 1 <= count <= 500 or offset < 0 or count + offset > 10_000:
        raise _unprocessable(300, "count is 1..500 and count + offset at most 10000")
    since = _eastern(one["fromdate"], "fromdate") if "fromdate" in one else None
    until = _eastern(one["todate"], "todate") if "todate" in one else None
    stream = one.get("messagestream", "outbound")

    def matches(m: dict[str, Any]) -> bool:
        received = datetime.fromisoformat(m["ReceivedAt"])
        return (
            m["MessageStream"] == stream
            and ("recipient" not in one or one["recipient"].lower() in
                 (r.lower() for r in m["Recipients"]))
            and ("fromemail" not in one or parseaddr(m["From"])[1] == one["fromemail"])
            and ("tag" not in one or m["Tag"] == one["tag"])
            and ("subject" not in one or m["Subject"] == one["subject"])
            and ("status" not in one or m["Status"].lower() == one["status"].lower())
            and (since is None or received >= since)
            and (until is None or received <= until)
            and all(m["Metadata"].get(k) == v for k, v in metadata.items())
        )  # fmt: skip

    found = [m for m in reversed(outbound) if matches(m)]
    return {"TotalCount": len(found), "Messages": found[offset : offset + count]}


@contextmanager
def running_postmark() -> Iterator[PostmarkStandIn]:
    behaviour = Behaviour()
    standin = PostmarkStandIn("", behaviour)
    sent = standin.sent

    class Handler(StandInHandler):
        def handle_request(self, request: Recorded) -> tuple[int, Any]:
            target = urlsplit(request.path)
            search = request.method == "GET" and target.path == "/messages/outbound"
            if not search and (request.method != "POST" or request.path != "/email"):
                raise Answer(404, {"ErrorCode": 404, "Message": "Not found"})
            if request.headers.get("X-Postmark-Server-Token") != TOKEN:
                raise Answer(
                    401,
                    {
                        "ErrorCode": 10,
                        "Message": "Request does not contain a valid Server token.",
                    },
                )
            if search:
                return 200, _search(standin.outbound, parse_qs(target.query))
            if "application/json" not in request.headers.get("Content-Type", ""):
                raise _unprocessable(409, "JSON data required")
            try:
                body = _check_body(json.loads(request.body))
            except ValueError:
                raise _unprocessable(402, "Received invalid JSON input.") from None
            message_id = str(uuid.uuid4())
            received = datetime.now(UTC)
            sent.append(body)
            standin.outbound.append(_summary(body, message_id, received))
            return 200, {
                "To": body["To"],
                "SubmittedAt": received.isoformat(),
                "MessageID": message_id,
                "ErrorCode": 0,
                "Message": "OK",
            }

        def outage_body(self, status: int) -> Any:
            return {"ErrorCode": 100, "Message": "Maintenance"}

    Handler.behaviour = behaviour
    with serving(Handler) as url:
        standin.url = url
        yield standin
