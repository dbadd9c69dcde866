"""Vonage's call events: canonical voice events, and the voicemail left at the beep.

Every request is verified first (Vonage's HS256 JWT over the body, see
``auth.check_vonage``) and refused as a replay once accepted. Each status becomes at
most one event under ``vonage:<call uuid>:<status>``, so a retry, or the second
``machine`` event that beep detection sends, is a recorded duplicate.

Voicemail: with beep detection Vonage reports ``status: machine`` and then, when the
greeting ends, ``status: machine`` with ``sub_state: beep_start``. At the beep the
receiver transfers the live call to an NCCO speaking the voicemail message, which
the event URL carries signed by DEE (``callbacks.verified_voicemail``). The event
is ingested first; a transfer that fails answers 502 and is not remembered, so
Vonage's retry ingests a duplicate and tries the transfer again.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.channels import ChannelError
from adapters.channels.callbacks import verified_voicemail
from adapters.channels.vonage import VonageVoiceChannel
from dee.channels import voice_channel
from dee.errors import DocumentError
from dee.webhooks.auth import Refused, check_vonage, forbidden
from dee.webhooks.parsing import json_object, text_field
from dee.webhooks.receiver import Receiver, accepted

VONAGE_STATUS = {
    "answered": "voice.answered",
    "human": "voice.answered",
    "machine": "voice.voicemail",
    "completed": "voice.completed",
    "busy": "voice.busy",
    "timeout": "voice.no_answer",
    "unanswered": "voice.no_answer",
    "failed": "voice.failed",
    "rejected": "voice.failed",
    "cancelled": "voice.failed",
}
BEEP = "beep_start"


async def _voicemail_text(request: Request, receiver: Receiver) -> str | None:
    raw = (request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1")
    query = dict(request.query_params.items())
    try:
        return verified_voicemail(raw, query, await receiver.signing_key())
    except ValueError as exc:
        raise forbidden(str(exc)) from None


async def _play(receiver: Receiver, call_uuid: str, text: str) -> None:
    try:
        channel = voice_channel(receiver.config.channels.voice, Decimal(0))
    except DocumentError as exc:
        raise Refused(503, f"cannot leave the voicemail: {'; '.join(exc.lines)}") from None
    try:
        if not isinstance(channel, VonageVoiceChannel):
            raise Refused(409, "cannot leave the voicemail: channels.voice.provider is not vonage")
        await channel.play_voicemail(call_uuid, text)
    except ChannelError as exc:
        raise Refused(502, f"cannot leave the voicemail: {exc}") from None
    finally:
        aclose = getattr(channel, "aclose", None)
        if aclose is not None:
            await aclose()


async def vonage_event(request: Request, receiver: Receiver, run_id: str, step_id: str) -> Response:
    body = await request.body()
    secret = receiver.config.webhooks.vonage_signature_secret
    jti = check_vonage(secret, request.headers.get("authorization"), body, time.time())
    if f"vonage:{jti}" in receiver.guard:
        raise forbidden("replayed Vonage callback: this signed request was already accepted")
    payload, _raw = await json_object(request)
    call = text_field(payload, "uuid")
    status = text_field(payload, "status", required=False)
    beep = status == "machine" and payload.get("sub_state") == BEEP
    voicemail = await _voicemail_text(request, receiver) if beep else None
    kind = VONAGE_STATUS.get(status)
    events = []
    if kind is not None:
        data: dict[str, Any] = {"provider": "vonage", "uuid": call, "status": status}
        events.append(await receiver.ingest(run_id, step_id, kind, f"vonage:{call}:{status}", data))
    if voicemail:
        await _play(receiver, call, voicemail)
    receiver.guard.remember(f"vonage:{jti}")
    return JSONResponse({**accepted(events), "voicemailPlayed": bool(voicemail)})


__all__ = ["VONAGE_STATUS", "vonage_event"]
