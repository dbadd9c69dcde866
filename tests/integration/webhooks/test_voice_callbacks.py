"""Voice: a call placed on the Twilio stand-in, which posts its own signed status
callbacks and fetches the answer document over HTTP; ``callOutcome`` routes the run;
a re-delivered callback is a duplicate, forged ones are refused. Vonage's signed
callbacks are checked on their JWT."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from temporalio.testing import WorkflowEnvironment
from twilio.request_validator import RequestValidator

from dee.devserver import free_port
from dee.engine import Engine
from dee.webhooks import server
from dee.webhooks.auth import Refused, check_vonage
from dee.webhooks.voice_routes import twilio_events
from tests.integration.channels.standins.twilio_api import AUTH_TOKEN, TwilioStandIn
from tests.integration.channels.standins.twilio_callbacks import Callback, CallScript
from tests.integration.webhooks.conftest import Receiver, serving
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
    await engine.policies.grant_consent("c-ada", "voice", source="test-form", wording_version="v1")
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


async def _answered_call(
    engine: Engine, env: WorkflowEnvironment, twilio: TwilioStandIn
) -> tuple[str, Callback]:
    """A call a person answered, every stand-in callback posted; its run, and the
    stand-in's genuine "answered" status callback."""
    twilio.script = CallScript(answered_by="human")
    await engine.policies.grant_consent("c-ada", "voice", source="test-form", wording_version="v1")
    run = await engine.execute(call_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(minutes=5))
    await asyncio.to_thread(twilio.callbacks.wait_finished, 1)
    [call] = twilio.calls
    status_url = call["StatusCallback"][0]
    answered = next(c for c in twilio.callbacks.requests if c.url == status_url
                    and c.params["CallStatus"] == "in-progress")  # fmt: skip
    assert answered.status == 200 and answered.params["AnsweredBy"] == "human"
    return run.run_id, answered


async def _events(engine: Engine, env: WorkflowEnvironment, run_id: str) -> list[tuple[str, str]]:
    """After the run's wait: it routed on the person, and the events it recorded."""
    await env.sleep(timedelta(hours=2))
    final = await engine.get_run(run_id)
    assert (final.status, final.outcome) == ("COMPLETED", "talked")
    timeline = await engine.get_timeline(run_id)
    return [(e.detail["id"], e.outcome) for e in timeline if e.action == "event"]


async def test_a_redelivered_callback_is_a_duplicate_and_forgeries_are_refused(
    engine: Engine, env: WorkflowEnvironment, twilio: TwilioStandIn, receiver: Receiver
) -> None:
    run_id, answered = await _answered_call(engine, env, twilio)
    sid = answered.params["CallSid"]
    genuine = {"X-Twilio-Signature": answered.signature}
    http = receiver.http

    # Twilio retrying: the stand-in's callback again, byte for byte.
    again = await http.post(answered.url, data=answered.params, headers=genuine)
    assert again.status_code == 200, again.text
    assert again.json()["events"] == [
        {"id": f"twilio:{sid}:answered-by", "runs": [run_id], "duplicate": True}
    ]

    # Forgeries: each is still refused, whatever the receiver has seen before.
    changed = {**answered.params, "AnsweredBy": "machine_start"}  # altered after signing
    forged_body = await http.post(answered.url, data=changed, headers=genuine)
    assert forged_body.status_code == 403 and "does not match" in forged_body.json()["error"]
    wrong = _signed(answered.url, answered.params, "not-the-auth-token")
    forged = await http.post(answered.url, data=answered.params, headers=wrong)
    assert forged.status_code == 403 and "does not match" in forged.json()["error"]
    unsigned = await http.post(answered.url, data=answered.params)
    assert unsigned.status_code == 403 and "missing X-Twilio-Signature" in unsigned.text
    # The signature covers the URL: the same request for another run, step or visit.
    for moved_url in (
        answered.url.replace(run_id, "run-other"),
        answered.url.replace("/call/1", "/wait/1"),
        answered.url.replace("/call/1", "/call/2"),
    ):
        assert moved_url != answered.url
        moved = await http.post(moved_url, data=answered.params, headers=genuine)
        assert moved.status_code == 403, (moved_url, moved.text)
        assert "does not match" in moved.json()["error"]

    assert await _events(engine, env, run_id) == [
        (f"twilio:{sid}:answered-by", "ingested"),
        (f"twilio:{sid}:answered-by", "duplicate"),  # "completed" repeats the verdict
        (f"twilio:{sid}:completed", "ingested"),
        (f"twilio:{sid}:answered-by", "duplicate"),  # the re-delivery; no forgery got in
    ]


async def test_a_receiver_that_never_saw_the_callback_still_records_a_duplicate(
    engine: Engine, env: WorkflowEnvironment, twilio: TwilioStandIn, receiver: Receiver
) -> None:
    """Another receiver process (or this one restarted) has no memory of the first
    delivery: it cannot say "duplicate", but the run still de-duplicates by id."""
    run_id, answered = await _answered_call(engine, env, twilio)
    sid = answered.params["CallSid"]
    other_port = free_port()
    other = server(engine, host="127.0.0.1", port=other_port)
    # Providers sign the public URL; which receiver behind it answers does not matter.
    async with serving(other, f"http://127.0.0.1:{other_port}") as fresh:
        path = urlsplit(answered.url).path
        headers = {"X-Twilio-Signature": answered.signature}
        again = await fresh.http.post(path, data=answered.params, headers=headers)
    assert again.status_code == 200, again.text
    assert again.json()["events"] == [
        {"id": f"twilio:{sid}:answered-by", "runs": [run_id], "duplicate": False}
    ]
    assert await _events(engine, env, run_id) == [
        (f"twilio:{sid}:answered-by", "ingested"),
        (f"twilio:{sid}:answered-by", "duplicate"),
        (f"twilio:{sid}:completed", "ingested"),
        (f"twilio:{sid}:answered-by", "duplicate"),
    ]


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
    check_vonage("sig", _vonage_jwt("sig", body, now), body, now)  # verifies: no Refused
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
