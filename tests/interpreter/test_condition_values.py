"""A contact or variables value CEL cannot take fails the run, never the workflow task.

Before, a lone surrogate (or a set) made the CEL binding raise while its context was
built, outside the handler: the exception escaped ``step()`` and a workflow task
retried forever with nothing recorded. Now it is a ``ConditionError``: the run fails
with ``evaluate → error`` recorded and a reason naming the field.
"""

from __future__ import annotations

from typing import Any

import pytest

from interpreter import (
    ConditionError,
    ExecutionPlan,
    FailRun,
    PlanMetadata,
    RunContext,
    RunState,
    Start,
    Status,
    TraceEntry,
    canonical_json,
    compile_plan,
    ensure_valid,
    step,
    steps,
)
from interpreter.conditions import evaluate_branch
from interpreter.events import EventSnapshot
from interpreter.legacy_cel import evaluate as legacy_evaluate

META = PlanMetadata(created_at="2026-01-01T00:00:00Z", created_by="tests")


def _plan() -> ExecutionPlan:
    return ensure_valid(
        ExecutionPlan(
            id="condition-values",
            version=1,
            name="Condition values",
            metadata=META,
            steps=(
                steps.branch(
                    id="check",
                    conditions=[
                        {"when": 'contact.first_name == "Ada"', "goto": "yes"},
                        {"when": "vars.limit > 3", "goto": "yes"},
                        {"when": "default", "goto": "no"},
                    ],
                ),
                steps.end(id="yes", outcome="yes"),
                steps.end(id="no", outcome="no"),
            ),
        )
    )


def _nested(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels - 1):
        value = [value]
    return value


# Each a value the CEL binding refuses (surrogate, set, object), quietly mangles (an
# integer past 64 bits becomes a float) or that has no JSON form (NaN, bytes).
BAD = {
    "lone surrogate": ("\ud800", "contains a lone surrogate (U+D800), not valid text"),
    "low surrogate in a list": (["ok", "\udfff"], "[1]: contains a lone surrogate (U+DFFF)"),
    "set": ({1, 2}, "a value of type set is not JSON"),
    "bytes": (b"Ada", "a value of type bytes is not JSON"),
    "nan": (float("nan"), "nan is not a finite number"),
    "infinity": (float("inf"), "inf is not a finite number"),
    "int past 64 bits": (2**64, "an integer of 65 bits"),
    "negative int past 64 bits": (-(2**63) - 1, "an integer of 64 bits"),
    "object": (object(), "a value of type object is not JSON"),
    # Far past the bound: the binding itself would crash the process (a segfault).
    "deep nesting": (_nested(20_000), "nested more than 100 levels deep"),
    "key not a string": ({1: "x"}, "a key of type int, not a string"),
    "surrogate in a key": ({"\ud800": 1}, ".\\ud800: contains a lone surrogate (U+D800)"),
}


def _run(contact: dict[str, Any], variables: dict[str, Any]) -> tuple[RunState, list[Any]]:
    ctx = RunContext(compile_plan(_plan()), contact, variables)
    return step(ctx, RunState(), Start(0))


def _assert_failed_with(state: RunState, cmds: list[Any], field: str, reason: str) -> None:
    assert state.status == Status.FAILED
    assert state.failure is not None and state.failure.kind == "condition_error"
    assert field in state.failure.reason and reason in state.failure.reason
    records = [c for c in cmds if isinstance(c, TraceEntry) and c.action == "evaluate"]
    assert [(r.step_id, r.outcome) for r in records] == [("check", "error")]
    assert reason in records[0].detail["error"]
    # What is recorded can be stored and hashed: the audit's canonical JSON takes it.
    canonical_json(dict(records[0].detail))
    assert cmds[-1] == FailRun("check", state.failure.reason)


@pytest.mark.parametrize(("value", "reason"), BAD.values(), ids=BAD.keys())
def test_a_contact_value_cel_cannot_take_fails_the_run_with_the_error_recorded(
    value: object, reason: str
) -> None:
    state, cmds = _run({"id": "c1", "first_name": value}, {})
    _assert_failed_with(state, cmds, "contact.first_name", reason)


@pytest.mark.parametrize(("value", "reason"), BAD.values(), ids=BAD.keys())
def test_a_variables_value_cel_cannot_take_fails_the_run_with_the_error_recorded(
    value: object, reason: str
) -> None:
    state, cmds = _run({"id": "c1", "first_name": "Grace"}, {"limit": 1, "extra": value})
    _assert_failed_with(state, cmds, "vars.extra", reason)


def test_values_cel_holds_still_route() -> None:
    contact = {"id": "c1", "first_name": "Grace", "n": 2**60, "tags": ["é", 1.5, None]}
    state, _ = _run(contact, {"limit": 2**64 - 1})
    assert state.status == Status.COMPLETED and state.outcome == "yes"


def test_whatever_the_binding_raises_becomes_a_condition_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Even with the value check out of the way, the binding's own error (raised while
    the context is built, before any condition runs) is a ConditionError."""
    monkeypatch.setattr(legacy_evaluate.cel_runtime, "value_problem", lambda *_a: None)
    branch = compile_plan(_plan()).branches["check"]
    with pytest.raises(ConditionError, match=r"conditions\[0\].*ValueError: .*Failed to convert"):
        evaluate_branch(
            branch,
            snapshot=EventSnapshot(()),
            contact={"id": "c1", "first_name": "\ud800"},
            variables={},
            visits={},
        )
