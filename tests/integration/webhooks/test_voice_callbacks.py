"""Voice: a call placed on the Twilio stand-in, which posts its own signed status
callbacks and fetches the answer document over HTTP; ``callOutcome`` routes the run;
forged and replayed callbacks are refused. Vonage's signed callbacks are checked on
their JWT."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment
from twilio.request_validator import RequestValidator

from dee.engine import Engine
from dee.webhooks.auth import Refused, check_vonage
from dee.webhooks.voice_routes import twilio_events
from tests.integration.channels.standins.twilio_api import AUTH_TOKEN, TwilioStandIn
from tests.integration.channels.standins.twilio_callbacks import CallScript
from tests.integration.webhooks.conftest import Receiver
from tests.integration.webhooks.helpers import CONTACT, VARS, call_plan


def _signed(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, params)}


@pytest.mark.parametrize(
    ("answered_by", "spoken"),
    [
        # Detection decided at the greeting's start: nothing is said (it would be cut).
        ("machine_start", None),
        # After the beep: the voicemail message is left.
        ("machine_end_beep", "Grace about DEE"),
    ],
)
async def test_the_stand_ins_own_callbacks_route_the_run_on_voicemail(
    engine: Engine,
    env: WorkflowEnvironment,
    twilio: TwilioStandIn,
    receiver: Receiver,
    answered_by: str,
    spoken: str | None,
) -> None:
    twilio.script = CallScript(answered_by=answered_by)
    await engine.grant_consent("c-ada", "voice", source="test-form", wording_version="v1")
    run = await engine.execute(call_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(minutes=5))
    [call] = twilio.calls
    status_url = call["StatusCallback"][0]
    assert status_url == f"{receiver.url}/webhooks/voice/twilio/{run.run_id}/call/1"
    await asyncio.to_thread(twilio.callbacks.wait_finished, 1)
    made = twilio.callbacks.requests
    assert [(c.params["CallStatus"], c.status) for c in made] == [
        ("initiated", 200),
        ("ringing", 200),
        ("in-progress", 200),  # the answer document, fetched with AnsweredBy
        ("in-progress", 200),
        ("completed", 200),
    ], [c.body for c in made]
    twiml = made[2]
    assert twiml.url == call["Url"][0] and twiml.params["AnsweredBy"] == answered_by
    if spoken is None:
        assert "<Say>" not in twiml.body and "<Hangup" in twiml.body
    else:
        assert spoken in twiml.body and "<Hangup" in twiml.body
    await env.sleep(timedelta(hours=2))
    final = await engine.get_run(run.run_id)
    assert (final.status, final.outcome) == ("COMPLETED", "voicemail")
    timeline = await engine.get_timeline(run.run_id)
    events = [(e.detail["type"], e.outcome) for e in timeline if e.action == "event"]
    # "completed" repeats the verdict under the same id: a duplicate, not a second event.
    assert events == [
        ("voice.voicemail", "ingested"),
        ("voice.voicemail", "duplicate"),
        ("voice.completed", "ingested"),
    ]


async def test_forged_and_replayed_callbacks_are_refused(
    engine: Engine, env: WorkflowEnvironment, twilio: TwilioStandIn, receiver: Receiver
) -> None:
    twilio.script = CallScript(answered_by="human")
    await engine.grant_consent("c-ada", "voice", source="test-form", wording_version="v1")
    run = await engine.execute(call_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(minutes=5))
    await asyncio.to_thread(twilio.callbacks.wait_finished, 1)
    [call] = twilio.calls
    status_url = call["StatusCallback"][0]
    params = {
        "CallSid": "CA" + "1" * 32,
        "AccountSid": "AC" + "0123456789abcdef" * 2,
        "CallStatus": "in-progress",
        "AnsweredBy": "machine_start",
        "To": CONTACT["phone"],
        "From": "+15551234567",
    }
    http = receiver.http
    forged = await http.post(status_url, data=params, headers=_signed(status_url, params, "x"))
    assert forged.status_code == 403 and "does not match" in forged.json()["error"]
    unsigned = await http.post(status_url, data=params)
    assert unsigned.status_code == 403 and "missing X-Twilio-Signature" in unsigned.text
    other_run = status_url.replace(run.run_id, "run-other")  # a signature is per URL
    moved = await http.post(other_run, data=params, headers=_signed(status_url, params))
    assert moved.status_code == 403
    # The stand-in's genuine "answered" callback, sent again byte for byte.
    answered = next(c for c in twilio.callbacks.requests if c.url == status_url
                    and c.params["CallStatus"] == "in-progress")  # fmt: skip
    replayed = await http.post(
        answered.url, data=answered.params, headers={"X-Twilio-Signature": answered.signature}
    )
    assert replayed.status_code == 403 and "replayed" in replayed.json()["error"]
    await env.sleep(timedelta(hours=2))
    final = await engine.get_run(run.run_id)
    assert (final.status, final.outcome) == ("COMPLETED", "talked")
    timeline = await engine.get_timeline(run.run_id)
    events = [e.detail["type"] for e in timeline if e.action == "event"]
    assert "voice.voicemail" not in events  # none of the refused requests got through


def test_twilio_statuses_map_to_canonical_events() -> None:
    def kinds(**fields: str) -> list[str]:
        return [kind for kind, _ in twilio_events({"CallSid": "CA1", **fields})]

    assert kinds(CallStatus="in-progress", AnsweredBy="human") == ["voice.answered"]
    assert kinds(CallStatus="completed", AnsweredBy="machine_end_beep") == [
        "voice.voicemail",
        "voice.completed",
    ]
    assert kinds(CallStatus="no-answer") == ["voice.no_answer"]
    assert kinds(CallStatus="busy") == ["voice.busy"]
    assert kinds(CallStatus="failed") == ["voice.failed"]
    assert kinds(CallStatus="ringing") == []
    with pytest.raises(Refused, match="not a Twilio call status"):
        twilio_events({"CallSid": "CA1", "CallStatus": "exploded"})


def _vonage_jwt(secret: str, body: bytes, iat: float) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {"iat": int(iat), "jti": "j-1", "payload_hash": hashlib.sha256(body).hexdigest()}
    payload = b64(json.dumps(claims).encode())
    mac = hmac.new(secret.encode(), f"{head}.{payload}".encode(), hashlib.sha256).digest()
    return f"Bearer {head}.{payload}.{b64(mac)}"


def test_vonage_signed_callbacks_are_verified() -> None:
    body, now = b'{"status": "machine", "uuid": "u-1"}', time.time()
    assert check_vonage("sig", _vonage_jwt("sig", body, now), body, now) == "j-1"
    cases = {
        "signature does not match": _vonage_jwt("other", body, now),
        "payload_hash does not match": _vonage_jwt("sig", b"{}", now),
        "expired": _vonage_jwt("sig", body, now - 3600),
        "missing Vonage bearer token": "",
    }
    for why, header in cases.items():
        with pytest.raises(Refused, match=why):
            check_vonage("sig", header, body, now)
    with pytest.raises(Refused, match="vonageSignatureSecret is not set"):
        check_vonage(None, _vonage_jwt("sig", body, now), body, now)
