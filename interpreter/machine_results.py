"""The results a run waits for: the policy gate's decision, a send's outcome, a timer.

A result that arrives after a cancel is recorded and goes no further; one that arrives
while an exit is pending is recorded and then the run exits (``finish_exit``).
"""

from __future__ import annotations

from typing import assert_never

from interpreter.commands import PolicyDecided, SendCompleted, TimerFired, send_action
from interpreter.compiled import RunContext
from interpreter.errors import MachineError
from interpreter.machine_base import Out, SendStep, fail, record, start_timer
from interpreter.machine_enter import enter
from interpreter.machine_exits import finish_exit
from interpreter.machine_gate import channel_of, gate, send_command, window_closed
from interpreter.plan import WaitForEventStep, is_send_step
from interpreter.state import RunState, Status
from interpreter.trace import TraceEntry

_CANCELED = Status.CANCELED
_POLICY_OUTCOMES = {"allow": "allowed", "defer": "deferred", "deny": "denied"}


def _awaited_send(ctx: RunContext, s: RunState, phase: str, step_id: str) -> SendStep:
    if s.phase != phase or s.step_id != step_id:
        raise MachineError(
            f"no {phase} result is awaited for step '{step_id}' "
            f"(the run is at step '{s.step_id}', phase {s.phase})"
        )
    step_def = ctx.plan.steps[step_id]
    assert is_send_step(step_def)
    return step_def


def _late_result(
    s: RunState, inp: PolicyDecided | SendCompleted, action: str, outcome: str, out: Out
) -> bool:
    """Record a result that arrives after the run was canceled mid-activity.

    The activity was already running when the cancel was accepted; what it did
    (a send may really have happened) is still recorded, and nothing follows it.
    """
    if s.status is not _CANCELED or s.step_id != inp.step_id:
        return False
    detail = {**inp.detail, **({"reason": inp.reason} if inp.reason else {}), "afterCancel": True}
    record(out, inp.tick, inp.step_id, action, outcome, detail)
    return True


def policy_decided(ctx: RunContext, s: RunState, inp: PolicyDecided, out: Out) -> None:
    """Act on the policy gate's decision for the step awaiting it."""
    if _late_result(s, inp, "policy_check", _POLICY_OUTCOMES[inp.decision], out):
        return
    step_def = _awaited_send(ctx, s, "policy", inp.step_id)
    detail: dict[str, object] = dict(inp.detail)
    if inp.policy is not None:
        detail["policy"] = inp.policy
    if inp.reason is not None:
        detail["reason"] = inp.reason
    if s.exiting is not None and inp.decision != "deny":
        # The contact asked to stop while the gate was deciding: nothing is sent.
        until = {"untilTick": inp.until_tick} if inp.decision == "defer" else {}
        outcome = _POLICY_OUTCOMES[inp.decision]
        record(out, inp.tick, inp.step_id, "policy_check", outcome, {**detail, **until})
        finish_exit(s, inp.tick, out)
        return
    match inp.decision:
        case "allow":
            out.append(TraceEntry(inp.tick, inp.step_id, "policy_check", "allowed", detail))
            if step_def.window is not None and window_closed(ctx, s, step_def, inp.tick, out):
                return  # the gate took long enough for the window to close: wait again
            if s.paused:  # hold before the side effect; resume asks the gate afresh
                record(out, inp.tick, inp.step_id, "pause", "held", {"before": "send"})
                s.phase, s.held = "held", "policy"
                return
            out.append(send_command(s, step_def))
            s.phase = "send"
        case "defer":
            if inp.until_tick is None or inp.until_tick <= inp.tick:
                raise MachineError(f"a deferral of step '{inp.step_id}' needs a later until_tick")
            detail["untilTick"] = inp.until_tick
            record(out, inp.tick, inp.step_id, "policy_check", "deferred", detail)
            start_timer(s, inp.step_id, inp.until_tick, "defer", out)
        case "deny":
            record(out, inp.tick, inp.step_id, "policy_check", "denied", detail)
            reason = f"policy_denied({inp.policy or 'policy'})"
            if inp.reason:
                reason += f": {inp.reason}"
            if s.exiting is not None:
                finish_exit(s, inp.tick, out)
                return
            fail(s, inp.step_id, "policy_denied", reason, inp.tick, out)
        case _:
            assert_never(inp.decision)


def send_completed(ctx: RunContext, s: RunState, inp: SendCompleted, out: Out) -> None:
    """Record a send's result and go on (or fail closed, or exit when one is pending)."""
    sent = ctx.plan.steps.get(inp.step_id)
    if not is_send_step(sent):
        raise MachineError(f"step '{inp.step_id}' is no send step: it awaits no send result")
    action = send_action(channel_of(sent))
    if _late_result(s, inp, action, inp.status, out):
        return
    _awaited_send(ctx, s, "send", inp.step_id)
    detail: dict[str, object] = dict(inp.detail)
    if s.exiting is not None:
        # A send in flight when the contact asked to stop: what it did is recorded (it
        # cannot be unsent), and the run exits instead of going on.
        if inp.status != "delivered":
            detail["reason"] = inp.reason or inp.status
        record(out, inp.tick, inp.step_id, action, inp.status, detail)
        finish_exit(s, inp.tick, out)
        return
    if inp.status == "failed":
        reason = inp.reason or "unknown"
        detail["reason"] = reason
        record(out, inp.tick, inp.step_id, action, "failed", detail)
        fail(s, inp.step_id, "send_failed", reason, inp.tick, out)
        return
    if inp.status == "unknown":
        # Never "failed": the message may have gone out. The run stops until an operator
        # retries (which asks the provider first) or resolves it.
        reason = f"send_outcome_unknown: {inp.reason or 'no answer about the send'}"
        detail["reason"] = reason
        record(out, inp.tick, inp.step_id, action, "unknown", detail)
        fail(s, inp.step_id, "send_outcome_unknown", reason, inp.tick, out)
        return
    out.append(TraceEntry(inp.tick, inp.step_id, action, "delivered", detail))
    enter(ctx, s, ctx.plan.next[inp.step_id], inp.tick, out)


def timer_fired(ctx: RunContext, s: RunState, inp: TimerFired, out: Out) -> None:
    """End a wait or a deferral whose timer fired; a stale timer decides nothing."""
    timer = s.timer
    if timer is None or timer.timer_id != inp.timer_id or s.phase != "timer":
        return  # a timer from an earlier phase (the run moved on): nothing to decide
    if inp.tick < timer.until_tick:
        raise MachineError(
            f"timer {timer.timer_id} fired at tick {inp.tick}, before {timer.until_tick}"
        )
    assert s.step_id is not None
    step_id = s.step_id
    s.timer = None
    if timer.purpose == "wait":
        waiting = ctx.plan.steps[step_id]
        if type(waiting) is WaitForEventStep:
            goto: dict[str, object] = {"goto": waiting.on_timeout}
            record(out, inp.tick, step_id, "wait_for_event", "timeout", goto)
            enter(ctx, s, waiting.on_timeout, inp.tick, out)
            return
        record(out, inp.tick, step_id, "wait", "completed")
        enter(ctx, s, ctx.plan.next[step_id], inp.tick, out)
        return
    record(out, inp.tick, step_id, "defer", "completed")
    if s.paused:
        record(out, inp.tick, step_id, "pause", "held", {"before": "policy_check"})
        s.phase, s.held = "held", "policy"
        return
    step_def = ctx.plan.steps[step_id]
    assert is_send_step(step_def)
    gate(ctx, s, step_def, inp.tick, out)


__all__ = ["policy_decided", "send_completed", "timer_fired"]
