"""No ``webhooks.secret`` configured: tracking and one-click unsubscribe still work.

The worker generates the signing key into the database; a receiver started as its
own process (here: its own engine and connections) reads the same key and accepts
the links the worker signed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from adapters.storage import SecretStore
from adapters.tracking import Ref, verify
from adapters.tracking.secret import WEBHOOK_SECRET_NAME
from dee.config import EngineConfig
from dee.engine import Engine
from dee.webhooks import create_app
from tests.integration.mailsink import SmtpServer
from tests.integration.webhooks.helpers import (
    CONTACT,
    VARS,
    messages,
    pixel_url,
    tracked_plan,
    unsubscribe_url,
)


@pytest.fixture
def config(config: EngineConfig) -> EngineConfig:
    hooks = config.webhooks.model_copy(update={"secret": None})
    return config.model_copy(update={"webhooks": hooks})


@pytest.fixture
async def other_receiver(
    env: WorkflowEnvironment, config: EngineConfig
) -> AsyncIterator[httpx.AsyncClient]:
    """``dee webhooks`` as a separate process would be: its own engine and database handle."""
    engine = await Engine.connect(config, client=env.client)
    transport = httpx.ASGITransport(app=create_app(engine))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://hooks") as http:
            yield http
    finally:
        await engine.close()


async def test_tracking_works_on_a_generated_secret(
    engine: Engine,
    env: WorkflowEnvironment,
    mail: SmtpServer,
    other_receiver: httpx.AsyncClient,
) -> None:
    assert engine.config.webhooks.secret is None
    run = await engine.execute(tracked_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(minutes=5))
    [message] = messages(mail)
    stored = await SecretStore(engine.database).get_or_create(WEBHOOK_SECRET_NAME)
    assert verify(stored, "ref", str(message["X-DEE-Ref"])) == Ref(run.run_id, "intro", 1)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/webhooks/email/unsubscribe/" in unsubscribe_url(message)
    pixel = pixel_url(message)
    answer = await other_receiver.get(pixel[pixel.index("/webhooks/") :])
    assert answer.status_code == 200, answer.text
    await env.sleep(timedelta(hours=2))
    final = await engine.get_run(run.run_id)
    assert (final.status, final.outcome) == ("COMPLETED", "opened")
