"""Operator actions: pause, resume, cancel, retry and resolve, and which of them apply
to a run (``operator_problem``, asked before one is accepted)."""

from __future__ import annotations

from typing import assert_never

from interpreter.commands import CancelRun, CompleteRun, OperatorAction
from interpreter.compiled import RunContext
from interpreter.machine_base import Out, record
from interpreter.machine_enter import enter, run_step
from interpreter.machine_gate import gate
from interpreter.plan import is_send_step
from interpreter.state import FINAL_STATUSES, RunState, Status
from interpreter.trace import RUN_SCOPE

_SEND_FAILURES = ("send_failed", "send_outcome_unknown")


def apply_operator(ctx: RunContext, s: RunState, inp: OperatorAction, out: Out) -> None:
    """Apply an operator action ``operator_problem`` has accepted."""
    who: dict[str, object] = {"by": inp.by, "reason": inp.reason}
    tick = inp.tick
    match inp.action:
        case "pause":
            record(out, tick, RUN_SCOPE, "pause", "accepted", who)
            s.paused, s.status = True, Status.PAUSED
        case "resume":
            record(out, tick, RUN_SCOPE, "resume", "accepted", who)
            s.paused = False
            if s.phase == "held":
                assert s.step_id is not None
                if s.held == "enter":
                    s.held = None
                    enter(ctx, s, s.step_id, tick, out)
                    return
                step_def = ctx.plan.steps[s.step_id]
                assert is_send_step(step_def)
                gate(ctx, s, step_def, tick, out)
                return
            s.status = {"timer": Status.WAITING, "new": Status.PENDING}.get(s.phase, Status.RUNNING)
        case "cancel":
            record(out, tick, RUN_SCOPE, "cancel", "accepted", who)
            out.append(CancelRun(inp.reason))
            s.status, s.phase, s.timer, s.held = Status.CANCELED, "done", None, None
            s.exiting = None  # a result still in flight is recorded as after the cancel
        case "retry":
            assert s.failure is not None
            failed = s.failure
            detail = {**who, "kind": failed.kind}
            if inp.resolution == "resend":
                detail["resend"] = True
            record(out, tick, failed.step_id, "retry", "accepted", detail)
            s.status, s.failure, s.step_id = Status.RUNNING, None, failed.step_id
            enter(ctx, s, run_step(ctx, s, tick, out), tick, out)
        case "resolve":
            assert s.failure is not None
            failed_step = s.failure.step_id
            s.status, s.failure = Status.RUNNING, None
            if inp.resolution == "mark_sent":
                record(out, tick, failed_step, "resolve", "mark_sent", who)
                enter(ctx, s, ctx.plan.next[failed_step], tick, out)
                return
            assert inp.target is not None
            if inp.resolution == "skip":
                record(out, tick, failed_step, "resolve", "skip", {**who, "to": inp.target})
                enter(ctx, s, inp.target, tick, out)
                return
            record(out, tick, failed_step, "resolve", "end", {**who, "outcome": inp.target})
            out.append(CompleteRun(inp.target))
            s.status, s.phase, s.outcome = Status.COMPLETED, "done", inp.target
        case _:
            assert_never(inp.action)


def operator_problem(ctx: RunContext, state: RunState, inp: OperatorAction) -> str | None:
    """Why ``inp`` cannot be applied to ``state`` (``None`` when it can).

    The workflow's update validators call this, so a wrong action is rejected
    before it is accepted into history.
    """
    status = state.status
    if status in FINAL_STATUSES:
        return f"the run is {status.value.lower()}; no operator action applies"
    if not inp.by.strip():
        return "an operator action must say who takes it (by)"
    match inp.action:
        case "pause":
            if state.paused or status not in (Status.PENDING, Status.RUNNING, Status.WAITING):
                return f"only a pending, running or waiting run can be paused; it is {status.value}"
        case "resume":
            if not state.paused:
                return f"the run is not paused (it is {status.value})"
        case "cancel":
            return None
        case "retry":
            if status != Status.FAILED or state.failure is None:
                return f"only a failed run can be retried; this run is {status.value}"
            if state.failure.kind == "step_budget":
                return (
                    "the run exhausted its step budget; a retry would loop again: resolve or cancel"
                )
            if state.failure.kind == "exit_error":
                return (
                    "an exit rule failed to evaluate, so whether the contact asked to stop is "
                    "not known; resolve (skip to a step, or end) or cancel the run"
                )
            if inp.resolution not in (None, "resend"):
                return "retry takes no resolution but 'resend'"
            if inp.resolution == "resend" and state.failure.kind not in _SEND_FAILURES:
                return "retry --resend applies to a failed send; this run failed otherwise"
        case "resolve":
            if status != Status.FAILED or state.failure is None:
                return f"only a failed run can be resolved; this run is {status.value}"
            if inp.resolution == "mark_sent":
                if state.failure.kind not in _SEND_FAILURES:
                    return "resolve --mark-sent applies to a failed send; this run failed otherwise"
                return None
            if inp.resolution not in ("skip", "end"):
                return (
                    "resolve needs resolution 'skip' (to a step), 'end' (with an outcome) "
                    "or 'mark_sent' (a send the operator checked went out)"
                )
            if not inp.target:
                return "resolve needs a target: the step to skip to, or the outcome to end with"
            if inp.resolution == "skip" and inp.target not in ctx.plan.steps:
                return f"resolve skip target '{inp.target}' is not a step of this plan"
        case _:
            assert_never(inp.action)
    return None


__all__ = ["apply_operator", "operator_problem"]
