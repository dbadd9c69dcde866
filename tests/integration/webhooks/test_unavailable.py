"""When DEE cannot take an event now (Temporal or the database unreachable, an endpoint
not configured) the receiver answers 503, which providers retry, never a 4xx they
drop; a person clicking a genuine link is still sent on to its target."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import timedelta
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.service import RetryConfig
from temporalio.testing import WorkflowEnvironment

from adapters.channels.postmark import ref_metadata
from adapters.storage import Database
from adapters.tracking import Ref
from adapters.tracking.rewrite import Links
from dee.config import EngineConfig
from dee.engine import Engine
from dee.errors import EngineError, EngineUnavailable
from dee.webhooks import create_app
from tests.integration.mailsink import SmtpServer
from tests.integration.temporal_env import time_skipping_server_path
from tests.integration.webhooks.conftest import PASSWORD, SECRET, USER
from tests.integration.webhooks.helpers import CONTACT, VARS, messages, pixel_url, tracked_plan

AUTH = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}
TARGET = "https://example.com/pricing"


async def _dead_address(engine: Engine) -> Engine:
    """Temporal was never reachable: the client fails at its first call."""
    client = await Client.connect("127.0.0.1:1", lazy=True)
    return Engine(engine.config, client, engine.database)


async def _stopped_server(engine: Engine) -> Engine:
    """Temporal went away after the client connected: signals fail with an RPC error."""
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=time_skipping_server_path()
    ) as other:
        target = other.client.service_client.config.target_host
        quick = RetryConfig(max_retries=1, max_elapsed_time_millis=500)
        client = await Client.connect(target, retry_config=quick)
    return Engine(engine.config, client, engine.database)


async def _database_down(engine: Engine) -> Engine:
    """Nothing listens on port 1: every query is ``DatabaseUnavailable``."""
    database = Database("postgresql+asyncpg://dee:dee@127.0.0.1:1/dee")
    return Engine(engine.config, engine.client, database)


async def _requests(
    http: httpx.AsyncClient, run_id: str, message: Any
) -> dict[str, httpx.Response]:
    reply = {"Headers": [{"Name": "In-Reply-To", "Value": str(message["Message-ID"])}]}
    bounce = {
        "RecordType": "Delivery",
        "MessageID": "m-1",
        "Metadata": ref_metadata(str(message["X-DEE-Ref"])),
    }
    click = Links(str(http.base_url), SECRET.encode(), Ref(run_id, "intro", 1)).click(TARGET)
    return {
        "open": await http.get(pixel_url(message)),
        "click": await http.get(click),
        "reply": await http.post("/webhooks/email/inbound", json=reply, headers=AUTH),
        "postmark": await http.post("/webhooks/email/events/postmark", json=bounce, headers=AUTH),
    }


@pytest.mark.parametrize("outage", [_dead_address, _stopped_server, _database_down])
async def test_an_outage_answers_503_so_the_provider_retries(
    engine: Engine,
    env: WorkflowEnvironment,
    mail: SmtpServer,
    config: EngineConfig,
    outage: Callable[[Engine], Coroutine[Any, Any, Engine]],
) -> None:
    run = await engine.execute(tracked_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(minutes=5))
    [message] = messages(mail)
    broken = await outage(engine)
    transport = httpx.ASGITransport(app=create_app(broken))
    async with httpx.AsyncClient(transport=transport, base_url=config.webhooks.public_url) as http:
        answers = await _requests(http, run.run_id, message)
    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert statuses == {"open": 503, "click": 302, "reply": 503, "postmark": 503}, {
        name: answer.text for name, answer in answers.items()
    }
    assert answers["click"].headers["location"] == TARGET  # a person is not shown JSON
    # The provider's retry, once DEE is back, delivers what the outage refused.
    transport = httpx.ASGITransport(app=create_app(engine))
    async with httpx.AsyncClient(transport=transport, base_url=config.webhooks.public_url) as http:
        answers = await _requests(http, run.run_id, message)
    assert {name: answer.status_code for name, answer in answers.items()} == {
        "open": 200,
        "click": 302,
        "reply": 200,
        "postmark": 200,
    }
    await env.sleep(timedelta(minutes=1))
    timeline = await engine.get_timeline(run.run_id)
    kinds = sorted(str(e.detail["type"]) for e in timeline if e.action == "event")
    assert kinds == ["email.clicked", "email.delivered", "email.opened", "email.replied"]


@pytest.fixture
async def unconfigured(engine: Engine, config: EngineConfig) -> AsyncIterator[httpx.AsyncClient]:
    """The receiver with no basic-auth pair, Twilio token or Vonage signature secret."""
    hooks = config.webhooks.model_copy(
        update={"username": None, "password": None, "vonage_signature_secret": None}
    )
    voice = config.channels.voice.model_copy(update={"twilio_auth_token": None})
    channels = config.channels.model_copy(update={"voice": voice})
    bare = config.model_copy(update={"webhooks": hooks, "channels": channels})
    transport = httpx.ASGITransport(app=create_app(Engine(bare, engine.client, engine.database)))
    async with httpx.AsyncClient(transport=transport, base_url=config.webhooks.public_url) as http:
        yield http


async def test_an_endpoint_without_credentials_answers_503_not_403(
    unconfigured: httpx.AsyncClient,
) -> None:
    """Postmark stops retrying on a 403; a 503 keeps the events coming until fixed."""
    answers = [
        await unconfigured.post("/webhooks/email/inbound", json={}, headers=AUTH),
        await unconfigured.post("/webhooks/email/events/postmark", json={}, headers=AUTH),
        await unconfigured.post("/webhooks/voice/twilio/r/s/1", data={"CallSid": "CA1"}),
        await unconfigured.post("/webhooks/voice/vonage/r/s/1", json={"uuid": "u"}),
    ]
    assert [a.status_code for a in answers] == [503] * 4, [a.text for a in answers]
    assert all("endpoint disabled" in a.json()["error"] for a in answers)


async def test_an_outage_is_a_typed_error_and_a_refusal_is_not(
    engine: Engine, env: WorkflowEnvironment
) -> None:
    """The receiver picks 503 or 422 by the error's type, never by peeking at its cause."""
    run = await engine.execute(tracked_plan(), contact=CONTACT, variables=VARS)
    broken = await _stopped_server(engine)
    with pytest.raises(EngineUnavailable) as outage:
        await broken.ingest_event(type="email.opened", contact_id=CONTACT["id"], run_id=run.run_id)
    assert "event for run" in str(outage.value)
    with pytest.raises(EngineError) as refusal:
        await engine.ingest_event(type="email.opened", contact_id="someone-else", run_id=run.run_id)
    assert not isinstance(refusal.value, EngineUnavailable)
