"""What the Vonage stand-in does after creating a call: Vonage's signed call events.

For a call created with an ``event_url`` the real Vonage posts JSON events there:
``started``, ``ringing``, ``answered``, then, with advanced machine detection,
``human`` or ``machine`` and, in beep mode, ``machine`` again with ``sub_state:
beep_start`` when the greeting ends; ``completed`` last. Each request is signed as
Vonage signs webhooks: ``Authorization: Bearer <JWT>``, HS256 with the account's
signature secret, claims ``iat``, ``jti``, ``iss`` and ``payload_hash`` (the body's
SHA-256, hex). How the call goes is scripted per test (``EventScript``).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

SIGNATURE_SECRET = "vonage-signature-secret-5d4c-0a1b2c3d4e"
API_KEY = "abcd1234"
UNANSWERED = frozenset({"timeout", "unanswered", "busy", "failed", "rejected"})


@dataclass
class EventScript:
    """How the next calls go: who answers (``human``/``machine``) or a final status."""

    answered_by: str = "human"
    final_status: str = "completed"
    post_events: bool = True
    # Vonage posts events independently: the verdict may arrive before ``answered``.
    verdict_first: bool = False


@dataclass
class Event:
    """One event the stand-in posted, and the application's answer."""

    url: str
    body: dict[str, Any]
    authorization: str
    status: int | None = None
    answer: str = ""


@dataclass
class EventLog:
    events: list[Event] = field(default_factory=list)
    finished_calls: list[str] = field(default_factory=list)

    def wait_finished(self, calls: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.finished_calls) < calls:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.finished_calls)} of {calls} calls reported")
            time.sleep(0.02)

    def clear(self) -> None:
        self.events.clear()
        self.finished_calls.clear()


def signed(body: bytes, secret: str = SIGNATURE_SECRET, *, iat: float | None = None) -> str:
    """The ``Authorization`` header Vonage puts on a webhook carrying ``body``."""
    claims = {
        "iat": int(time.time() if iat is None else iat),
        "jti": str(uuid.uuid4()),
        "iss": "Vonage",
        "payload_hash": hashlib.sha256(body).hexdigest(),
        "api_key": API_KEY,
    }
    return "Bearer " + jwt.encode(claims, secret, algorithm="HS256")


def _post(log: EventLog, url: str, body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()
    event = Event(url, body, signed(raw))
    try:
        answer = httpx.post(
            url,
            content=raw,
            headers={"Authorization": event.authorization, "Content-Type": "application/json"},
            timeout=5,
        )
        event.status, event.answer = answer.status_code, answer.text
    except httpx.HTTPError as exc:
        event.answer = f"{type(exc).__name__}: {exc}"
    log.events.append(event)


def _run(log: EventLog, script: EventScript, call_uuid: str, request: dict[str, Any]) -> None:
    url = request["event_url"][0]
    base = {
        "from": request["from"]["number"],
        "to": request["to"][0]["number"],
        "uuid": call_uuid,
        "conversation_uuid": f"CON-{call_uuid}",
        "direction": "outbound",
    }

    def post(status: str, **extra: Any) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        _post(log, url, {**base, "status": status, "timestamp": stamp, **extra})

    post("started")
    post("ringing")
    if script.final_status in UNANSWERED:
        post(script.final_status)
    else:
        detects = "advanced_machine_detection" in request
        if detects and script.verdict_first:
            post(script.answered_by)
        post("answered")
        if detects and not script.verdict_first:
            post(script.answered_by)
        if detects and script.answered_by == "machine":
            post("machine", sub_state="beep_start")
        post("completed", duration="27")
    log.finished_calls.append(call_uuid)


def report(log: EventLog, script: EventScript, call_uuid: str, request: dict[str, Any]) -> None:
    """Start posting the events of a call created with ``request``, in a thread."""
    if not script.post_events or not request.get("event_url"):
        return
    threading.Thread(
        target=_run, args=(log, script, call_uuid, request), name=f"vonage-{call_uuid}", daemon=True
    ).start()
