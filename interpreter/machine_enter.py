"""Entering steps: counting the visit, the step budget, a pause before a step, and
running each step type (branches chain on at once)."""

from __future__ import annotations

from typing import assert_never

from interpreter.cel_branch import evaluate_google
from interpreter.commands import CompleteRun
from interpreter.compiled import RunContext
from interpreter.conditions import CompiledCondition, evaluate_branch
from interpreter.errors import ConditionError
from interpreter.events import EventSnapshot
from interpreter.machine_base import Out, fail, record
from interpreter.machine_gate import gate
from interpreter.machine_waits import await_event, run_wait
from interpreter.plan import (
    BranchStep,
    EndStep,
    SendEmailStep,
    SendVoiceStep,
    WaitForEventStep,
    WaitStep,
)
from interpreter.state import RunState, Status
from interpreter.trace import TraceEntry

_COMPLETED = Status.COMPLETED


def enter(ctx: RunContext, s: RunState, step_id: str | None, tick: int, out: Out) -> None:
    """Enter ``step_id`` (counting the visit) and run it; branches chain on at once."""
    while step_id is not None:
        s.step_id = step_id
        if s.paused:
            record(out, tick, step_id, "pause", "held", {"before": "enter"})
            s.phase, s.held, s.timer = "held", "enter", None
            return
        s.executed += 1
        if s.executed > ctx.config.step_budget:
            reason = f"step budget of {ctx.config.step_budget} step executions exhausted"
            fail(s, step_id, "step_budget", reason, tick, out)
            return
        visit = s.visits.get(step_id, 0) + 1
        s.visits = {**s.visits, step_id: visit}
        # The three commonest entries (enter, allowed, delivered) skip record's call.
        out.append(TraceEntry(tick, step_id, "enter", f"visit:{visit}", {}))
        step_id = run_step(ctx, s, tick, out)


def run_step(ctx: RunContext, s: RunState, tick: int, out: Out) -> str | None:
    """Execute the current step; returns the next step when it ends at once (branch)."""
    assert s.step_id is not None
    step_def = ctx.plan.steps[s.step_id]
    # Dispatch on the exact type: ``isinstance`` (and so ``match``) against a pydantic
    # model class that does not match costs ~200 ns, and this runs for every step.
    if type(step_def) is SendEmailStep or type(step_def) is SendVoiceStep:
        gate(ctx, s, step_def, tick, out)
    elif type(step_def) is WaitStep:
        run_wait(ctx, s, step_def, tick, out)
    elif type(step_def) is WaitForEventStep:
        return await_event(ctx, s, step_def, tick, out)
    elif type(step_def) is BranchStep:
        return _branch(ctx, s, step_def, tick, out)
    elif type(step_def) is EndStep:
        record(out, tick, step_def.id, "end", step_def.outcome)
        out.append(CompleteRun(step_def.outcome))
        s.status, s.phase, s.outcome = _COMPLETED, "done", step_def.outcome
    else:  # a new step type: mypy finds this line (step types are final)
        assert_never(step_def)
    return None


def _branch(ctx: RunContext, s: RunState, step_def: BranchStep, tick: int, out: Out) -> str | None:
    """Evaluate a branch; its target, or ``None`` when a condition failed (fail-closed)."""
    try:
        index, cond = _evaluate(ctx, s, step_def)
    except ConditionError as err:
        detail: dict[str, object] = {"condition": err.index, "when": err.when}
        detail["error"] = err.reason
        record(out, tick, step_def.id, "evaluate", "error", detail)
        fail(s, step_def.id, "condition_error", str(err), tick, out)
        return None
    detail = {"condition": index, "when": cond.when}
    record(out, tick, step_def.id, "evaluate", f"branch:{cond.goto}", detail)
    return cond.goto


def _evaluate(ctx: RunContext, s: RunState, step_def: BranchStep) -> tuple[int, CompiledCondition]:
    """The first condition that holds under today's rules; where those raise, under the
    rules the run was decided by (``MachineConfig.conditions_today``, asked only then)."""
    branch = ctx.plan.branches[step_def.id]
    snapshot = EventSnapshot(s.events, ctx.config.reply_senders)
    if ctx.config.google_cel:
        return evaluate_google(
            branch, snapshot=snapshot, contact=ctx.contact, variables=ctx.variables, visits=s.visits
        )
    try:
        return evaluate_branch(
            branch, snapshot=snapshot, contact=ctx.contact, variables=ctx.variables, visits=s.visits
        )
    except ConditionError:
        if ctx.config.conditions_today():
            raise
    return evaluate_branch(
        branch,
        snapshot=snapshot,
        contact=ctx.contact,
        variables=ctx.variables,
        visits=s.visits,
        legacy=True,
    )


__all__ = ["enter", "run_step"]
