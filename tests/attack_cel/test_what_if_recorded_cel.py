"""What-if simulates each run on the CEL implementation its start entry records
(issue 23): a run decided on Google's CEL is not re-decided on the old evaluator
because the what-if was asked without saying which, and a condition the two
evaluators decide differently is still reported (``evaluatorsDifferAt``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHistory

from dee.replay.from_history import decode_history
from dee.replay.what_if import what_if_one
from interpreter import MachineConfig, chain, compile_plan, simulate
from interpreter.cel_branch import LEGACY_CEL, recorded_cel
from interpreter.cel_env import CEL_IMPLEMENTATION
from interpreter.replay import RecordedRun, replay, what_if
from tests.integration.replay.pre_flip import ZOE_PLAN
from tests.interpreter.helpers import branch_plan

HISTORY = Path(__file__).resolve().parents[1] / "histories" / "zoe-google-cel.json"

# size("Zoë") is 3 on Google's CEL (code points), 4 on the old evaluator (UTF-8 bytes).
SIZE = branch_plan("size(contact.name) == 3")
ZOE = {"id": "c-1", "name": "Zoë"}


def _recorded(google: bool, run_id: str) -> RecordedRun:
    trace = simulate(SIZE, ZOE, config=MachineConfig(google_cel=google))
    return RecordedRun(run_id, ZOE, [e.as_dict() for e in chain(run_id, trace.entries)])


async def test_the_corpus_run_on_google_cel_is_simulated_on_google_cel() -> None:
    history = WorkflowHistory.from_json("zoe-google-cel", HISTORY.read_text(encoding="utf-8"))
    run = await decode_history(history, source=HISTORY.name)
    assert recorded_cel(run.entries) == CEL_IMPLEMENTATION
    change = what_if_one(run, ZOE_PLAN)  # the same plan: nothing may change
    assert change.outcome_before == change.outcome_after == "three"
    assert change.first_divergence is None
    assert change.evaluators_differ_at == "check"  # still reported


def test_each_run_of_one_what_if_keeps_its_own_evaluator() -> None:
    runs = [_recorded(True, "on-google"), _recorded(False, "on-legacy")]
    assert [recorded_cel(r.entries) for r in runs] == [CEL_IMPLEMENTATION, LEGACY_CEL]
    for google in (False, True):  # whichever evaluator the caller compiled for
        config = MachineConfig(google_cel=google)
        report = what_if(runs, compile_plan(SIZE, google_cel=google), config=config)
        by_id: dict[str, Any] = {c.run_id: c for c in report.changes}
        assert by_id["on-google"].outcome_after == "yes"
        assert by_id["on-legacy"].outcome_after == "no"
        for change in report.changes:
            assert change.first_divergence is None and change.evaluators_differ_at == "check"


def test_replay_without_a_config_replays_on_the_recorded_evaluator() -> None:
    for google in (True, False):
        run = _recorded(google, "r")
        for compiled_for in (True, False):  # whichever the caller compiled the plan for
            plan = compile_plan(SIZE, google_cel=compiled_for)
            result = replay(plan, run.entries, run.contact)
            assert result.identical, (google, compiled_for, result)
