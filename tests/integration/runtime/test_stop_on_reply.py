"""Issue 19 on the time-skipping server with the real worker, activities and SMTP sink:
a send window deferring a Friday-evening start to Monday 09:00 local, ``waitForEvent``
taking ``onEvent`` or ``onTimeout``, and an exit while a send is in flight."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities import contracts as c
from dee.config import EngineConfig
from dee.engine import Engine
from interpreter import ExecutionPlan
from tests.integration.mailsink import SmtpServer
from tests.integration.runtime.stop_plans import (
    FRIDAY_EVENING_MS,
    MONDAY_OPENING_MS,
    NEW_YORK,
    await_plan,
    exit_plan,
    run_result,
    trail,
    window_plan,
)
from tests.integration.waiting import until_sending

VARS = {"product": "DEE", "sender_name": "Grace"}
THREE_DAYS = 3 * 86_400


def _contact(contact_id: str, address: str = "ada@example.com") -> dict[str, Any]:
    return {"id": contact_id, "email": address, "first_name": "Ada", "company": "AE",
            "timezone": NEW_YORK}  # fmt: skip


async def test_a_friday_evening_start_sends_at_monday_nine_local(
    engine: Engine, env: WorkflowEnvironment, config: EngineConfig, mail: SmtpServer
) -> None:
    # A raw start names the run's calendar (as a re-execution does), so the test server's
    # own date does not matter: tick 0 is Friday 2026-03-06 18:00 in New York.
    plan = window_plan()
    await engine.starter.register_plan(plan)
    run_id = f"window-{uuid.uuid4().hex[:8]}"
    run_input = c.RunInput(
        run_id, "default", plan.to_document(), plan.content_hash, _contact("c-window"), VARS,
        search_attributes=False, calendar_origin_ms=FRIDAY_EVENING_MS,
    )  # fmt: skip
    handle: WorkflowHandle[Any, c.RunResult] = await env.client.start_workflow(
        c.WORKFLOW_NAME, run_input, id=run_id, task_queue=config.task_queue,
        result_type=c.RunResult,
    )  # fmt: skip
    opening = (MONDAY_OPENING_MS - FRIDAY_EVENING_MS) // 1000  # 62 h: EST, then EDT
    await env.sleep(opening - 600)  # Monday 08:50 in New York on the test server's clock
    waiting = await handle.query("state", result_type=c.RunView)
    assert (waiting.status, waiting.next_wake_tick) == ("WAITING", opening)
    assert mail.received == []
    await env.sleep(1_200)
    assert len(mail.received) == 1
    result = await handle.result()
    assert (result.status, result.outcome) == ("COMPLETED", "sent")
    timeline = await engine.get_timeline(run_id)
    assert timeline[0].detail["origin"] == "2026-03-06T23:00:00.000Z"
    [deferred] = [e for e in timeline if e.action == "window"]
    assert (deferred.tick, deferred.outcome) == (0, "deferred")
    assert deferred.detail["opensLocal"] == "2026-03-09T09:00:00-04:00"
    assert deferred.detail["timezone"] == NEW_YORK
    [sent] = [e for e in timeline if e.action == "send_email"]
    assert (sent.tick, sent.outcome) == (opening, "delivered")


async def _start(engine: Engine, plan: ExecutionPlan, contact: dict[str, Any]) -> str:
    return (await engine.execute(plan, contact=contact, variables=VARS)).run_id


async def _until_sending(engine: Engine, run_id: str) -> None:
    """Return once the run's send is in flight (``slow@`` keeps it so for seconds)."""
    await until_sending(engine.client, run_id)


async def test_wait_for_event_takes_on_event_for_a_click_and_on_timeout_without_one(
    engine: Engine, env: WorkflowEnvironment
) -> None:
    clicked = await _start(engine, await_plan(), _contact("c-click"))
    silent = await _start(engine, await_plan(), _contact("c-silent"))
    # A reply that comes before the step is entered (during the intro's send) counts.
    early = await _start(engine, await_plan(), _contact("c-early", "slow@example.com"))
    await _until_sending(engine, early)
    await engine.ingest_event(
        type="email.replied", contact_id="c-early", run_id=early, step_id="intro"
    )
    assert (await run_result(engine, early)).outcome == "engaged"
    assert trail(await engine.get_timeline(early))[-6:] == [
        ("intro", "event", "ingested"),
        ("intro", "send_email", "delivered"),
        ("await", "enter", "visit:1"),
        ("await", "wait_for_event", "event"),  # on entry: never "started"
        ("engaged", "enter", "visit:1"),
        ("engaged", "end", "engaged"),
    ]
    await env.sleep(timedelta(hours=1))
    ingested = await engine.ingest_event(
        type="email.clicked", contact_id="c-click", run_id=clicked, step_id="intro",
        data={"url": "https://example.com/demo"},
    )  # fmt: skip
    [delivery] = ingested.deliveries
    assert delivery.state is not None
    assert (delivery.state.status, delivery.state.outcome) == ("COMPLETED", "engaged")
    assert (await engine.get_run(silent)).status == "WAITING"
    await env.sleep(THREE_DAYS)
    assert (await run_result(engine, silent)).outcome == "silent"
    assert (await run_result(engine, clicked)).outcome == "engaged"
    took = trail(await engine.get_timeline(clicked))
    assert took[-4:] == [
        ("intro", "event", "ingested"),
        ("await", "wait_for_event", "event"),
        ("engaged", "enter", "visit:1"),
        ("engaged", "end", "engaged"),
    ]
    timeline = await engine.get_timeline(silent)
    [timeout] = [e for e in timeline if e.action == "wait_for_event" and e.outcome == "timeout"]
    [started] = [e for e in timeline if e.action == "wait_for_event" and e.outcome == "started"]
    assert timeout.tick == started.tick + THREE_DAYS and timeout.detail == {"goto": "silent"}
    assert trail(timeline)[-1] == ("silent", "end", "silent")


async def test_an_exit_while_the_send_is_in_flight_lets_the_send_finish_then_exits(
    engine: Engine, env: WorkflowEnvironment, mail: SmtpServer
) -> None:
    # ``slow@`` makes the sink take its time to accept: the send is in flight meanwhile.
    run_id = await _start(engine, exit_plan(), _contact("c-slow", "slow@example.com"))
    await _until_sending(engine, run_id)
    assert mail.received == []
    await engine.ingest_event(
        type="email.replied", contact_id="c-slow", run_id=run_id, step_id="intro",
        data={"text": "stop"},
    )  # fmt: skip
    result = await run_result(engine, run_id)
    assert (result.status, result.outcome) == ("COMPLETED", "replied")
    assert len(mail.received) == 1  # the send finished: it cannot be unsent
    timeline = await engine.get_timeline(run_id)
    assert trail(timeline)[-4:] == [
        ("intro", "event", "ingested"),
        ("@run", "exit", "pending"),
        ("intro", "send_email", "delivered"),
        ("@run", "exit", "replied"),
    ]
    assert timeline[-3].detail["inFlight"] == "send"
    assert "wait" not in {e.step_id for e in timeline}  # nothing after the send
