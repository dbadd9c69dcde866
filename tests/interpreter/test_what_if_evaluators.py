"""What-if reports a condition the two CEL evaluators decide differently as a
divergence (issue 23), whichever of them is today's default."""

from __future__ import annotations

from typing import Any

from interpreter import (
    ExecutionPlan,
    MachineConfig,
    chain,
    compile_plan,
    simulate,
)
from interpreter.replay import RecordedRun, what_if
from tests.interpreter.helpers import branch_plan


def _run(plan: ExecutionPlan, contact: dict[str, Any], config: MachineConfig) -> RecordedRun:
    trace = simulate(plan, contact, config=config)
    return RecordedRun("r1", contact, [e.as_dict() for e in chain("r1", trace.entries)])


# size() counts UTF-8 bytes on the old evaluator (4 for "Zoë") and code points on
# Google's CEL (3): the two take different branches.
SIZE = branch_plan("size(contact.name) == 3")


def test_a_condition_the_evaluators_decide_differently_is_a_divergence() -> None:
    for google in (False, True):
        config = MachineConfig(google_cel=google)
        run = _run(SIZE, {"id": "c-1", "name": "Zoë"}, config)
        report = what_if([run], compile_plan(SIZE, google_cel=google), config=config)
        [change] = report.changes
        assert change.first_divergence is None  # the same plan on the same evaluator
        assert change.evaluators_differ_at == "check"
        assert change.diverged and report.diverged == 1
        assert change.as_dict()["evaluatorsDifferAt"] == "check"


def test_a_condition_they_agree_on_is_no_divergence() -> None:
    run = _run(SIZE, {"id": "c-1", "name": "Zoe"}, MachineConfig())
    report = what_if([run], compile_plan(SIZE))
    [change] = report.changes
    assert not change.diverged and change.evaluators_differ_at is None
    assert "evaluatorsDifferAt" not in change.as_dict()


def test_syntax_only_the_library_reads_has_nothing_to_compare() -> None:
    plan = branch_plan("dyn(contact.score) > 1")
    config = MachineConfig(google_cel=True)
    run = _run(plan, {"id": "c-1", "score": 2}, config)
    [change] = what_if([run], compile_plan(plan, google_cel=True), config=config).changes
    assert not change.diverged and change.evaluators_differ_at is None
