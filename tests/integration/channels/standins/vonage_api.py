"""A stand-in of the Vonage Voice API's ``POST /v1/calls``.

Checked as the real API does: a Bearer JWT signed RS256 with the application's
private key, carrying ``application_id``, ``iat`` and ``jti`` and not expired (401);
a JSON body with ``to`` (a list of phone endpoints, digits without ``+``), ``from``
(a number the application owns), exactly one of ``ncco`` / ``answer_url``,
``event_url`` a one-element list, ``length_timer`` within 1..7200 and a valid
``advanced_machine_detection`` (400 with ``type``/``title``/``detail``/
``invalid_parameters``). Success is 201 ``{uuid, status: started, direction:
outbound, conversation_uuid}``.

``PUT /v1/calls/{uuid}`` modifies a live call (``transfer`` to an inline NCCO is
what DEE uses to leave a voicemail): same token; an unknown call is 404, a body that
is not a valid action 400; success is 204. After creating a call the stand-in posts
the call's signed events to its ``event_url`` (``vonage_events``).

``GET /v1/calls`` lists the calls created ("Get details of your calls"): same token;
filters ``status``, ``date_start`` / ``date_end`` (ISO 8601, e.g.
``2026-05-01T10:00:00Z``), ``conversation_uuid``; ``page_size`` 1..100 (default 10),
``record_index`` (default 0), ``order`` ``asc`` (default) or ``desc``; unknown
parameters are refused (400). Answers ``{count, page_size, record_index, _links,
_embedded: {calls: [...]}}``, each call with ``uuid``, ``conversation_uuid``, ``to``
and ``from`` endpoints, ``status`` and ``direction``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.integration.channels.standins.server import (
    Answer,
    Behaviour,
    Recorded,
    StandInHandler,
    serving,
)
from tests.integration.channels.standins.vonage_events import EventLog, EventScript, report

APPLICATION_ID = "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab"
OWNED_NUMBERS = ("15551234567", "15557654321")
_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PRIVATE_KEY_PEM = _KEY.private_bytes(
    serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption(),
).decode()
_PUBLIC_KEY = _KEY.public_key()


_LIST_FILTERS = {
    "status", "date_start", "date_end", "page_size", "record_index", "order",
    "conversation_uuid",
}  # fmt: skip


@dataclass
class CallRecord:
    """One call as Vonage keeps it: what the calls list reports."""

    uuid: str
    conversation_uuid: str
    to: str
    from_: str
    created: datetime
    status: str = "started"

    def resource(self) -> dict[str, Any]:
        return {
            "_links": {"self": {"href": f"/v1/calls/{self.uuid}"}},
            "uuid": self.uuid,
            "conversation_uuid": self.conversation_uuid,
            "to": {"type": "phone", "number": self.to},
            "from": {"type": "phone", "number": self.from_},
            "status": self.status,
            "direction": "outbound",
        }


@dataclass
class VonageStandIn:
    url: str
    behaviour: Behaviour
    calls: list[dict[str, Any]] = field(default_factory=list)
    transfers: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    script: EventScript = field(default_factory=EventScript)
    events: EventLog = field(default_factory=EventLog)
    # Every call created, oldest first: what the calls list reads.
    records: list[CallRecord] = field(default_factory=list)

    def clear(self) -> None:
        self.calls.clear()
        self.transfers.clear()
        self.records.clear()


def _bad(detail: str, name: str | None = None) -> Answer:
    body: dict[str, Any] = {
        "type": "https://developer.nexmo.com/api-errors#bad-request",
        "title": "Bad Request",
        "detail": detail,
    }
    if name is not None:
        body["invalid_parameters"] = [{"name": name, "reason": detail}]
    return Answer(400, body)


def _unauthorized(detail: str) -> Answer:
    return Answer(
        401,
        {
            "type": "https://developer.nexmo.com/api-errors#unauthorized",
            "title": "Unauthorized",
            "detail": detail,
        },
    )


def _check_token(request: Recorded) -> None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise _unauthorized("You did not provide correct credentials.")
    try:
        claims = jwt.decode(
            header[7:], _PUBLIC_KEY, algorithms=["RS256"], options={"require": ["iat", "jti"]}
        )
    except jwt.PyJWTError as exc:
        raise _unauthorized(f"Invalid token: {exc}") from None
    if claims.get("application_id") != APPLICATION_ID:
        raise _unauthorized("Invalid token: unknown application")


def _check_body(body: Any) -> None:
    if not isinstance(body, dict):
        raise _bad("Request body must be a JSON object")
    to = body.get("to")
    if not (isinstance(to, list) and len(to) == 1 and to[0].get("type") == "phone"):
        raise _bad("to must be a list with one phone endpoint", "to")
    if not str(to[0].get("number", "")).isdigit():
        raise _bad("to.number must be digits in E.164 without +", "to")
    sender = body.get("from")
    if not isinstance(sender, dict) or sender.get("number") not in OWNED_NUMBERS:
        raise _bad("from must be a number linked to the application", "from")
    if ("ncco" in body) == ("answer_url" in body):
        raise _bad("Exactly one of ncco and answer_url is required", "ncco")
    ncco = body.get("ncco", [])
    if not isinstance(ncco, list) or not all(
        isinstance(a, dict) and a.get("action") == "talk" and a.get("text") for a in ncco
    ):
        raise _bad("ncco must be a list of actions; talk needs text", "ncco")
    events = body.get("event_url", [])
    if not (isinstance(events, list) and len(events) <= 1):
        raise _bad("event_url must be a list with one URL", "event_url")
    timer = body.get("length_timer", 7200)
    if not (isinstance(timer, int) and 1 <= timer <= 7200):
        raise _bad("length_timer must be between 1 and 7200", "length_timer")
    amd = body.get("advanced_machine_detection")
    if amd is not None and (
        amd.get("behavior") not in {"continue", "hangup"}
        or amd.get("mode") not in {"default", "detect", "detect_beep"}
        or not 45 <= amd.get("beep_timeout", 45) <= 120
    ):
        raise _bad("advanced_machine_detection is invalid", "advanced_machine_detection")


_CALL_ACTIONS = {"hangup", "mute", "unmute", "earmuff", "unearmuff", "transfer"}


def _check_modify(body: Any) -> None:
    if not isinstance(body, dict) or body.get("action") not in _CALL_ACTIONS:
        raise _bad(f"action must be one of {', '.join(sorted(_CALL_ACTIONS))}", "action")
    if body["action"] != "transfer":
        return
    destination = body.get("destination")
    if not isinstance(destination, dict) or destination.get("type") != "ncco":
        raise _bad("destination.type must be ncco", "destination")
    ncco = destination.get("ncco")
    has_ncco = isinstance(ncco, list) and bool(ncco)
    if has_ncco == ("url" in destination):
        raise _bad("destination needs exactly one of ncco and url", "destination")
    if ncco is not None and not all(
        isinstance(a, dict) and a.get("action") == "talk" and a.get("text") for a in ncco
    ):
        raise _bad("ncco must be a list of actions; talk needs text", "destination.ncco")


def _json_body(request: Recorded) -> Any:
    if "application/json" not in request.headers.get("Content-Type", ""):
        raise _bad("Content-Type must be application/json")
    try:
        return json.loads(request.body)
    except ValueError:
        raise _bad("Request body is not valid JSON") from None


def _instant(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError(value)
    except ValueError:
        raise _bad(f"{name} must be an ISO 8601 date-time with a zone", name) from None
    return moment


def _list(records: list[CallRecord], query: dict[str, list[str]]) -> dict[str, Any]:
    one = {k: v[0] for k, v in query.items()}
    if set(one) - _LIST_FILTERS:
        unknown = ", ".join(sorted(set(one) - _LIST_FILTERS))
        raise _bad(f"Unknown parameter: {unknown}", unknown)
    size, index = one.get("page_size", "10"), one.get("record_index", "0")
    if not (size.isdigit() and 1 <= int(size) <= 100):
        raise _bad("page_size must be between 1 and 100", "page_size")
    if not index.isdigit():
        raise _bad("record_index must be a non-negative integer", "record_index")
    order = one.get("order", "asc")
    if order not in {"asc", "desc"}:
        raise _bad("order must be asc or desc", "order")
    start = _instant(one["date_start"], "date_start") if "date_start" in one else None
    end = _instant(one["date_end"], "date_end") if "date_end" in one else None
    found = [
        r for r in sorted(records, key=lambda r: r.created, reverse=order == "desc")
        if ("status" not in one or r.status == one["status"])
        and ("conversation_uuid" not in one or r.conversation_uuid == one["conversation_uuid"])
        and (start is None or r.created >= start)
        and (end is None or r.created <= end)
    ]  # fmt: skip
    size_n, index_n = int(size), int(index)
    page = found[index_n : index_n + size_n]
    href = urlencode({**one, "page_size": size_n, "record_index": index_n, "order": order})
    return {
        "count": len(found),
        "page_size": size_n,
        "record_index": index_n,
        "_links": {"self": {"href": f"/v1/calls?{href}"}},
        "_embedded": {"calls": [r.resource() for r in page]},
    }


@contextmanager
def running_vonage() -> Iterator[VonageStandIn]:
    behaviour = Behaviour()
    calls: list[dict[str, Any]] = []
    standin = VonageStandIn("", behaviour, calls)
    live: set[str] = set()

    class Handler(StandInHandler):
        def handle_request(self, request: Recorded) -> tuple[int, Any]:
            target = urlsplit(request.path)
            if request.method == "GET" and target.path == "/v1/calls":
                _check_token(request)
                return 200, _list(standin.records, parse_qs(target.query))
            modify = re.fullmatch(r"/v1/calls/([^/]+)", request.path)
            if request.method == "PUT" and modify is not None:
                _check_token(request)
                if modify.group(1) not in live:
                    raise Answer(404, {"title": "Not Found", "detail": "call not found"})
                body = _json_body(request)
                _check_modify(body)
                standin.transfers.append((modify.group(1), body))
                return 204, None
            if request.method != "POST" or request.path != "/v1/calls":
                raise Answer(404, {"title": "Not Found", "detail": request.path})
            _check_token(request)
            body = _json_body(request)
            _check_body(body)
            calls.append(body)
            call_uuid = str(uuid.uuid4())
            live.add(call_uuid)
            record = CallRecord(
                call_uuid, f"CON-{uuid.uuid4()}", body["to"][0]["number"],
                body["from"]["number"], datetime.now(UTC),
            )  # fmt: skip
            standin.records.append(record)
            report(standin.events, standin.script, call_uuid, body)
            return 201, {
                "uuid": call_uuid,
                "status": "started",
                "direction": "outbound",
                "conversation_uuid": record.conversation_uuid,
            }

        def outage_body(self, status: int) -> Any:
            return {"title": "Service Unavailable", "detail": "try later"}

    Handler.behaviour = behaviour
    with serving(Handler) as url:
        standin.url = url
        yield standin
