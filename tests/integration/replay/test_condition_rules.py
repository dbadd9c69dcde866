"""The condition rules of issue 18 (items 4 and 10) in the real workflow, and on replay.

A run whose condition reads a missing field under ``&&`` now fails with the reason
recorded, and one whose data would make a condition too costly fails before the
evaluator starts. Both are decided differently from before only where today's rules
raise, and only there does the workflow ask ``workflow.patched``: a history recorded
before the rules replays as it was decided, a new one records the patch marker, and
a run that never needs the rules records nothing extra.

Since issue 23 a new run evaluates on Google's CEL (the ``GOOGLE_CEL`` marker), which
applies these rules unconditionally (``cel_branch``): its history records that marker
and no ``CONDITION_RULES`` marker. The rules' patch still decides a run on the old
evaluator: ``Legacy`` and ``Unguarded`` stand for code before the flip.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from activities import contracts as c
from dee.replay.comparison import replay_run
from dee.replay.from_history import decode_history, patches
from interpreter import ExecutionPlan, Input, PlanMetadata, steps
from interpreter.cel_limits import COST
from tests.integration.replay.pre_flip import PreFlip
from tests.integration.replay.recording import Scenario, record
from workflows.patches import CONDITION_RULES, GOOGLE_CEL
from workflows.plan_run import PlanRunWorkflow

REPRO = 'contact.tier == "gold" && events.hasOpen("e")'
COSTLY = "(vars.L + []).all(a, (vars.L + []).all(b, a + b >= 0))"
CONTACT = {"id": "c-1", "timezone": "UTC"}  # no tier


def _plan(when: str) -> ExecutionPlan:
    """A branch first (decided at the run's start), then an email or the end."""
    return ExecutionPlan(
        id="tiers",
        version=1,
        name="Tiers",
        metadata=PlanMetadata(created_at="2026-01-01", created_by="tests"),
        steps=(
            steps.branch(
                id="check",
                conditions=[{"when": when, "goto": "e"}, {"when": "default", "goto": "done"}],
            ),
            steps.send_email(id="e", template_id="tmpl_intro", subject="Hi"),
            steps.end(id="sent", outcome="sent"),
            steps.end(id="done", outcome="default"),
        ),
        transitions=[
            {"from": "check", "to": "e"},
            {"from": "check", "to": "done"},
            {"from": "e", "to": "sent"},
        ],
    )


@workflow.defn(name=c.WORKFLOW_NAME)
class Legacy(PlanRunWorkflow):
    """The workflow as it decided before the rules: CEL's own ``&&``, no patch (on the
    old evaluator: before the flip)."""

    today = False

    def _google_cel_today(self) -> bool:
        return False

    def _feed(self, inp: Input) -> None:
        today = self.today
        self._ctx.config = replace(self._ctx.config, conditions_today=lambda: today)
        super()._feed(inp)

    @workflow.run
    async def run(self, raw: Any) -> c.RunResult:
        return await super().run(raw)


@workflow.defn(name=c.WORKFLOW_NAME)
class Unguarded(Legacy):
    """Today's rules without the patch: what must never ship."""

    today = True

    @workflow.run
    async def run(self, raw: Any) -> c.RunResult:
        return await super().run(raw)


def _replayer(workflow_class: type) -> Replayer:
    return Replayer(workflows=[workflow_class], workflow_runner=UnsandboxedWorkflowRunner())


async def _dee_replay_is_identical(history: WorkflowHistory) -> bool:
    """DEE's own replay (the pure interpreter on the run's inputs) agrees with the run:
    it applies the rules the history's patch markers say the run was decided by."""
    run = await decode_history(history, source=history.workflow_id)
    return replay_run(run).identical


def _evaluation(chain: list[dict[str, Any]]) -> dict[str, Any]:
    [entry] = [e for e in chain if e["action"] == "evaluate"]
    return entry


def _failure(chain: list[dict[str, Any]]) -> dict[str, Any]:
    [entry] = [e for e in chain if (e["action"], e["outcome"]) == ("run", "failed")]
    return dict(entry["detail"])


async def test_the_reproduction_fails_the_run_naming_the_field_behind_the_patch(
    env: WorkflowEnvironment,
) -> None:
    history, chain = await record(env, Scenario("missing-tier", _plan(REPRO), dict(CONTACT)))
    evaluation = _evaluation(chain)
    assert evaluation["outcome"] == "error"
    assert evaluation["detail"]["error"] == "missing field contact.tier"
    failure = _failure(chain)
    assert failure["kind"] == "condition_error"
    assert failure["cause"].endswith(": missing field contact.tier")
    # Decided on Google's CEL, whose evaluation keeps the rules without asking a patch.
    assert GOOGLE_CEL in patches(history) and CONDITION_RULES not in patches(history)
    await _replayer(PlanRunWorkflow).replay_workflow(history)  # raises on non-determinism
    assert await _dee_replay_is_identical(history)
    with pytest.raises(workflow.NondeterminismError):  # the old code cannot replay it
        await _replayer(Legacy).replay_workflow(history)


async def test_on_the_old_evaluator_the_rules_are_decided_by_their_patch(
    env: WorkflowEnvironment,
) -> None:
    history, chain = await record(
        env,
        Scenario("pre-flip-missing-tier", _plan(REPRO), dict(CONTACT)),
        workflows=[PreFlip],
        runner=UnsandboxedWorkflowRunner(),
    )
    assert _evaluation(chain)["detail"]["error"] == "missing field contact.tier"
    assert _failure(chain)["cause"].endswith(": missing field contact.tier")
    assert CONDITION_RULES in patches(history) and GOOGLE_CEL not in patches(history)
    await _replayer(PlanRunWorkflow).replay_workflow(history)  # today's code: no marker, old
    assert await _dee_replay_is_identical(history)
    with pytest.raises(workflow.NondeterminismError):  # the code before the rules cannot
        await _replayer(Legacy).replay_workflow(history)


async def test_a_run_that_never_needs_the_rules_records_no_patch(env: WorkflowEnvironment) -> None:
    contact = {**CONTACT, "tier": "silver"}
    history, chain = await record(env, Scenario("silver", _plan(REPRO), contact))
    assert _evaluation(chain)["outcome"] == "branch:done"
    assert patches(history) & {CONDITION_RULES, GOOGLE_CEL} == {GOOGLE_CEL}


async def test_a_run_decided_before_the_rules_replays_as_it_was_decided(
    env: WorkflowEnvironment,
) -> None:
    history, chain = await record(
        env,
        Scenario("legacy-missing-tier", _plan(REPRO), dict(CONTACT)),
        workflows=[Legacy],
        runner=UnsandboxedWorkflowRunner(),
    )
    assert _evaluation(chain)["outcome"] == "branch:done"  # the quiet default of before
    assert not patches(history) & {CONDITION_RULES, GOOGLE_CEL}
    await _replayer(PlanRunWorkflow).replay_workflow(history)
    assert await _dee_replay_is_identical(history)
    with pytest.raises(workflow.NondeterminismError):  # ungated, the change would break it
        await _replayer(Unguarded).replay_workflow(history)


async def test_a_condition_too_costly_for_the_runs_data_fails_the_run_at_once(
    env: WorkflowEnvironment,
) -> None:
    scenario = Scenario("costly", _plan(COSTLY), dict(CONTACT), variables={"L": list(range(1000))})
    history, chain = await record(env, scenario)
    reason = COST.exceeded("an estimated 18018010 on this run's contact and vars")
    assert _evaluation(chain)["detail"]["error"] == reason
    assert _failure(chain)["cause"].endswith(reason)
    await _replayer(PlanRunWorkflow).replay_workflow(history)
