"""Voice endpoints: Twilio's status callbacks and answer document, Vonage's events
(``vonage_events``).

The paths are ``adapters.channels.callbacks``' (run, step and visit in clear); what
the receiver trusts is the provider's signature over the whole request, checked
before the body means anything. Each provider status becomes at most two canonical
events (the machine-detection verdict and the call status), each under a stable id
built from the provider's call id, so a retried callback is answered 200 and recorded
as a duplicate.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.channels.callbacks import (
    VOICE_PATH_PREFIX,
    answer_twiml,
    canonical_voice_path,
    parse_voice_path,
)
from adapters.storage import SendKey
from dee.webhooks.auth import Refused, check_twilio
from dee.webhooks.parsing import MAX_CALLBACK_BYTES, bad_request, form_fields, text_field
from dee.webhooks.receiver import Receiver, accepted
from dee.webhooks.vonage_events import vonage_event

PREFIX = VOICE_PATH_PREFIX
TWILIO_STATUS = {
    "in-progress": "voice.answered",
    "answered": "voice.answered",
    "completed": "voice.completed",
    "busy": "voice.busy",
    "no-answer": "voice.no_answer",
    "failed": "voice.failed",
    "canceled": "voice.failed",
}
TWILIO_PENDING = frozenset({"queued", "initiated", "ringing"})


def answered_by_event(answered_by: str) -> str | None:
    """Twilio's AMD verdict: a person, or a machine (any ``machine_*``, fax) = voicemail."""
    if answered_by in ("human", "unknown"):
        return "voice.answered" if answered_by == "human" else None
    if answered_by.startswith("machine_") or answered_by == "fax":
        return "voice.voicemail"
    return None


def twilio_events(fields: dict[str, str]) -> list[tuple[str, str]]:
    """``(event type, id suffix)`` pairs one Twilio callback reports."""
    status = text_field(fields, "CallStatus", line=True)
    if status not in TWILIO_STATUS and status not in TWILIO_PENDING:
        raise bad_request(f"CallStatus {status!r} is not a Twilio call status")
    events: list[tuple[str, str]] = []
    verdict = answered_by_event(fields.get("AnsweredBy", ""))
    if verdict is not None:
        events.append((verdict, "answered-by"))
    mapped = TWILIO_STATUS.get(status)
    # With a verdict, "in-progress" adds nothing: the verdict already says who answered.
    if mapped is not None and not (verdict is not None and mapped == "voice.answered"):
        events.append((mapped, status))
    return events


def _raw_path(request: Request) -> str:
    """The path as sent (percent-encoded), from the route's prefix on.

    Behind a proxy that keeps a public prefix (a mount, ``root_path``) the raw path
    still carries it; the route's part is the same either way.
    """
    raw = (request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1")
    return canonical_voice_path(raw)


def _target(request: Request) -> tuple[str, str, str, int, bool]:
    """Provider, run, step, visit and whether it is the answer document, from the raw path."""
    parts = _raw_path(request).removeprefix(PREFIX).split("/")
    answer = len(parts) == 5 and parts[4] == "answer"
    if len(parts) != 4 and not answer:
        raise Refused(404, f"no voice callback at {request.url.path}")
    try:
        target = parse_voice_path(*parts[:4])
    except ValueError as exc:
        raise Refused(404, f"no voice callback at {request.url.path}: {exc}") from None
    return target.provider, target.run_id, target.step_id, target.visit, answer


def _public_url(request: Request, receiver: Receiver) -> str:
    """The URL as the provider called it (what it signed), behind any proxy."""
    raw = _raw_path(request)
    query = request.scope.get("query_string", b"").decode("latin-1")
    base = receiver.config.webhooks.public_url.rstrip("/")
    return base + raw + (f"?{query}" if query else "")


async def voice_callback(request: Request) -> Response:
    receiver: Receiver = request.app.state.receiver
    provider, run_id, step_id, visit, answer = _target(request)
    if provider == "twilio":
        return await _twilio(request, receiver, run_id, step_id, answer)
    if provider == "vonage" and not answer:
        return await vonage_event(request, receiver, SendKey(run_id, step_id, visit))
    raise Refused(404, f"no {provider!r} voice callback at {request.url.path}")


async def _twilio(
    request: Request, receiver: Receiver, run_id: str, step_id: str, answer: bool
) -> Response:
    fields = await form_fields(request, MAX_CALLBACK_BYTES) if request.method == "POST" else {}
    signature = request.headers.get("x-twilio-signature")
    token = receiver.config.channels.voice.twilio_auth_token
    check_twilio(token, _public_url(request, receiver), fields, signature)
    if answer:  # the TwiML Twilio plays after answering-machine detection
        query = {k: v for k, v in request.query_params.items()}
        return Response(answer_twiml(query, fields.get("AnsweredBy")), media_type="text/xml")
    # Twilio's signature has no timestamp or nonce: a second copy of a signed request
    # is Twilio retrying, and it is signed over this URL (run, step, visit) and every
    # field, so it can only repeat events under the ids they already have.
    sid = text_field(fields, "CallSid", line=True)
    events = [
        await receiver.ingest(run_id, step_id, kind, f"twilio:{sid}:{suffix}", _twilio_data(fields))
        for kind, suffix in twilio_events(fields)
    ]
    return JSONResponse(accepted(events))


def _twilio_data(fields: dict[str, str]) -> dict[str, Any]:
    keep = ("CallSid", "CallStatus", "AnsweredBy", "CallDuration", "SipResponseCode")
    return {"provider": "twilio", **{k: fields[k] for k in keep if fields.get(k)}}


routes = [Route(PREFIX + "{rest:path}", voice_callback, methods=["GET", "POST"])]

__all__ = ["answered_by_event", "routes", "twilio_events"]
