"""Attacks on revocation by reply through the real receiver: an HTML-only reply and a
reply whose STOP comes after the first 200 characters revoke every channel."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from adapters.policy.tables import CONSENT
from dee.engine import Engine
from tests.integration.mailsink import SmtpServer
from tests.integration.webhooks import conftest as hooks
from tests.integration.webhooks.conftest import Receiver
from tests.integration.webhooks.helpers import CONTACT, VARS, messages, tracked_plan
from tests.integration.webhooks.test_email_flow import AUTH

# The webhook tests' fixtures, used here under their names.
config, engine, port, receiver, twilio = (
    hooks.config, hooks.engine, hooks.port, hooks.receiver, hooks.twilio
)  # fmt: skip

LONG = "Hello, " + "I have been thinking about your offer for a while. " * 6 + "Please stop."


async def _sources(engine: Engine) -> list[tuple[str, str, str]]:
    c = CONSENT.c
    query = select(c.channel, c.status, c.source).order_by(c.id)
    async with engine.database.snapshot() as conn:
        return [tuple(row) for row in (await conn.execute(query)).all()]


@pytest.mark.parametrize(
    "body",
    [
        {"HtmlBody": "<html><body><div dir='ltr'>STOP</div></body></html>"},
        {"StrippedTextReply": LONG},
    ],
    ids=["html-only", "stop-after-200-characters"],
)
async def test_the_reply_revokes_every_channel(
    engine: Engine,
    env: WorkflowEnvironment,
    mail: SmtpServer,
    receiver: Receiver,
    body: dict[str, Any],
) -> None:
    await engine.execute(tracked_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(minutes=5))
    [message] = messages(mail)
    reply = {
        "From": "ada@example.com",
        "Subject": "Re: Hi DEE",
        **body,
        "Headers": [
            {"Name": "Message-ID", "Value": "<stop-html@mail.example.com>"},
            {"Name": "In-Reply-To", "Value": str(message["Message-ID"])},
        ],
    }

    answer = await receiver.http.post("/webhooks/email/inbound", json=reply, headers=AUTH)

    assert answer.status_code == 200, answer.text
    assert await _sources(engine) == [
        ("email", "opted_out", "reply:stop"),
        ("voice", "opted_out", "reply:stop"),
    ]
