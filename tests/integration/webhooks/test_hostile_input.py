"""Hostile input: non-ASCII tokens and credentials get a 4xx (not a 500), and bodies
over a route's cap get 413 before they are read, nothing ingested."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Awaitable
from datetime import timedelta

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment
from twilio.request_validator import RequestValidator

from dee.config import EngineConfig
from dee.engine import Engine
from dee.webhooks import create_app
from dee.webhooks.auth import Refused
from dee.webhooks.parsing import MAX_BODY_BYTES, MAX_CALLBACK_BYTES, MAX_EVENT_BYTES
from tests.integration.channels.standins.twilio_api import AUTH_TOKEN, TwilioStandIn
from tests.integration.channels.standins.twilio_callbacks import CallScript
from tests.integration.channels.standins.vonage_events import SIGNATURE_SECRET, signed
from tests.integration.webhooks.conftest import PASSWORD, USER, Receiver
from tests.integration.webhooks.helpers import CONTACT, VARS, call_plan

AUTH = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}
INBOUND = "/webhooks/email/inbound"
EVENTS = "/webhooks/email/events/postmark"
VONAGE = "/webhooks/voice/vonage/run-x/call/1"
TWILIO = "/webhooks/voice/twilio/run-x/call/1"
BEEP = json.dumps({"uuid": "u-1", "status": "machine", "sub_state": "beep_start"}).encode()


@pytest.fixture
def config(config: EngineConfig) -> EngineConfig:
    hooks = config.webhooks.model_copy(update={"vonage_signature_secret": SIGNATURE_SECRET})
    return config.model_copy(update={"webhooks": hooks})


def _non_ascii(http: httpx.AsyncClient, case: str) -> Awaitable[httpx.Response]:
    if case in ("open", "click"):
        url = {"url": "https://example.com/"}
        return http.get(f"/webhooks/email/{case}/abc.%C3%A9", params=url)
    if case == "basic-auth":
        return http.post(INBOUND, json={}, headers={"Authorization": b"Basic \xe9"})
    if case == "postmark-ref":
        event = {"RecordType": "Delivery", "MessageID": "m", "Metadata": {"dee_ref_0": "a.\u00e9"}}
        return http.post(EVENTS, json=event, headers=AUTH)
    if case == "vonage-sig":
        query = {"amd": "1", "voicemail": "Pay now.", "voicemail_sig": "\u00e9"}
        headers = {"Authorization": signed(BEEP), "Content-Type": "application/json"}
        return http.post(VONAGE, params=query, content=BEEP, headers=headers)
    assert case == "twilio-sig"
    return http.post(TWILIO, data={"CallSid": "CA1"}, headers={"X-Twilio-Signature": b"\xe9"})


@pytest.mark.parametrize(
    ("case", "why"),
    [
        ("open", "not ASCII"),
        ("click", "not ASCII"),
        ("basic-auth", "malformed basic-auth"),
        ("postmark-ref", "not ASCII"),
        ("vonage-sig", "not signed by DEE"),
        ("twilio-sig", "does not match"),
    ],
)
async def test_non_ascii_tokens_signatures_and_credentials_are_refused(
    receiver: Receiver, case: str, why: str
) -> None:
    answer = await _non_ascii(receiver.http, case)
    assert answer.status_code == 403 and why in answer.json()["error"], answer.text


async def _status_line(port: int, path: str, headers: str) -> str:
    """Send only a request head (the body it announces never comes): the answer's status."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"POST {path} HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode())
        await writer.drain()
        return (await asyncio.wait_for(reader.readline(), timeout=5)).decode().strip()
    finally:
        writer.close()


JSON = "Content-Type: application/json\r\n"
BASIC = f"Authorization: {AUTH['Authorization']}\r\n"


@pytest.mark.parametrize(
    ("path", "headers", "limit"),
    [
        (INBOUND, BASIC + JSON, MAX_BODY_BYTES),
        (EVENTS, BASIC + JSON, MAX_EVENT_BYTES),
        (TWILIO, "Content-Type: application/x-www-form-urlencoded\r\n", MAX_CALLBACK_BYTES),
        (VONAGE, JSON, MAX_CALLBACK_BYTES),
    ],
)
async def test_a_declared_oversized_body_is_refused_before_it_is_read(
    receiver: Receiver, port: int, path: str, headers: str, limit: int
) -> None:
    status = await _status_line(port, path, f"{headers}Content-Length: {limit + 1}\r\n")
    assert status.startswith("HTTP/1.1 413 "), status


@pytest.fixture
async def in_process(engine: Engine, config: EngineConfig) -> AsyncIterator[httpx.AsyncClient]:
    """The app in this process, so a test sees how much of a body it pulled."""
    transport = httpx.ASGITransport(app=create_app(engine))
    async with httpx.AsyncClient(transport=transport, base_url=config.webhooks.public_url) as c:
        yield c


