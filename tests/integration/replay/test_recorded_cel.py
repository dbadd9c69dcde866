"""A recorded run is re-executed and simulated with the CEL evaluator it recorded (its
start entry's ``cel``; none: the old one), whatever today's default (issue 23)."""

from __future__ import annotations

from temporalio.testing import WorkflowEnvironment

from dee.replay.comparison import replay_run
from dee.replay.from_history import decode_history, last_seq
from dee.replay.reexecution import reexecute, reexecuted_against_chain, with_reexecution
from interpreter.cel_branch import LEGACY_CEL, recorded_cel
from interpreter.cel_env import CEL_IMPLEMENTATION
from tests.integration.replay.pre_flip import ZOE, ZOE_PLAN
from tests.integration.replay.recording import Scenario, record

# The two evaluators take different branches on this contact (``pre_flip``).
PLAN, CONTACT = ZOE_PLAN, ZOE


async def test_a_run_recorded_on_google_cel_re_executes_and_replays_on_it(
    env: WorkflowEnvironment,
) -> None:
    scenario = Scenario("google-cel", plan=PLAN, contact=CONTACT, cel=CEL_IMPLEMENTATION)
    history, chain = await record(env, scenario)
    assert recorded_cel(chain) == CEL_IMPLEMENTATION
    assert [e["step_id"] for e in chain if e["action"] == "end"] == ["three"]
    run = await decode_history(history)

    simulated = replay_run(run)
    assert simulated.identical, [(d.step, d.field, d.expected, d.actual) for d in simulated.diffs]
    again = await reexecuted_against_chain(run, simulated)
    assert again.identical, [(d.step, d.field, d.expected, d.actual) for d in again.diffs]

    # Control: the same inputs on the old evaluator take the other branch.
    old = await reexecute(
        run.history, run.run_input, through_seq=last_seq(run.entries), cel=LEGACY_CEL
    )
    differs = with_reexecution(simulated, run.entries, old, run.run_input.chain_seq)
    assert not differs.identical


async def test_a_run_recorded_on_the_old_evaluator_stays_on_it(env: WorkflowEnvironment) -> None:
    # Told the old evaluator (a run continued as new from one started before the flip).
    scenario = Scenario("old-cel", plan=PLAN, contact=CONTACT, cel=LEGACY_CEL)
    history, chain = await record(env, scenario)
    assert recorded_cel(chain) == LEGACY_CEL
    assert [e["step_id"] for e in chain if e["action"] == "end"] == ["other"]
    run = await decode_history(history)
    simulated = replay_run(run)
    again = await reexecuted_against_chain(run, simulated)
    assert again.identical, [(d.step, d.field, d.expected, d.actual) for d in again.diffs]
