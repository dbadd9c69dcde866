"""The Engine end to end: real worker and activities, SQLite, aiosmtpd, time-skipping server."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from dee.engine import Engine
from dee.errors import EngineError
from interpreter import Event, simulate, verify
from tests.integration.mailsink import SmtpServer
from tests.interpreter.helpers import sales_plan

CONTACT = {"id": "c-ada", "email": "ada@example.com", "first_name": "Ada", "company": "Analytical"}
VARS = {"product": "DEE", "sender_name": "Grace"}


def _messages(mail: SmtpServer) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(env.original_content, policy=email.policy.default)  # type: ignore[misc]
        for env in mail.received
    ]


async def _after(env: WorkflowEnvironment, engine: Engine, run_id: str, skip: timedelta) -> str:
    """Skip ``skip`` of server time, then report the run's status."""
    await env.sleep(skip)
    return (await engine.get_run(run_id)).status


async def test_a_reply_ends_the_run_and_everything_is_recorded(
    engine: Engine, env: WorkflowEnvironment, mail: SmtpServer
) -> None:
    run = await engine.execute(sales_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(hours=2))
    delivered = await engine.ingest_event(
        type="email.replied", contact_id="c-ada", step_id="intro-email", event_id="prov-1"
    )
    assert delivered.run_ids == (run.run_id,)
    # The plan's exit rule ends the run at the reply, not when its 3.5-day wait ends.
    at_once = await engine.get_run(run.run_id)
    assert (at_once.status, at_once.outcome) == ("COMPLETED", "replied")
    assert await _after(env, engine, run.run_id, timedelta(days=4)) == "COMPLETED"
    final = await engine.get_run(run.run_id)
    assert (final.status, final.outcome) == ("COMPLETED", "replied")
    assert final.exit_rule is not None and final.exit_rule["tick"] == 7_200
    [message] = _messages(mail)
    assert message["Subject"] == "Introducing DEE"
    assert message["To"] == "ada@example.com" and message["Reply-To"] == "sales@example.com"
    assert "Hi Ada," in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    timeline = await engine.get_timeline(run.run_id)
    assert verify([e.chained().as_dict() for e in timeline]) is None
    path = [e.step_id for e in timeline if e.action == "enter"]
    events = [Event("email.replied", 7_200, "prov-1", "intro-email")]
    assert path == list(simulate(sales_plan(), CONTACT, events, variables=VARS).path)
    sent = next(e for e in timeline if e.action == "send_email")
    assert sent.detail["providerMessageId"] == message["Message-ID"]


async def test_the_cold_path_fails_closed_at_the_call_without_voice_consent(
    engine: Engine, env: WorkflowEnvironment, mail: SmtpServer
) -> None:
    run = await engine.execute(sales_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(days=4))
    failed = await engine.get_run(run.run_id)
    assert failed.status == "FAILED" and failed.current_step == "follow-up-call"
    assert failed.failure is not None and "consent" in failed.failure["reason"]
    assert [m["Subject"] for m in _messages(mail)] == [
        "Introducing DEE",
        "Quick question about DEE",
    ]
    with pytest.raises(
        EngineError, match=r"resume refused: the run is not paused \(it is FAILED\)"
    ):
        await engine.resume_run(run.run_id, by="ops")
    resolved = await engine.resolve_run(
        run.run_id, resolution="end", target="no-call-consent", by="ops", reason="no consent"
    )
    assert resolved.status == "COMPLETED" and resolved.outcome == "no-call-consent"
    timeline = await engine.get_timeline(run.run_id)
    assert [(e.action, e.outcome) for e in timeline][-1] == ("resolve", "end")
    assert verify([e.chained().as_dict() for e in timeline]) is None


async def test_a_missing_template_variable_fails_the_send_and_sends_nothing(
    engine: Engine, env: WorkflowEnvironment, mail: SmtpServer
) -> None:
    run = await engine.execute(sales_plan(), contact=CONTACT, variables={"product": "DEE"})
    await env.sleep(timedelta(minutes=1))
    failed = await engine.get_run(run.run_id)
    assert failed.status == "FAILED" and failed.current_step == "intro-email"
    assert failed.failure is not None and "sender_name" in failed.failure["reason"]
    assert mail.received == []


async def test_an_idempotency_key_returns_the_same_run(engine: Engine) -> None:
    first = await engine.execute(
        sales_plan(), contact=CONTACT, variables=VARS, idempotency_key="k1"
    )
    again = await engine.execute(
        sales_plan(), contact=CONTACT, variables=VARS, idempotency_key="k1"
    )
    assert first.run_id == again.run_id
    other = {**CONTACT, "id": "c-bob"}
    with pytest.raises(EngineError, match="idempotency key already started run"):
        await engine.execute(sales_plan(), contact=other, variables=VARS, idempotency_key="k1")


async def test_bad_input_gets_typed_errors(engine: Engine) -> None:
    with pytest.raises(EngineError, match="unknown run 'run-nope'"):
        await engine.get_run("run-nope")
    with pytest.raises(EngineError, match="non-empty string 'id'"):
        await engine.execute(sales_plan(), contact={"email": "x@example.com"})
    broken = sales_plan().model_copy(update={"version": 2, "name": "Broken"})
    broken = broken.model_copy(
        update={"steps": tuple(s for s in broken.steps if s.id != "end-sequence")}
    )
    with pytest.raises(EngineError, match="end-sequence"):
        await engine.execute(broken, contact=CONTACT)
    assert await engine.list_runs(plan="sales-sequence") == []
