"""Vonage end to end over HTTP: a voice step on the Vonage stand-in, which posts its own
signed events (HS256 JWT with ``payload_hash``) to the receiver; at the beep the
receiver leaves the voicemail by transferring the live call, and ``callOutcome``
routes the run. A re-delivered event is a duplicate (the voicemail is left once);
forged and tampered events, and a call's events sent to another run's path, are
refused."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.testing import WorkflowEnvironment

from adapters.channels.vonage import VonageVoiceChannel
from dee.config import EngineConfig, VoiceConfig
from dee.devserver import free_port
from dee.engine import Engine
from dee.webhooks import create_app, server
from tests.integration.channels.standins import vonage_api
from tests.integration.channels.standins.vonage_api import VonageStandIn, running_vonage
from tests.integration.channels.standins.vonage_events import (
    SIGNATURE_SECRET,
    EventScript,
    signed,
)
from tests.integration.webhooks.conftest import Receiver, serving
from tests.integration.webhooks.helpers import CONTACT, VARS, call_plan

VOICEMAIL = "Hi Ada, it's Grace about DEE. I'll follow up by email. Thanks!"


@pytest.fixture(scope="module")
def vonage() -> Iterator[VonageStandIn]:
    with running_vonage() as standin:
        yield standin


@pytest.fixture
def prefix() -> str:
    """A path the public URL adds before ``/webhooks`` (a reverse proxy's mount point)."""
    return ""


@pytest.fixture
def config(config: EngineConfig, vonage: VonageStandIn, prefix: str) -> EngineConfig:
    vonage.calls.clear()
    vonage.transfers.clear()
    vonage.events.clear()
    voice = VoiceConfig(
        provider="vonage",
        vonage_application_id=vonage_api.APPLICATION_ID,
        vonage_private_key=vonage_api.PRIVATE_KEY_PEM,
        vonage_base_url=vonage.url,
    )
    public_url = config.webhooks.public_url + prefix
    hooks = config.webhooks.model_copy(
        update={"vonage_signature_secret": SIGNATURE_SECRET, "public_url": public_url}
    )
    channels = config.channels.model_copy(update={"voice": voice})
    return config.model_copy(update={"channels": channels, "webhooks": hooks})


async def _call(engine: Engine, env: WorkflowEnvironment, vonage: VonageStandIn) -> str:
    """Start the call plan; return once the call is placed and its events (if any) posted."""
    await engine.policies.grant_consent("c-ada", "voice", source="test-form", wording_version="v1")
    run = await engine.execute(call_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(minutes=5))
    assert len(vonage.calls) == 1
    if vonage.script.post_events:
        await asyncio.to_thread(vonage.events.wait_finished, 1)
    return run.run_id


def _played(answer: str) -> bool:
    return bool(json.loads(answer)["voicemailPlayed"])


async def _check_voicemail_left(
    engine: Engine, env: WorkflowEnvironment, vonage: VonageStandIn, run_id: str
) -> None:
    answers = [(e.body["status"], e.body.get("sub_state"), e.status) for e in vonage.events.events]
    assert sorted(answers, key=str) == sorted(
        [
            ("started", None, 200),
            ("ringing", None, 200),
            ("answered", None, 200),
            ("machine", None, 200),
            ("machine", "beep_start", 200),
            ("completed", None, 200),
        ],
        key=str,
    ), [e.answer for e in vonage.events.events]
    played = [e.body.get("sub_state") for e in vonage.events.events if _played(e.answer)]
    assert played == ["beep_start"]  # at the beep, once
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
    # A detection call reports who answered by the verdict alone: no voice.answered,
    # whichever of "answered" and "machine" arrives first.
    assert events == [
        ("voice.voicemail", "ingested"),
        ("voice.voicemail", "duplicate"),  # the beep: same status, same event id
        ("voice.completed", "ingested"),
    ]


@pytest.mark.parametrize("verdict_first", [False, True])
async def test_a_machine_gets_the_voicemail_and_the_run_routes_on_it(
    engine: Engine,
    env: WorkflowEnvironment,
    vonage: VonageStandIn,
    receiver: Receiver,
    verdict_first: bool,
) -> None:
    vonage.script = EventScript(answered_by="machine", verdict_first=verdict_first)
    run_id = await _call(engine, env, vonage)
    [created] = vonage.calls
    assert created["event_url"][0].startswith(f"{receiver.url}/webhooks/voice/vonage/{run_id}/")
    await _check_voicemail_left(engine, env, vonage, run_id)


@pytest.mark.parametrize("verdict_first", [False, True])
async def test_a_person_gets_no_voicemail(
    engine: Engine,
    env: WorkflowEnvironment,
    vonage: VonageStandIn,
    receiver: Receiver,
    verdict_first: bool,
) -> None:
    vonage.script = EventScript(answered_by="human", verdict_first=verdict_first)
    run_id = await _call(engine, env, vonage)
    assert all(e.status == 200 for e in vonage.events.events)
    assert vonage.transfers == []
    await env.sleep(timedelta(hours=2))
    final = await engine.get_run(run_id)
    assert (final.status, final.outcome) == ("COMPLETED", "talked")
    timeline = await engine.get_timeline(run_id)
    events = [(e.detail["type"], e.outcome) for e in timeline if e.action == "event"]
    assert events == [("voice.answered", "ingested"), ("voice.completed", "ingested")]


async def test_forged_moved_and_tampered_events_are_refused_and_a_redelivery_is_not(
    engine: Engine, env: WorkflowEnvironment, vonage: VonageStandIn, receiver: Receiver
) -> None:
    vonage.script = EventScript(post_events=False)
    run_id = await _call(engine, env, vonage)
    event_url = vonage.calls[0]["event_url"][0]
    call = vonage.records[-1].uuid
    beep = {"uuid": call, "status": "machine", "sub_state": "beep_start"}
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

    human = json.dumps({"uuid": call, "status": "human"}).encode()
    auth = {**json_headers, "Authorization": signed(human)}
    # Another call's genuine event at this send's genuine URL: not this send's call.
    stray = json.dumps({"uuid": "another-call", "status": "human"}).encode()
    answer = await http.post(
        event_url, content=stray, headers={**json_headers, "Authorization": signed(stray)}
    )
    assert answer.status_code == 403 and "is not the call" in answer.json()["error"]
    first = await http.post(event_url, content=human, headers=auth)
    assert first.status_code == 200, first.text
    assert first.json()["events"] == [
        {"id": f"vonage:{call}:human", "runs": [run_id], "duplicate": False}
    ]
    # Vonage retrying: the same request again, and the same event signed anew.
    for retry in (auth, {**json_headers, "Authorization": signed(human)}):
        again = await http.post(event_url, content=human, headers=retry)
        assert again.status_code == 200, again.text
        assert again.json()["events"] == [
            {"id": f"vonage:{call}:human", "runs": [run_id], "duplicate": True}
        ]

    # Vonage signs the body only. This call's genuine event at another run's event URL,
    # genuine too (DEE signed it), or at other paths of this run: each is refused.
    await engine.policies.grant_consent("c-bob", "voice", source="test-form", wording_version="v1")
    bob = {**CONTACT, "id": "c-bob", "phone": "+15555550102"}
    bob_run = await engine.execute(call_plan(), contact=bob, variables=VARS)
    await env.sleep(timedelta(minutes=5))
    bob_url = vonage.calls[1]["event_url"][0]
    assert bob_run.run_id in bob_url
    path, query = event_url.split("?")
    for moved_url, why in (
        (bob_url, "is not the call"),  # Bob's URL, signed for Bob: Bob's call is another
        (bob_url.split("?")[0] + "?" + query, "not signed by DEE for this path"),
        (bob_url.split("?")[0], "not signed by DEE"),
        (path.replace("/call/1", "/wait/1") + "?" + query, "not signed by DEE for this path"),
        (path.replace("/call/1", "/call/2") + "?" + query, "not signed by DEE for this path"),
        (path.replace("/call/1", "/wait/1"), "not signed by DEE"),
    ):
        moved = await http.post(moved_url, content=human, headers=auth)
        assert moved.status_code == 403, (moved_url, moved.text)
        assert why in moved.json()["error"], (moved_url, moved.text)

    await env.sleep(timedelta(hours=2))
    timeline = await engine.get_timeline(run_id)
    assert [(e.detail["type"], e.outcome) for e in timeline if e.action == "event"] == [
        ("voice.answered", "ingested"),
        ("voice.answered", "duplicate"),
        ("voice.answered", "duplicate"),
    ]
    bob_timeline = await engine.get_timeline(bob_run.run_id)
    assert [e for e in bob_timeline if e.action == "event"] == []


async def test_a_captured_event_replayed_elsewhere_is_refused_by_a_fresh_receiver(
    engine: Engine, env: WorkflowEnvironment, vonage: VonageStandIn, receiver: Receiver
) -> None:
    """Issue 18, item 3: no receiver memory is involved. Alice's genuine, captured
    ``human`` event (URL, Vonage's JWT, body) goes to a receiver process that never saw
    it, at Bob's path and at another step and visit of Alice's run: all 403, nothing
    recorded; the genuine request itself is still taken there."""
    vonage.script = EventScript(answered_by="human")
    alice = await _call(engine, env, vonage)
    [captured] = [e for e in vonage.events.events if e.body["status"] == "human"]
    assert captured.status == 200
    await engine.policies.grant_consent("c-bob", "voice", source="test-form", wording_version="v1")
    bob = {**CONTACT, "id": "c-bob", "phone": "+15555550102"}
    bob_run = await engine.execute(call_plan(), contact=bob, variables=VARS)
    await env.sleep(timedelta(minutes=5))
    await asyncio.to_thread(vonage.events.wait_finished, 2)
    bob_url = vonage.calls[-1]["event_url"][0]

    path, query = urlsplit(captured.url).path, urlsplit(captured.url).query
    bob_path = urlsplit(bob_url).path
    replays = [
        f"{bob_path}?{query}",  # another run, the captured signature
        bob_path,  # another run, no signature
        bob_url.removeprefix(receiver.url),  # another run's own genuine URL
        path.replace(f"/{alice}/call/", f"/{alice}/wait/") + f"?{query}",  # another step
        path.removesuffix("/1") + f"/2?{query}",  # another visit
    ]
    headers = {"Content-Type": "application/json", "Authorization": captured.authorization}
    body = json.dumps(captured.body)
    fresh_port = free_port()
    fresh = server(engine, host="127.0.0.1", port=fresh_port)
    async with serving(fresh, f"http://127.0.0.1:{fresh_port}") as other:
        for target in replays:
            answer = await other.http.post(target, content=body, headers=headers)
            assert answer.status_code == 403, (target, answer.text)
        genuine = await other.http.post(f"{path}?{query}", content=body, headers=headers)
        assert genuine.status_code == 200, genuine.text

    await env.sleep(timedelta(hours=2))
    for run_id, outcome in ((alice, "talked"), (bob_run.run_id, "talked")):
        final = await engine.get_run(run_id)
        assert (final.status, final.outcome) == ("COMPLETED", outcome)
    events = {
        run_id: [
            (e.detail["type"], e.outcome, e.detail["id"].split(":")[1])
            for e in await engine.get_timeline(run_id)
            if e.action == "event"
        ]
        for run_id in (alice, bob_run.run_id)
    }
    alice_call, bob_call = vonage.records[-2].uuid, vonage.records[-1].uuid
    assert events[bob_run.run_id] == [
        ("voice.answered", "ingested", bob_call),
        ("voice.completed", "ingested", bob_call),
    ]
    assert events[alice] == [
        ("voice.answered", "ingested", alice_call),
        ("voice.completed", "ingested", alice_call),
        ("voice.answered", "duplicate", alice_call),  # the genuine request, again
    ]


async def test_a_redelivered_beep_is_a_duplicate_and_leaves_no_second_voicemail(
    engine: Engine, env: WorkflowEnvironment, vonage: VonageStandIn, receiver: Receiver
) -> None:
    vonage.script = EventScript(answered_by="machine")
    run_id = await _call(engine, env, vonage)
    [beep] = [e for e in vonage.events.events if e.body.get("sub_state") == "beep_start"]
    assert beep.status == 200 and _played(beep.answer)
    call = beep.body["uuid"]
    # The stand-in's own event again, byte for byte (it posted json.dumps of the body).
    headers = {"Content-Type": "application/json", "Authorization": beep.authorization}
    again = await receiver.http.post(beep.url, content=json.dumps(beep.body), headers=headers)
    assert again.status_code == 200, again.text
    assert again.json() == {
        "accepted": True,
        "events": [{"id": f"vonage:{call}:machine", "runs": [run_id], "duplicate": True}],
        "voicemailPlayed": False,
    }
    assert len(vonage.transfers) == 1  # the message was not started again
    await env.sleep(timedelta(hours=2))
    final = await engine.get_run(run_id)
    assert (final.status, final.outcome) == ("COMPLETED", "voicemail")
    timeline = await engine.get_timeline(run_id)
    assert [(e.detail["type"], e.outcome) for e in timeline if e.action == "event"] == [
        ("voice.voicemail", "ingested"),
        ("voice.voicemail", "duplicate"),  # the beep: same status, same event id
        ("voice.completed", "ingested"),
        ("voice.voicemail", "duplicate"),  # the beep re-delivered
    ]


def _strip(prefix: str, app: ASGIApp) -> ASGIApp:
    """What nginx's ``proxy_pass http://backend/;`` does: the backend never sees ``prefix``."""

    async def proxy(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope["raw_path"]
            assert raw.startswith(prefix.encode() + b"/"), raw
            stripped = raw[len(prefix) :]
            scope = {**scope, "raw_path": stripped, "path": scope["path"][len(prefix) :]}
        await app(scope, receive, send)

    return proxy


@pytest.mark.parametrize("prefix", ["/prefix"])
@pytest.mark.parametrize("proxy", ["strip", "mount"])
async def test_a_public_url_with_a_path_prefix_still_leaves_the_voicemail(
    engine: Engine,
    env: WorkflowEnvironment,
    vonage: VonageStandIn,
    config: EngineConfig,
    port: int,
    prefix: str,
    proxy: str,
) -> None:
    """Behind a proxy that strips the prefix, or passes it on to a mounted app."""
    app = create_app(engine)
    served = _strip(prefix, app) if proxy == "strip" else Starlette(routes=[Mount(prefix, app)])
    uv = uvicorn.Server(uvicorn.Config(served, host="127.0.0.1", port=port, log_level="warning"))
    async with serving(uv, config.webhooks.public_url):
        vonage.script = EventScript(answered_by="machine")
        run_id = await _call(engine, env, vonage)
        event_url = vonage.calls[0]["event_url"][0]
        assert event_url.startswith(f"http://127.0.0.1:{port}/prefix/webhooks/voice/vonage/")
        await _check_voicemail_left(engine, env, vonage, run_id)


async def test_the_voice_channel_is_built_once_and_closed_at_shutdown(
    engine: Engine,
    env: WorkflowEnvironment,
    vonage: VonageStandIn,
    config: EngineConfig,
    port: int,
    tmp_path: Path,
) -> None:
    """The receiver reads the key file once (off the event loop) and keeps one pool."""
    key_file = tmp_path / "vonage.pem"
    key_file.write_text(vonage_api.PRIVATE_KEY_PEM, encoding="ascii")
    voice = config.channels.voice.model_copy(
        update={"vonage_private_key": None, "vonage_private_key_file": key_file}
    )
    channels = config.channels.model_copy(update={"voice": voice})
    engine.config = config.model_copy(update={"channels": channels})
    vonage.script = EventScript(answered_by="machine")
    await engine.policies.grant_consent("c-bob", "voice", source="test-form", wording_version="v1")
    uv = server(engine, host="127.0.0.1", port=port)
    async with serving(uv, config.webhooks.public_url) as receiver:
        await _call(engine, env, vonage)
        assert len(vonage.transfers) == 1
        key_file.unlink()  # a second read would fail: the next voicemail needs none
        bob = {**CONTACT, "id": "c-bob", "phone": "+15555550102"}
        await engine.execute(call_plan(), contact=bob, variables=VARS)
        await env.sleep(timedelta(minutes=5))
        await asyncio.to_thread(vonage.events.wait_finished, 2)
        assert len(vonage.transfers) == 2, [e.answer for e in vonage.events.events]
        channel = await receiver.app.state.receiver.voice()
        assert isinstance(channel, VonageVoiceChannel) and not channel.closed
    assert channel.closed
