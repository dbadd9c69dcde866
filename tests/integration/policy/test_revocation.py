"""FCC 24-24 revocation by reply, end to end: a reply saying STOP, through the real
receiver and ingest path, records the contact's opt-out on every channel once, and
the gate denies the next send of another run for the contact, on email and on voice.

The receiver, worker, SMTP sink and Twilio stand-in are the webhook tests' fixtures.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from adapters.policy.tables import CONSENT
from dee.engine import Engine
from tests.integration.channels.standins.twilio_api import TwilioStandIn
from tests.integration.mailsink import SmtpServer
from tests.integration.webhooks import conftest as hooks
from tests.integration.webhooks.conftest import Receiver
from tests.integration.webhooks.helpers import (
    CONTACT,
    VARS,
    call_plan,
    messages,
    tracked_plan,
    two_emails,
)
from tests.integration.webhooks.test_email_flow import AUTH

# The webhook tests' fixtures, used here under their names.
config, engine, port, receiver, twilio = (
    hooks.config, hooks.engine, hooks.port, hooks.receiver, hooks.twilio
)  # fmt: skip


async def _consent(engine: Engine) -> list[tuple[str, str, str, dict[str, Any]]]:
    c = CONSENT.c
    query = select(c.channel, c.status, c.source, c.detail).order_by(c.id)
    async with engine.database.snapshot() as conn:
        rows = (await conn.execute(query)).all()
    return [(r.channel, r.status, r.source, dict(r.detail or {})) for r in rows]


def _reply(
    original: str, text: str, message_id: str = "<stop-1@mail.example.com>"
) -> dict[str, Any]:
    return {
        "From": "ada@example.com",
        "Subject": "Re: Hi DEE",
        "StrippedTextReply": text,
        "Headers": [
            {"Name": "Message-ID", "Value": message_id},
            {"Name": "In-Reply-To", "Value": original},
        ],
    }


async def _failure(engine: Engine, env: WorkflowEnvironment, run_id: str) -> str:
    await env.sleep(timedelta(minutes=5))
    final = await engine.get_run(run_id)
    assert final.status == "FAILED", final.status
    assert final.failure is not None
    return str(final.failure["reason"])


async def test_a_stop_reply_revokes_every_channel_and_the_next_run_is_denied(
    engine: Engine,
    env: WorkflowEnvironment,
    mail: SmtpServer,
    twilio: TwilioStandIn,
    receiver: Receiver,
) -> None:
    # Voice needs an opt-in: granted first, so the denial below is the revocation's.
    await engine.policies.grant_consent("c-ada", "voice", source="form", wording_version="v1")
    first = await engine.execute(tracked_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(minutes=5))
    [message] = messages(mail)
    reply = _reply(str(message["Message-ID"]), "STOP")
    for _ in range(2):  # the provider's retry of the same reply records nothing more
        answer = await receiver.http.post("/webhooks/email/inbound", json=reply, headers=AUTH)
        assert answer.status_code == 200, answer.text

    consent = await _consent(engine)
    assert [(ch, st, src) for ch, st, src, _ in consent] == [
        ("voice", "opted_in", "form"),
        ("email", "opted_out", "reply:stop"),
        ("voice", "opted_out", "reply:stop"),
    ]
    detail = consent[1][3]
    assert detail["eventId"].startswith("email.replied:") and detail["word"] == "stop"
    assert detail["fromContact"] is True

    # On the run's chain: the reply's event entry says what it revoked, and when.
    timeline = await engine.get_timeline(first.run_id)
    events = [e for e in timeline if e.action == "event"]
    assert [e.outcome for e in events] == ["ingested", "duplicate"]
    revocation = events[0].detail["data"]["revocation"]
    assert revocation["source"] == "reply:stop"
    assert revocation["channels"] == ["email", "voice"]
    assert (await engine.audit.verify(first.run_id)).ok

    # Another run for the same contact: its first send is denied, on either channel.
    mailed = await engine.execute(two_emails(), contact=CONTACT, variables=VARS)
    reason = await _failure(engine, env, mailed.run_id)
    assert "opted out of email" in reason and "reply:stop" in reason
    called = await engine.execute(call_plan(), contact=CONTACT, variables=VARS)
    reason = await _failure(engine, env, called.run_id)
    assert "opted out of voice" in reason and "reply:stop" in reason
    assert len(messages(mail)) == 1 and twilio.calls == []
    denied = [e for e in await engine.get_timeline(called.run_id) if e.action == "policy_check"]
    assert [e.outcome for e in denied] == ["denied"]
    assert denied[0].detail["consent"]["record"]["source"] == "reply:stop"


async def test_a_reply_that_only_quotes_the_footer_revokes_nothing(
    engine: Engine, env: WorkflowEnvironment, mail: SmtpServer, receiver: Receiver
) -> None:
    run = await engine.execute(tracked_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(minutes=5))
    [message] = messages(mail)
    text = "Yes, let's talk.\n\nOn Mon, Sales wrote:\n> To unsubscribe, reply STOP"
    reply = _reply(str(message["Message-ID"]), text)
    answer = await receiver.http.post("/webhooks/email/inbound", json=reply, headers=AUTH)
    assert answer.status_code == 200, answer.text
    assert await _consent(engine) == []
    await env.sleep(timedelta(hours=2))
    final = await engine.get_run(run.run_id)
    assert (final.status, final.outcome) == ("COMPLETED", "replied")


async def test_a_reply_ingested_with_no_run_waiting_still_revokes(engine: Engine) -> None:
    # An SMS provider's reply through the API, for a contact with no active run.
    for _ in range(2):
        taken = await engine.ingest_event(
            type="sms.replied",
            contact_id="c-ada",
            data={"text": "Please stop texting me"},
            event_id="sms-1",
        )
        assert taken.run_ids == ()
    consent = await _consent(engine)
    assert [(ch, st, src) for ch, st, src, _ in consent] == [
        ("email", "opted_out", "reply:stop"),
        ("voice", "opted_out", "reply:stop"),
    ]
    assert consent[0][3]["leading"] is False and consent[0][3]["eventId"] == "sms-1"
