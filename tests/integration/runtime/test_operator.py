"""Operator actions through the Engine on a live run: every transition and refusal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from dee.engine import Engine
from dee.errors import EngineError
from tests.integration.mailsink import SmtpServer
from tests.interpreter.helpers import sales_plan

CONTACT = {"id": "c-op", "email": "op@example.com", "first_name": "Op", "company": "Ops"}
VARS = {"product": "DEE", "sender_name": "Sam"}


async def test_pause_holds_before_the_next_step_and_resume_continues(
    engine: Engine, env: WorkflowEnvironment, mail: SmtpServer
) -> None:
    run = await engine.execute(sales_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(minutes=1))
    assert (await engine.get_run(run.run_id)).status == "WAITING"
    paused = await engine.pause_run(run.run_id, by="ops", reason="complaint review")
    assert paused.status == "PAUSED"
    with pytest.raises(EngineError, match="only a pending, running or waiting run can be paused"):
        await engine.pause_run(run.run_id, by="ops")
    await env.sleep(timedelta(days=4))  # the wait ends while paused: nothing else happens
    held = await engine.get_run(run.run_id)
    assert (held.status, held.current_step) == ("PAUSED", "check-response")
    assert len(mail.received) == 1
    await engine.resume_run(run.run_id, by="ops", reason="cleared")
    await env.sleep(timedelta(minutes=1))
    after = await engine.get_run(run.run_id)
    assert after.status == "FAILED" and after.current_step == "follow-up-call"  # no voice consent
    assert len(mail.received) == 2
    actions = [(e.action, e.outcome) for e in await engine.get_timeline(run.run_id)]
    assert ("pause", "accepted") in actions and ("resume", "accepted") in actions
    assert actions.index(("pause", "held")) < actions.index(("resume", "accepted"))


async def test_cancel_is_final_and_audited(engine: Engine, env: WorkflowEnvironment) -> None:
    run = await engine.execute(sales_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(minutes=1))
    with pytest.raises(EngineError, match="retry refused: only a failed run can be retried"):
        await engine.retry_run(run.run_id, by="ops")
    canceled = await engine.cancel_run(run.run_id, "contact left the company", by="ops")
    assert canceled.status == "CANCELED"
    for attempt in (engine.resume_run, engine.pause_run, engine.retry_run):
        with pytest.raises(EngineError, match="refused"):
            await attempt(run.run_id, by="ops")
    last = (await engine.get_timeline(run.run_id))[-1]
    assert (last.action, last.outcome) == ("cancel", "accepted")
    assert last.detail == {"by": "ops", "reason": "contact left the company"}
