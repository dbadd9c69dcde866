"""Vonage end to end over HTTP: a voice step on the Vonage stand-in, which posts its own
signed events (HS256 JWT with ``payload_hash``) to the receiver; at the beep the
receiver leaves the voicemail by transferring the live call, and ``callOutcome``
routes the run. Forged, replayed and tampered events are refused."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from temporalio.testing import WorkflowEnvironment

from dee.config import EngineConfig, VoiceConfig
from dee.engine import Engine
from tests.integration.channels.standins import vonage_api
from tests.integration.channels.standins.vonage_api import VonageStandIn, running_vonage
from tests.integration.channels.standins.vonage_events import (
    SIGNATURE_SECRET,
    EventScript,
    signed,
)
from tests.integration.webhooks.conftest import Receiver
from tests.integration.webhooks.helpers import CONTACT, VARS, call_plan

VOICEMAIL = "Hi Ada, it's Grace about DEE. I'll follow up by email. Thanks!"


@pytest.fixture(scope="module")
def vonage() -> Iterator[VonageStandIn]:
    with running_vonage() as standin:
        yield standin


@pytest.fixture
def config(config: EngineConfig, vonage: VonageStandIn) -> EngineConfig:
    vonage.calls.clear()
    vonage.transfers.clear()
    vonage.events.clear()
    voice = VoiceConfig(
        provider="vonage",
        vonage_application_id=vonage_api.APPLICATION_ID,
        vonage_private_key=vonage_api.PRIVATE_KEY_PEM,
        vonage_base_url=vonage.url,
    )
    hooks = config.webhooks.model_copy(update={"vonage_signature_secret": SIGNATURE_SECRET})
    channels = config.channels.model_copy(update={"voice": voice})
    return config.model_copy(update={"channels": channels, "webhooks": hooks})


async def _call(engine: Engine, env: WorkflowEnvironment, vonage: VonageStandIn) -> str:
    """Start the call plan; return once the call is placed and its events (if any) posted."""
    await engine.grant_consent("c-ada", "voice", source="test-form", wording_version="v1")
    run = await engine.execute(call_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(minutes=5))
    assert len(vonage.calls) == 1
    if vonage.script.post_events:
        await asyncio.to_thread(vonage.events.wait_finished, 1)
    return run.run_id


async def test_a_machine_gets_the_voicemail_and_the_run_routes_on_it(
    engine: Engine, env: WorkflowEnvironment, vonage: VonageStandIn, receiver: Receiver
) -> None:
    vonage.script = EventScript(answered_by="machine")
    run_id = await _call(engine, env, vonage)
    [created] = vonage.calls
    assert created["event_url"][0].startswith(f"{receiver.url}/webhooks/voice/vonage/{run_id}/")
    answers = [(e.body["status"], e.body.get("sub_state"), e.status) for e in vonage.events.events]
    assert answers == [
        ("started", None, 200),
        ("ringing", None, 200),
        ("answered", None, 200),
        ("machine", None, 200),
        ("machine", "beep_start", 200),
        ("completed", None, 200),
    ], [e.answer for e in vonage.events.events]
    played = [json.loads(e.answer)["voicemailPlayed"] for e in vonage.events.events]
    assert played == [False, False, False, False, True, False]  # at the beep, once
    [(call_uuid, transfer)] = vonage.transfers
    assert call_uuid == vonage.events.events[0].body["uuid"]
    assert transfer == {
        "action": "transfer",
        "destination": {"type": "ncco", "ncco": [{"action": "talk", "text": VOICEMAIL}]},
    }
    await env.sleep(timedelta(hours=2))
    final = await engine.get_run(run_id)
    assert (final.status, final.outcome) == ("COMPLETED", "voicemail")
    timeline = await engine.get_timeline(run_id)
    events = [(e.detail["type"], e.outcome) for e in timeline if e.action == "event"]
    assert events == [
        ("voice.answered", "ingested"),
        ("voice.voicemail", "ingested"),
        ("voice.voicemail", "duplicate"),  # the beep: same status, same event id
        ("voice.completed", "ingested"),
    ]


async def test_a_person_gets_no_voicemail(
    engine: Engine, env: WorkflowEnvironment, vonage: VonageStandIn, receiver: Receiver
) -> None:
    vonage.script = EventScript(answered_by="human")
    run_id = await _call(engine, env, vonage)
    assert all(e.status == 200 for e in vonage.events.events)
    assert vonage.transfers == []
    await env.sleep(timedelta(hours=2))
    final = await engine.get_run(run_id)
    assert (final.status, final.outcome) == ("COMPLETED", "talked")


async def test_forged_replayed_and_tampered_events_are_refused(
    engine: Engine, env: WorkflowEnvironment, vonage: VonageStandIn, receiver: Receiver
) -> None:
    vonage.script = EventScript(post_events=False)
    run_id = await _call(engine, env, vonage)
    event_url = vonage.calls[0]["event_url"][0]
    beep = {"uuid": "u-1", "status": "machine", "sub_state": "beep_start"}
    raw = json.dumps(beep).encode()
    http = receiver.http
    json_headers = {"Content-Type": "application/json"}

    forged = await http.post(
        event_url,
        content=raw,
        headers={
            **json_headers,
            "Authorization": signed(raw, "not-the-signature-secret-of-this-app"),
        },
    )
    assert forged.status_code == 403 and "signature does not match" in forged.json()["error"]
    other_body = await http.post(
        event_url, content=b"{}", headers={**json_headers, "Authorization": signed(raw)}
    )
    assert other_body.status_code == 403 and "payload_hash" in other_body.json()["error"]
    url = urlsplit(event_url)
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    tampered_url = event_url.split("?")[0] + "?" + urlencode({**query, "voicemail": "Pay now."})
    tampered = await http.post(
        tampered_url, content=raw, headers={**json_headers, "Authorization": signed(raw)}
    )
    assert tampered.status_code == 403 and "not signed by DEE" in tampered.json()["error"]
    assert vonage.transfers == []  # nothing was said on anyone's call

    human = json.dumps({"uuid": "u-1", "status": "human"}).encode()
    auth = {**json_headers, "Authorization": signed(human)}
    assert (await http.post(event_url, content=human, headers=auth)).status_code == 200
    replayed = await http.post(event_url, content=human, headers=auth)
    assert replayed.status_code == 403 and "replayed" in replayed.json()["error"]
    await env.sleep(timedelta(hours=2))
    timeline = await engine.get_timeline(run_id)
    assert [e.detail["type"] for e in timeline if e.action == "event"] == ["voice.answered"]