@pytest.mark.parametrize(
    ("path", "content_type", "limit"),
    [
        (INBOUND, "application/json", MAX_BODY_BYTES),
        (INBOUND, "multipart/form-data; boundary=b", MAX_BODY_BYTES),
        (TWILIO, "application/x-www-form-urlencoded", MAX_CALLBACK_BYTES),
        (VONAGE, "application/json", MAX_CALLBACK_BYTES),
    ],
)
async def test_an_undeclared_oversized_body_is_cut_off_while_streaming(
    in_process: httpx.AsyncClient, path: str, content_type: str, limit: int
) -> None:
    pulled = 0
    chunk = b"a" * 65536

    async def endless() -> AsyncIterator[bytes]:  # chunked: no Content-Length to go by
        nonlocal pulled
        for _ in range(4 * limit // len(chunk) + 4):
            pulled += len(chunk)
            yield chunk

    headers = {**AUTH, "Content-Type": content_type}
    answer = await in_process.post(path, content=endless(), headers=headers)
    assert answer.status_code == 413, answer.text
    assert pulled <= limit + len(chunk)  # read up to the cap, not buffered whole


async def test_a_signed_oversized_callback_is_refused_and_ingests_nothing(
    engine: Engine,
    env: WorkflowEnvironment,
    twilio: TwilioStandIn,
    config: EngineConfig,
    in_process: httpx.AsyncClient,
) -> None:
    twilio.script = CallScript(post_callbacks=False)
    await engine.policies.grant_consent("c-ada", "voice", source="test-form", wording_version="v1")
    run = await engine.execute(call_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(minutes=5))
    status_url = twilio.calls[0]["StatusCallback"][0]
    params = {"CallSid": "CA1", "CallStatus": "completed", "Pad": "x" * MAX_CALLBACK_BYTES}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(status_url, params)
    answer = await in_process.post(
        status_url, data=params, headers={"X-Twilio-Signature": signature}
    )
    assert answer.status_code == 413, answer.text
    big = json.dumps({"uuid": "u-1", "status": "completed", "pad": "x" * MAX_CALLBACK_BYTES})
    vonage_url = status_url.replace("/twilio/", "/vonage/")
    headers = {"Authorization": signed(big.encode()), "Content-Type": "application/json"}
    assert (await in_process.post(vonage_url, content=big, headers=headers)).status_code == 413
    await env.sleep(timedelta(minutes=1))
    timeline = await engine.get_timeline(run.run_id)
    assert [e for e in timeline if e.action == "event"] == []


# Issue 18: malformed or unacceptable bodies sent with valid credentials got a 500 (or a
# 503 that Postmark retries forever); each now gets a 4xx naming the problem.
DEEP = b"[" * 10_000 + b"]" * 10_000


def _post_json(http: httpx.AsyncClient, route: str, body: bytes) -> Awaitable[httpx.Response]:
    if route == "vonage":  # signed, so the body is what gets judged
        headers = {"Authorization": signed(body), "Content-Type": "application/json"}
        return http.post(VONAGE, content=body, headers=headers)
    path = INBOUND if route == "inbound" else EVENTS
    return http.post(path, content=body, headers={**AUTH, "Content-Type": "application/json"})


@pytest.mark.parametrize("route", ["inbound", "postmark", "vonage"])
async def test_deeply_nested_json_is_a_400(in_process: httpx.AsyncClient, route: str) -> None:
    bodies = [DEEP, b'{"a": ' + DEEP + b"}"]
    if route != "vonage":  # past 64 KiB the body is decoded off the event loop
        bodies.append(b'{"pad": "' + b"x" * 70_000 + b'", "a": ' + DEEP + b"}")
    for body in bodies:
        answer = await _post_json(in_process, route, body)
        assert answer.status_code == 400, answer.text
        assert "nesting deeper than" in answer.json()["error"]


@pytest.mark.parametrize(
    ("field", "text", "why"),
    [
        ("Email", "\u0000", "control character (U+0000)"),
        ("Email", "\ud800", "lone surrogate (U+D800)"),
        ("RecordType", "\u001b", "control character (U+001B)"),  # none in a one-line field
    ],
)
async def test_a_nul_or_lone_surrogate_in_a_bounce_is_a_400_naming_the_field(
    in_process: httpx.AsyncClient, field: str, text: str, why: str
) -> None:
    bounce = {
        "RecordType": "Bounce",
        "Type": "HardBounce",
        "Email": "ada@example.com",
        "Metadata": {"dee_ref_0": "x"},
    }
    bounce[field] = bounce[field][:3] + text + bounce[field][3:]
    answer = await _post_json(in_process, "postmark", json.dumps(bounce).encode())
    assert answer.status_code == 400, answer.text
    assert field in answer.json()["error"] and why in answer.json()["error"]


async def test_a_nul_in_a_form_field_is_a_400_naming_it(in_process: httpx.AsyncClient) -> None:
    answer = await in_process.post(TWILIO, data={"CallSid": "CA\x001", "CallStatus": "completed"})
    assert answer.status_code == 400 and "'CallSid'" in answer.json()["error"], answer.text


async def test_a_large_postmark_event_is_a_413_not_a_503(in_process: httpx.AsyncClient) -> None:
    # 4.5 MB passed the inbound cap and overflowed Temporal's message limit (503, retried).
    bounce = {"RecordType": "Bounce", "Description": "x" * 4_500_000, "Metadata": {}}
    answer = await _post_json(in_process, "postmark", json.dumps(bounce).encode())
    assert answer.status_code == 413 and "larger than" in answer.json()["error"], answer.text


async def test_event_data_over_its_cap_is_a_413_before_anything_is_ingested(
    receiver: Receiver,
) -> None:
    app_receiver = receiver.app.state.receiver
    with pytest.raises(Refused) as refused:
        await app_receiver.ingest("run-x", "s", "email.replied", "e-1", {"subject": "x" * 70_000})
    assert refused.value.status == 413
