"""Issue 19: a run an exit rule ended reads COMPLETED with the rule's outcome wherever a
user looks (``get_run``, ``list_runs``, ``dee run status``, the run row), says which rule
and event ended it, and refuses a later operator action saying so. Events reach PAUSED
and FAILED runs: an unsubscribe ends a run that waits for an operator, no operator
needed. On both databases: the outcome, failure and exit are kept on the run row, and
a row older than revision 0008 (which keeps none) reads them back from the audit chain.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from temporalio.testing import WorkflowEnvironment

from adapters.storage import StoredEntry
from adapters.storage.runs import RUNS
from dee.config import EngineConfig
from dee.engine import Engine
from dee.errors import EngineError
from dee.runs.reading import describe_exit, exit_of
from interpreter import RUN_SCOPE, verify
from tests.integration.databases import BACKENDS, empty_database_url
from tests.integration.mailsink import SmtpServer
from tests.integration.runtime.test_cli_runtime import _dee
from tests.interpreter.helpers import sales_plan

CONTACT = {"id": "c-exit", "email": "exit@example.com", "first_name": "Ex", "company": "It"}
VARS = {"product": "DEE", "sender_name": "Sam"}


@pytest.fixture(params=BACKENDS)
async def config(
    config: EngineConfig, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[EngineConfig]:
    async with empty_database_url(request.param, tmp_path, "exit") as url:
        yield config.model_copy(update={"database": url})


async def test_an_unsubscribe_ends_a_failed_run_without_an_operator(
    engine: Engine, env: WorkflowEnvironment, config: EngineConfig, mail: SmtpServer
) -> None:
    run = await engine.execute(sales_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(days=4))  # the cold path fails at the call: no voice consent
    failed = await engine.get_run(run.run_id)
    assert (failed.status, failed.current_step) == ("FAILED", "follow-up-call")
    assert [r.run_id for r in await engine.list_runs(status="FAILED")] == [run.run_id]
    assert failed.failure is not None and failed.failure["stepId"] == "follow-up-call"
    assert (await engine.runs.get(run.run_id)).failure == failed.failure  # kept on the row

    ingested = await engine.ingest_event(
        type="email.unsubscribed", contact_id="c-exit", event_id="unsub-1"
    )
    [delivery] = ingested.deliveries
    assert delivery.outcome == "handled" and delivery.state is not None
    assert (delivery.state.status, delivery.state.outcome) == ("COMPLETED", "unsubscribed")
    await engine.client.get_workflow_handle(run.run_id).result()  # closed: read from storage

    ended = await engine.get_run(run.run_id)
    assert (ended.status, ended.outcome, ended.failure) == ("COMPLETED", "unsubscribed", None)
    assert ended.exit_rule is not None
    assert (ended.exit_rule["rule"], ended.exit_rule["ruleEvent"]) == (1, "email.unsubscribed")
    assert ended.exit_rule["event"] == {"type": "email.unsubscribed", "id": "unsub-1"}
    kept = await engine.runs.get(run.run_id)  # the run row
    assert (kept.status, kept.outcome, kept.failure) == ("COMPLETED", "unsubscribed", None)
    assert (kept.exit_rule, kept.facts_kept) == (ended.exit_rule, True)
    [listed] = await engine.list_runs(outcomes=True)
    assert (listed.status, listed.outcome) == ("COMPLETED", "unsubscribed")
    assert listed.exit_rule == ended.exit_rule
    assert await engine.list_runs(status="FAILED") == []

    with pytest.raises(EngineError) as refused:
        await engine.resolve_run(run.run_id, resolution="end", target="x", by="ops")
    assert refused.value.lines == (
        f"run {run.run_id}: resolve refused: the run is completed with outcome "
        "'unsubscribed', ended by exit rule 1 (event email.unsubscribed) on event "
        f"email.unsubscribed (id unsub-1) at tick {ended.exit_rule['tick']}; "
        "no operator action applies",
    )
    timeline = await engine.get_timeline(run.run_id)
    assert [(e.action, e.outcome) for e in timeline][-2:] == [
        ("event", "ingested"),
        ("exit", "unsubscribed"),
    ]
    assert verify([e.chained().as_dict() for e in timeline]) is None
    assert len(mail.received) == 2  # the intro and the cold follow-up; nothing after

    # In a thread: the CLI is a process of its own, reading the same database.
    shown = await asyncio.to_thread(_dee, config, env, "run", "status", run.run_id)
    assert shown.returncode == 0, shown.stderr
    assert "COMPLETED" in shown.stdout and "outcome: unsubscribed" in shown.stdout
    assert "ended by exit rule 1 (event email.unsubscribed) on event" in shown.stdout
    listed = await asyncio.to_thread(_dee, config, env, "runs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert (row["status"], row["outcome"]) == ("COMPLETED", "unsubscribed")
    assert row["exitRule"]["ruleEvent"] == "email.unsubscribed"

    # A listing reads the row, not the timeline: what the row says is what it shows.
    await _set_row(engine, run.run_id, outcome="from-the-row")
    [listed] = await engine.list_runs(outcomes=True)
    assert (listed.outcome, listed.exit_rule) == ("from-the-row", ended.exit_rule)
    # A row written before revision 0008 keeps none: read from the audit chain as before.
    await _set_row(engine, run.run_id, outcome=None, exit_rule=None, facts_kept=False)
    assert await engine.get_run(run.run_id) == ended
    [listed] = await engine.list_runs(outcomes=True)
    assert (listed.outcome, listed.exit_rule) == ("unsubscribed", ended.exit_rule)


async def _set_row(engine: Engine, run_id: str, **values: object) -> None:
    async with engine.database.transaction() as conn:
        await conn.execute(update(RUNS).where(RUNS.c.run_id == run_id).values(**values))


@pytest.mark.parametrize("config", ["sqlite"], indirect=True)
async def test_a_reply_to_a_paused_run_ends_it_at_once(
    engine: Engine, env: WorkflowEnvironment, mail: SmtpServer
) -> None:
    run = await engine.execute(sales_plan(), contact=CONTACT, variables=VARS)
    await env.sleep(timedelta(hours=2))
    assert (await engine.pause_run(run.run_id, by="ops")).status == "PAUSED"

    ingested = await engine.ingest_event(
        type="email.replied", contact_id="c-exit", step_id="intro-email", event_id="re-1"
    )
    [delivery] = ingested.deliveries
    assert delivery.state is not None and delivery.state.status == "COMPLETED"
    ended = await engine.get_run(run.run_id)  # no time skipped: at once, not after the wait
    assert (ended.status, ended.outcome) == ("COMPLETED", "replied")
    with pytest.raises(EngineError, match=r"resume refused: the run is completed with outcome"):
        await engine.resume_run(run.run_id, by="ops")
    await engine.client.get_workflow_handle(run.run_id).result()
    stored = await engine.get_run(run.run_id)
    assert stored.exit_rule is not None
    assert stored.exit_rule["event"] == {
        "type": "email.replied",
        "id": "re-1",
        "stepId": "intro-email",
    }
    # Later events find the run ended: it is no longer a delivery target.
    late = await engine.ingest_event(type="email.replied", contact_id="c-exit", event_id="re-2")
    assert late.run_ids == ()
    assert len(mail.received) == 1


def _exit_entry(outcome: str, **detail: object) -> StoredEntry:
    said = {"rule": 0, "outcome": outcome, "ruleEvent": "email.replied", **detail}
    return StoredEntry("r", 9, 10, datetime.now(UTC), RUN_SCOPE, "exit", outcome, said, "", "")


def test_an_exit_that_ends_the_run_is_told_apart_from_one_that_ends_nothing() -> None:
    # The announcement of an exit waiting for a send in flight ("pending") and a rule
    # that failed ("error") end nothing; validation reserves both outcomes for them.
    assert exit_of(_exit_entry("pending", inFlight="send")) is None
    assert exit_of(_exit_entry("error", error="no such function")) is None
    ended = exit_of(_exit_entry("replied", event={"type": "email.replied"}))
    assert ended is not None and (ended["outcome"], ended["tick"]) == ("replied", 10)
    assert describe_exit(ended) == (
        "exit rule 0 (event email.replied) on event email.replied at tick 10"
    )
