"""The corpus's run on Google's CEL (``zoe-google-cel``, recorded after the flip of
issue 23) replays as decided, and a run of the same plan recorded before the flip
still takes the old evaluator's branch when today's code replays it."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from dee.replay.comparison import replay_run
from dee.replay.from_history import decode_history, patches
from dee.sandbox import workflow_runner
from interpreter.cel_branch import LEGACY_CEL, recorded_cel
from interpreter.cel_env import CEL_IMPLEMENTATION
from tests.integration.replay.pre_flip import ZOE, ZOE_PLAN, PreFlip
from tests.integration.replay.recording import Scenario, record
from tests.interpreter.helpers import branch_plan
from workflows.patches import GOOGLE_CEL
from workflows.plan_run import PlanRunWorkflow

HISTORY = Path(__file__).resolve().parents[2] / "histories" / "zoe-google-cel.json"


def _ended(entries: list[dict[str, object]]) -> list[object]:
    return [e["step_id"] for e in entries if e["action"] == "end"]


async def _replays_on_todays_code(history: WorkflowHistory) -> None:
    replayer = Replayer(workflows=[PlanRunWorkflow], workflow_runner=workflow_runner())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


async def test_the_corpus_run_on_google_cel_replays_as_it_was_decided() -> None:
    history = WorkflowHistory.from_json("zoe-google-cel", HISTORY.read_text(encoding="utf-8"))
    assert GOOGLE_CEL in patches(history)
    run = await decode_history(history, source=HISTORY.name)
    assert run.run_input.cel is None  # a start naming none: the patch decided
    assert run.run_input.plan_hash == ZOE_PLAN.content_hash and run.run_input.contact == ZOE
    assert recorded_cel(run.entries) == CEL_IMPLEMENTATION
    assert _ended(run.entries) == ["three"]  # size("Zoë") == 3 on Google's CEL
    await _replays_on_todays_code(history)
    assert replay_run(run).identical
    with pytest.raises(workflow.NondeterminismError):  # the code before the flip cannot
        await Replayer(
            workflows=[PreFlip], workflow_runner=UnsandboxedWorkflowRunner()
        ).replay_workflow(history)


async def test_a_run_of_the_same_plan_before_the_flip_keeps_the_old_branch(
    env: WorkflowEnvironment,
) -> None:
    history, chain = await record(
        env,
        Scenario("zoe-pre-flip", plan=ZOE_PLAN, contact=dict(ZOE)),
        workflows=[PreFlip],
        runner=UnsandboxedWorkflowRunner(),
    )
    assert GOOGLE_CEL not in patches(history)
    assert recorded_cel(chain) == LEGACY_CEL
    assert _ended(chain) == ["other"]  # size("Zoë") == 4 on the old evaluator
    await _replays_on_todays_code(history)  # no marker: today's code takes the old branch
    run = await decode_history(history, source=history.workflow_id)
    assert replay_run(run).identical


async def test_admission_validates_on_the_evaluator_the_run_will_use(
    env: WorkflowEnvironment,
) -> None:
    """Standard CEL the old checker refuses: a new run is admitted and evaluates it; the
    same start before the flip was refused, naming the condition."""
    plan = branch_plan("dyn(contact.balance) > 100")
    contact = {"id": "c-1", "timezone": "UTC", "balance": 250}
    history, chain = await record(env, Scenario("dyn-new", plan=plan, contact=contact))
    assert _ended(chain) == ["yes"] and recorded_cel(chain) == CEL_IMPLEMENTATION
    history, chain = await record(
        env,
        Scenario("dyn-pre-flip", plan=plan, contact=contact),
        workflows=[PreFlip],
        runner=UnsandboxedWorkflowRunner(),
    )
    assert chain == []
    failed = history.events[-1].workflow_execution_failed_event_attributes.failure
    assert failed.message.startswith("start refused: the plan is invalid: ")
    assert "conditions[0].when: unknown function 'dyn'" in failed.message
