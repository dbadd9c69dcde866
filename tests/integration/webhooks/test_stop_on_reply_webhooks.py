"""Issue 19 end to end through the receiver: the contact's reply or one-click
unsubscribe, arriving over real HTTP, ends the run at once by its ``exitOn`` rule —
during a three-day wait, or while it waits for an operator after a failure."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.testing import WorkflowEnvironment

from activities import contracts as c
from dee.engine import Engine, IngestedEvent
from tests.integration.mailsink import SmtpServer
from tests.integration.runtime.stop_plans import exit_plan, run_result, trail
from tests.integration.webhooks.conftest import Receiver
from tests.integration.webhooks.helpers import CONTACT, VARS, messages, unsubscribe_url
from tests.integration.webhooks.test_email_flow import AUTH

DAY = timedelta(days=1)


def _recording(engine: Engine) -> list[IngestedEvent]:
    """Keep what the receiver's ``Engine.ingest_event`` calls return (the runs' answers)."""
    seen: list[IngestedEvent] = []
    ingest = engine.ingest_event

    async def recorded(**kwargs: Any) -> IngestedEvent:
        seen.append(await ingest(**kwargs))
        return seen[-1]

    engine.ingest_event = recorded  # type: ignore[method-assign]
    return seen


async def test_a_reply_during_the_wait_ends_the_run_within_the_update(
    engine: Engine, env: WorkflowEnvironment, mail: SmtpServer, receiver: Receiver
) -> None:
    run = await engine.execute(exit_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(hours=1))
    [message] = messages(mail)
    assert (await engine.get_run(run.run_id)).status == "WAITING"
    answers = _recording(engine)
    reply = {
        "From": "ada@example.com",
        "Subject": "Re: Hi DEE",
        "StrippedTextReply": "Please stop.",
        "Headers": [
            {"Name": "Message-ID", "Value": "<stop-1@mail.example.com>"},
            {"Name": "In-Reply-To", "Value": str(message["Message-ID"])},
        ],
    }
    answer = await receiver.http.post("/webhooks/email/inbound", json=reply, headers=AUTH)
    assert answer.status_code == 200, answer.text
    [ingested] = answers
    [delivery] = ingested.deliveries
    # The update's own answer: the run has already decided, stored and ended.
    assert delivery.outcome == "handled" and isinstance(delivery.state, c.RunView)
    assert (delivery.state.status, delivery.state.outcome) == ("COMPLETED", "replied")
    result = await run_result(engine, run.run_id)
    assert (result.status, result.outcome) == ("COMPLETED", "replied")
    timeline = await engine.get_timeline(run.run_id)
    exit_entry = timeline[-1]
    assert trail(timeline)[-3:] == [
        ("wait", "wait", "started"),
        ("intro", "event", "ingested"),
        ("@run", "exit", "replied"),
    ]
    assert exit_entry.detail["rule"] == 0 and exit_entry.detail["ruleEvent"] == "email.replied"
    assert exit_entry.detail["event"] == {
        "type": "email.replied",
        "id": ingested.event_id,
        "stepId": "intro",
    }
    assert exit_entry.tick < 2 * 3_600  # the event's tick, not the wait's end (3 days)
    assert exit_entry.hash == result.audit_head
    assert (await engine.audit.verify(run.run_id)).ok
    await env.sleep(4 * DAY)
    assert len(messages(mail)) == 1  # the follow-up never left


async def test_a_one_click_unsubscribe_ends_a_failed_run_without_an_operator(
    engine: Engine, env: WorkflowEnvironment, mail: SmtpServer, receiver: Receiver
) -> None:
    run = await engine.execute(exit_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(hours=1))
    [message] = messages(mail)
    await engine.policies.suppress(CONTACT["email"], reason="bounced elsewhere")
    await env.sleep(3 * DAY)
    failed = await engine.get_run(run.run_id)
    assert failed.status == "FAILED" and failed.current_step == "follow-up"
    answers = _recording(engine)
    answer = await receiver.http.post(
        unsubscribe_url(message),
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200, answer.text
    [ingested] = answers
    [delivery] = ingested.deliveries
    assert delivery.state is not None
    assert (delivery.state.status, delivery.state.outcome) == ("COMPLETED", "unsubscribed")
    assert delivery.state.failure is None
    result = await run_result(engine, run.run_id)
    assert (result.status, result.outcome) == ("COMPLETED", "unsubscribed")
    final = await engine.get_run(run.run_id)
    assert (final.status, final.outcome, final.failure) == ("COMPLETED", "unsubscribed", None)
    steps = trail(await engine.get_timeline(run.run_id))
    assert steps[-4:] == [
        ("follow-up", "policy_check", "denied"),
        ("@run", "run", "failed"),
        ("intro", "event", "ingested"),
        ("@run", "exit", "unsubscribed"),
    ]
    assert not [t for t in steps if t[1] in ("retry", "resolve", "cancel")]  # no operator
    assert (await engine.audit.verify(run.run_id)).ok
    assert len(messages(mail)) == 1
