"""Property: a malformed body, posted with valid credentials to any route, is never
answered 5xx (issue 18: deep JSON, NUL characters and the like got a 500)."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dee.config import EngineConfig
from dee.engine import Engine
from dee.webhooks import create_app
from tests.integration.channels.standins.vonage_events import SIGNATURE_SECRET, signed
from tests.integration.webhooks.conftest import PASSWORD, USER

AUTH = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}
INBOUND = "/webhooks/email/inbound"
EVENTS = "/webhooks/email/events/postmark"
VONAGE = "/webhooks/voice/vonage/run-x/call/1"
TWILIO = "/webhooks/voice/twilio/run-x/call/1"

# A plausible body per route, which the test mutates byte by byte.
SEEDS = {
    "inbound": json.dumps(
        {
            "From": "ada@example.com",
            "Subject": "Re: hi",
            "TextBody": "yes\nplease",
            "Headers": [{"Name": "In-Reply-To", "Value": "<m-1@example.com>"}],
        }
    ).encode(),
    "postmark": json.dumps(
        {
            "RecordType": "Bounce",
            "ID": 4323372036854775807,
            "Type": "HardBounce",
            "Email": "ada@example.com",
            "Metadata": {"dee_ref_0": "a.b"},
        }
    ).encode(),
    "vonage": json.dumps({"uuid": "u-1", "status": "machine", "sub_state": "beep_start"}).encode(),
    "twilio": b"CallSid=CA1&CallStatus=completed&AnsweredBy=human",
}
# Bytes that break JSON and forms in interesting ways (structure, escapes, NUL, UTF-8).
NASTY = st.sampled_from(
    [
        b"[",
        b"{",
        b"]",
        b"}",
        b'"',
        b"\\",
        b"\\u0000",
        b"\\ud800",
        b"\x00",
        b"\xff",
        b"%00",
        b"%ff",
        b"=",
        b"&",
        b"1e999",
        b"NaN",
        b"9" * 5000,
        b"[" * 5000,  # past the stdlib parser's recursion limit
    ]
) | st.binary(min_size=1, max_size=4)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    route = draw(st.sampled_from(sorted(SEEDS)))
    body = bytearray(SEEDS[route])
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(body)))
        cut = draw(st.integers(0, 3))
        body[at : at + cut] = draw(NASTY)
    if draw(st.booleans()):  # nest it (a byte inserted inside a string nests nothing)
        depth = draw(st.sampled_from([1, 63, 64, 65, 5000]))
        body[:] = b"[" * depth + body + b"]" * depth
    return route, bytes(body)


@pytest.fixture
def config(config: EngineConfig) -> EngineConfig:
    hooks = config.webhooks.model_copy(update={"vonage_signature_secret": SIGNATURE_SECRET})
    return config.model_copy(update={"webhooks": hooks})


@pytest.fixture
async def http(engine: Engine, config: EngineConfig) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(engine))
    async with httpx.AsyncClient(transport=transport, base_url=config.webhooks.public_url) as c:
        yield c


@settings(
    max_examples=60,
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(case=mutated())
async def test_a_malformed_body_is_never_a_5xx(
    http: httpx.AsyncClient, case: tuple[str, bytes]
) -> None:
    route, body = case
    if route == "vonage":  # signed, so the body itself is what gets judged
        headers = {"Authorization": signed(body), "Content-Type": "application/json"}
        answer = await http.post(VONAGE, content=body, headers=headers)
    elif route == "twilio":
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        answer = await http.post(TWILIO, content=body, headers=form)
    else:
        path = INBOUND if route == "inbound" else EVENTS
        json_auth = {**AUTH, "Content-Type": "application/json"}
        answer = await http.post(path, content=body, headers=json_auth)
    assert answer.status_code < 500, (route, body[:200], answer.text)
    assert "error" in answer.json() or answer.status_code == 200
