"""Vonage's call events: canonical voice events, and the voicemail left at the beep.

Every request is verified first (Vonage's HS256 JWT over the body, see
``auth.check_vonage``). Each status becomes at most one event under
``vonage:<call uuid>:<status>``, so a retry, or the second ``machine`` event that beep
detection sends, is answered 200 and recorded as a duplicate.

Vonage signs the body, not the URL, so a signed event copied to another run's path
would verify. Two checks bind an event to its send, both kept in what every receiver
process shares (the webhook key, the database), so they hold across restarts and
processes from the first copy on; a refused event is a 403 and nothing is ingested:

* the URL: every event URL DEE hands Vonage carries DEE's HMAC over its path (run,
  step, visit) and parameters (``callbacks.verified_event_params``). A captured
  genuine event replayed to another run, step or visit does not verify there.
* the call: once the send ledger records the call the send placed (Vonage's answer to
  the create request), an event of any other call (its body's ``uuid``) is refused,
  so a genuine body cannot be paired with another send's genuine URL either. Events
  that come before the ledger has the call are bound by the URL alone.

A URL with no DEE parameter at all belongs to a call placed before every event URL
was signed; its events are taken only when the ledger records that very call.

Voicemail: with beep detection Vonage reports ``status: machine`` and then, when the
greeting ends, ``status: machine`` with ``sub_state: beep_start``. At the beep the
receiver transfers the live call to an NCCO speaking the voicemail message, which
the event URL carries signed by DEE (``callbacks.verified_event_params``), beside a
signed flag saying the call uses machine detection. The event is ingested first; a
transfer that fails answers 502 and is not remembered, so Vonage's retry ingests a
duplicate and tries the transfer again. A transfer that succeeded is remembered per
call: a re-delivered beep event does not start the message again.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.channels import ChannelError
from adapters.channels.callbacks import SignedEventParams, verified_event_params
from adapters.channels.vonage import VonageVoiceChannel
from adapters.storage import SendKey, SendLedger, StorageError
from dee.errors import DocumentError
from dee.webhooks.auth import Refused, check_vonage, forbidden
from dee.webhooks.parsing import MAX_CALLBACK_BYTES, parse_json_object, read_body, text_field
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


def event_kind(status: str, machine_detection: bool) -> str | None:
    """The canonical event a Vonage status becomes, ``None`` for none.

    With machine detection Vonage reports ``answered`` for every pick-up, a machine's
    too, and the verdict (``human``/``machine``) separately and in no fixed order. Only
    the verdict counts then, so ``voice.answered`` never accompanies a voicemail.
    """
    if machine_detection and status == "answered":
        return None
    return VONAGE_STATUS.get(status)


def _raw_path(request: Request) -> str:
    return (request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1")


async def _event_params(request: Request, receiver: Receiver) -> SignedEventParams:
    raw = _raw_path(request)
    query = dict(request.query_params.items())
    try:
        return verified_event_params(raw, query, await receiver.signing_key())
    except ValueError as exc:
        raise forbidden(str(exc)) from None


async def _placed_by_this_send(
    receiver: Receiver, key: SendKey, call_uuid: str, *, url_signed: bool
) -> None:
    """Refuse (403) an event of a call the send ledger does not record for ``key``.

    With ``url_signed`` a ledger that records no call yet is enough (the event came
    first); an unsigned URL needs the ledger to name this very call.
    """
    try:
        row = await SendLedger(receiver.engine.database).get(key)
    except StorageError as exc:
        raise Refused(503, f"cannot read the send ledger: {exc}") from None
    recorded = None if row is None or row.provider != "vonage" else row.provider_message_id
    if recorded == call_uuid or (url_signed and recorded is None):
        return
    where = f"run {key.run_id!r}, step {key.step_id!r}, visit {key.visit}"
    if url_signed:
        raise forbidden(f"call {call_uuid!r} is not the call {where} placed")
    raise forbidden(
        f"the event URL is not signed by DEE, and the send ledger does not record call "
        f"{call_uuid!r} for {where}"
    )


async def _play(receiver: Receiver, call_uuid: str, text: str) -> None:
    try:
        channel = await receiver.voice()
    except DocumentError as exc:
        raise Refused(503, f"cannot leave the voicemail: {'; '.join(exc.lines)}") from None
    if not isinstance(channel, VonageVoiceChannel):
        raise Refused(409, "cannot leave the voicemail: channels.voice.provider is not vonage")
    try:
        await channel.play_voicemail(call_uuid, text)
    except ChannelError as exc:
        raise Refused(502, f"cannot leave the voicemail: {exc}") from None


async def vonage_event(request: Request, receiver: Receiver, target: SendKey) -> Response:
    """One Vonage call event for the send ``target`` (the run, step and visit in the path)."""
    body = await read_body(request, MAX_CALLBACK_BYTES)
    secret = receiver.config.webhooks.vonage_signature_secret
    check_vonage(secret, request.headers.get("authorization"), body, time.time())
    payload = parse_json_object(body)
    params = await _event_params(request, receiver)  # 403 unless signed for this path
    call = text_field(payload, "uuid", line=True)
    await _placed_by_this_send(receiver, target, call, url_signed=params.bound)
    status = text_field(payload, "status", required=False, line=True)
    beep = status == "machine" and payload.get("sub_state") == BEEP
    voicemail = params.voicemail if beep else None
    kind = event_kind(status, params.machine_detection)
    events = []
    if kind is not None:
        data: dict[str, Any] = {"provider": "vonage", "uuid": call, "status": status}
        event_id = f"vonage:{call}:{status}"
        events.append(await receiver.ingest(target.run_id, target.step_id, kind, event_id, data))
    played = False
    if voicemail and call not in receiver.voicemails_left:
        receiver.voicemails_left.remember(call)  # claimed before the await: no copy plays it too
        try:
            await _play(receiver, call, voicemail)
        except BaseException:
            receiver.voicemails_left.forget(call)  # Vonage's retry tries the transfer again
            raise
        played = True
    return JSONResponse({**accepted(events), "voicemailPlayed": played})


__all__ = ["VONAGE_STATUS", "event_kind", "vonage_event"]
