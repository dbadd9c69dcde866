"""The workflow code re-executed in an isolated time-skipping server (``dry_run=False``)."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner
from typer.testing import CliRunner

from activities import contracts as c
from dee.cli.main import app
from dee.replay.comparison import replay_run
from dee.replay.from_history import decode_history, last_seq, read_history
from dee.replay.reexecution import reexecute, with_reexecution
from interpreter.cel_branch import recorded_cel
from interpreter.replay import ReplayResult
from tests.integration.replay.recording import DAY, Scenario, event, record, sleep
from tests.integration.replay.test_corpus import Unguarded

HISTORIES = Path(__file__).resolve().parents[2] / "histories"
FILES = sorted(HISTORIES.glob("*.json"))


async def _reexecuted(
    history: WorkflowHistory,
    record: WorkflowHistory | None = None,
    workflows: tuple[type, ...] | None = None,
) -> ReplayResult:
    """Re-execute ``history``'s inputs and compare with ``record``'s chain (default: its own)."""
    recorded = await decode_history(record or history)
    run = await decode_history(history)
    last = last_seq(recorded.entries)
    kwargs: dict[str, Any] = {}
    if workflows is not None:  # a test's own workflow class: outside the sandbox
        kwargs = {"workflows": workflows, "runner": UnsandboxedWorkflowRunner()}
    # On the evaluator the run recorded, as ``reexecuted_against_chain`` does.
    kwargs["cel"] = recorded_cel(recorded.entries)
    again = await reexecute(run.history, run.run_input, through_seq=last, **kwargs)
    return with_reexecution(replay_run(recorded), recorded.entries, again, run.run_input.chain_seq)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
async def test_every_history_re_executes_to_the_same_chain(path: Path) -> None:
    result = await _reexecuted(read_history(path))
    assert result.identical, [(d.step, d.field, d.expected, d.actual) for d in result.diffs]
    assert result.steps and all(s.identical for s in result.steps)


async def test_a_tampered_activity_result_is_a_diff_at_its_step_and_field(
    tmp_path: Path,
) -> None:
    original = HISTORIES / "sales-replied.json"
    data = json.loads(original.read_text(encoding="utf-8"))
    # The intro email's recorded send result: delivered → failed, in the history only.
    completed = [
        e for e in data["events"] if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_COMPLETED"
    ]
    payload = completed[-1]["activityTaskCompletedEventAttributes"]["result"]["payloads"][0]
    body = json.loads(base64.b64decode(payload["data"]))
    assert body["status"] == "delivered"
    body["status"], body["reason"] = "failed", "bounced"
    payload["data"] = base64.b64encode(json.dumps(body).encode()).decode()
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(data), encoding="utf-8")

    result = await _reexecuted(read_history(tampered), record=read_history(original))

    assert not result.identical
    at_steps = [(d.step, d.field, d.expected, d.actual) for d in result.diffs if d.step != "@run"]
    assert at_steps[0] == ("intro-email", "workflow.send_email.outcome", "delivered", "failed")
    # the failed send stops the run (fail-closed): the recorded later visits never happen
    assert ("wait-for-reply", "workflow.visit", 1, None) in at_steps
    problems = [d.actual for d in result.diffs if d.field == "workflow.reexecution"]
    assert problems == ["the workflow did not end where the recorded run ended"]


async def test_a_changed_workflow_code_is_caught_at_the_step_it_changes() -> None:
    # ``Unguarded`` makes opens count for nothing once a timer fires: an opened run
    # then goes cold. Re-executing the recorded "opened" run with it diverges there.
    result = await _reexecuted(
        read_history(HISTORIES / "sales-opened.json"), workflows=(Unguarded,)
    )

    assert not result.identical
    diffs = [(d.step, d.field) for d in result.diffs]
    assert ("check-response", "workflow.evaluate.outcome") in diffs, diffs


async def test_dee_replay_execute_re_executes_an_exported_history_offline() -> None:
    path = HISTORIES / "sales-failed-retried.json"

    def dee(*args: str) -> Any:  # in a thread: the command runs its own event loop
        return CliRunner().invoke(app, ["replay", "--history", str(path), "--execute", *args])

    readable = await asyncio.to_thread(dee)
    as_json = await asyncio.to_thread(dee, "--json")

    assert readable.exit_code == 0, readable.output
    assert "re-executed" in readable.output
    assert json.loads(as_json.output)["identical"] is True


async def test_a_result_handled_ticks_after_it_was_asked_for_re_executes_in_its_tick(
    env: WorkflowEnvironment,
) -> None:
    # Every send takes 2.5 s of real time (a slow provider), so the workflow stamps its
    # result two ticks after it asked; the re-executed run must see it in the same tick.
    slow = Scenario(
        "slow-sends",
        actions=[sleep(3_600), event("o-1", "email.opened", "intro-email"), sleep(4 * DAY)],
        send_seconds=2.5,
    )
    history, chain = await record(env, slow)
    sent = next(e for e in chain if e["action"] == "send_email")
    assert sent["tick"] >= 2  # the record really has the late tick

    result = await _reexecuted(history)

    assert result.identical, [(d.step, d.field, d.expected, d.actual) for d in result.diffs]


@workflow.defn(name=c.WORKFLOW_NAME)
class EndsAtOnce:
    """Changed code that ends every run at once: the recorded inputs find it closed."""

    @workflow.run
    async def run(self, inp: c.RunInput) -> c.RunResult:
        return c.RunResult(inp.run_id, "COMPLETED", None, 0, "0" * 64)

    @workflow.signal
    def ingest_event(self, event: c.EventSignal) -> None:
        pass


async def test_code_that_ends_the_run_early_is_a_divergence_not_an_error() -> None:
    result = await _reexecuted(
        read_history(HISTORIES / "sales-opened.json"), workflows=(EndsAtOnce,)
    )

    assert not result.identical
    problems = [d.actual for d in result.diffs if d.field == "workflow.reexecution"]
    assert any("signal ingest_event not delivered" in str(p) for p in problems), problems
    assert ("intro-email", "workflow.visit") in [(d.step, d.field) for d in result.diffs]
