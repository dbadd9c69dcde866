"""``Engine.ingest_event`` delivers events as the answered ``ingest`` update.

Real worker and activities, SQLite, aiosmtpd, the shared time-skipping server.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from dee.engine import Engine
from tests.integration.mailsink import SmtpServer
from tests.integration.runtime.plans import one_email
from tests.integration.waiting import until_sending
from tests.interpreter.helpers import sales_plan

CONTACT = {"id": "c-ada", "email": "ada@example.com", "first_name": "Ada", "company": "Analytical"}
VARS = {"product": "DEE", "sender_name": "Grace"}


async def _waiting_run(engine: Engine, env: WorkflowEnvironment) -> str:
    run = await engine.execute(sales_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(hours=2))  # the intro email is out; the run waits for a reply
    assert (await engine.get_run(run.run_id)).status == "WAITING"
    return run.run_id


def _ingested(timeline: list[object], event_id: str) -> list[object]:
    return [
        e
        for e in timeline
        if (getattr(e, "action", None), getattr(e, "outcome", None)) == ("event", "ingested")
        and getattr(e, "detail", {}).get("id") == event_id
    ]


async def test_the_answer_carries_the_decision_and_the_entry_is_stored_by_then(
    engine: Engine, env: WorkflowEnvironment, mail: SmtpServer
) -> None:
    run_id = await _waiting_run(engine, env)
    got = await engine.ingest_event(
        type="email.opened", contact_id="c-ada", run_id=run_id, step_id="intro-email",
        event_id="open-1", data={"ua": "test"},
    )  # fmt: skip
    [delivery] = got.deliveries
    assert (delivery.run_id, delivery.outcome) == (run_id, "handled")
    assert delivery.state is not None
    assert delivery.state.events == 1 and delivery.state.status == "WAITING"
    # Read straight from the database: the answer came after the entry was committed.
    timeline = await engine.get_timeline(run_id)
    [entry] = _ingested(timeline, "open-1")
    assert entry.step_id == "intro-email" and entry.detail["data"] == {"ua": "test"}
    assert timeline[-1].seq == delivery.state.audit_seq


async def test_a_retried_event_is_counted_once(
    engine: Engine, env: WorkflowEnvironment, mail: SmtpServer
) -> None:
    run_id = await _waiting_run(engine, env)
    first = await engine.ingest_event(
        type="email.opened", contact_id="c-ada", run_id=run_id, event_id="prov-7"
    )
    again = await engine.ingest_event(
        type="email.opened", contact_id="c-ada", run_id=run_id, event_id="prov-7"
    )
    assert [d.outcome for d in (*first.deliveries, *again.deliveries)] == ["handled", "handled"]
    assert again.deliveries[0].state is not None and again.deliveries[0].state.events == 1
    timeline = await engine.get_timeline(run_id)
    assert len(_ingested(timeline, "prov-7")) == 1
    # The retry reached the run and is on record, as a duplicate that changed nothing.
    assert [e.outcome for e in timeline if e.action == "event"] == ["ingested", "duplicate"]


async def test_an_ended_run_is_not_a_delivery(
    engine: Engine, env: WorkflowEnvironment, mail: SmtpServer
) -> None:
    run_id = await _waiting_run(engine, env)
    await engine.ingest_event(
        type="email.replied", contact_id="c-ada", run_id=run_id, step_id="intro-email"
    )
    await env.sleep(timedelta(days=4))
    assert (await engine.get_run(run_id)).status == "COMPLETED"
    late = await engine.ingest_event(type="email.opened", contact_id="c-ada", run_id=run_id)
    assert late.run_ids == () and late.deliveries == ()


async def test_an_event_taken_while_the_last_send_runs_is_answered_when_the_run_ends(
    engine: Engine, env: WorkflowEnvironment, mail: SmtpServer
) -> None:
    contact = {**CONTACT, "id": "c-slow", "email": "slow@example.com"}
    run = await engine.execute(one_email("slow-last-send"), contact=contact, variables=VARS)
    await until_sending(engine.client, run.run_id)  # the only send, held by the sink
    got = await engine.ingest_event(
        type="email.opened", contact_id="c-slow", run_id=run.run_id, event_id="mid-send"
    )
    # The run decided on the event, then ended with the send; the answer came with it.
    [delivery] = got.deliveries
    assert delivery.outcome == "handled" and delivery.state is not None
    assert (delivery.state.status, delivery.state.events) == ("COMPLETED", 1)
    timeline = await engine.get_timeline(run.run_id)
    assert len(_ingested(timeline, "mid-send")) == 1
    assert timeline[-1].seq == delivery.state.audit_seq
