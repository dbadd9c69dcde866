"""Fixtures for the webhook receiver: the time-skipping server, a mail sink, the Twilio
stand-in, an engine with its worker, and the receiver under real uvicorn on a free port.

The receiver's public URL is known before the worker starts (the worker signs it into
every email and call), so its port is chosen first.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from temporalio.testing import WorkflowEnvironment

from dee.config import (
    ChannelsConfig,
    EmailConfig,
    EngineConfig,
    PoliciesConfig,
    TemporalConfig,
    VoiceConfig,
    WebhooksConfig,
)
from dee.devserver import free_port
from dee.engine import Engine
from dee.webhooks import server
from dee.worker import worker_for
from tests.integration.channels.standins.twilio_api import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    TwilioStandIn,
    running_twilio,
)
from tests.integration.channels.standins.twilio_callbacks import CallScript
from tests.integration.mailsink import SmtpServer
from tests.integration.runtime.conftest import _end_runs
from tests.integration.waiting import until_true

ROOT = Path(__file__).resolve().parents[3]
SECRET = "webhook-test-secret"
USER, PASSWORD = "postmark", "inbound-pass"


@dataclass
class Receiver:
    """The running receiver: its base URL, an HTTP client for it, and the ASGI app."""

    url: str
    http: httpx.AsyncClient
    app: Any = None


@pytest.fixture(scope="module")
def twilio() -> Iterator[TwilioStandIn]:
    with running_twilio() as standin:
        yield standin


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def config(tmp_path: Path, mail: SmtpServer, twilio: TwilioStandIn, port: int) -> EngineConfig:
    mail.handler.received.clear()
    twilio.calls.clear()
    twilio.callbacks.clear()
    twilio.script = CallScript()
    return EngineConfig(
        database=f"sqlite+aiosqlite:///{tmp_path / 'dee.db'}",
        templates_dir=ROOT / "templates",
        temporal=TemporalConfig(task_queue=f"q-{uuid.uuid4()}", search_attributes=False),
        channels=ChannelsConfig(
            email=EmailConfig(host=mail.host, port=mail.port, sender="Sales <sales@example.com>"),
            voice=VoiceConfig(
                provider="twilio",
                twilio_account_sid=ACCOUNT_SID,
                twilio_auth_token=AUTH_TOKEN,
                twilio_base_url=twilio.url,
            ),
        ),
        webhooks=WebhooksConfig(
            public_url=f"http://127.0.0.1:{port}",
            secret=SECRET,
            port=port,
            username=USER,
            password=PASSWORD,
        ),
        # Calls at any hour of the test; the bulk-sender presets state the opt-out clocks.
        policies=PoliciesConfig(hours={"voice": None}, presets=["can-spam", "gmail-bulk"]),
    )


@pytest.fixture
async def engine(env: WorkflowEnvironment, config: EngineConfig) -> AsyncIterator[Engine]:
    engine = await Engine.connect(config, client=env.client)
    try:
        async with worker_for(config, env.client, database=engine.database) as worker, worker:
            yield engine
            await _end_runs(engine)
    finally:
        await engine.close()


@asynccontextmanager
async def serving(uv: uvicorn.Server, base: str) -> AsyncIterator[Receiver]:
    """Run ``uv`` in this event loop until the block ends (then shut it down)."""
    task = asyncio.create_task(uv.serve())
    await until_true(lambda: uv.started, what="uvicorn starting", timeout=4, every=0.02)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            yield Receiver(base, http, uv.config.app)
    finally:
        uv.should_exit = True
        await task


@pytest.fixture
async def receiver(engine: Engine, port: int) -> AsyncIterator[Receiver]:
    """``dee webhooks`` as deployed: uvicorn over a real socket, in this event loop."""
    async with serving(
        server(engine, host="127.0.0.1", port=port), f"http://127.0.0.1:{port}"
    ) as r:
        yield r
