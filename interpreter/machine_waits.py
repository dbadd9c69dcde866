"""Wait steps: a ``wait`` (a duration, or until a local time) and a ``waitForEvent``'s
entry and ``until``. Their timers firing and events arriving are handled where those
inputs are (``machine_results``, ``machine_exits``).

A ``waitForEvent``'s timeout and an event at the same tick: whichever input the machine
is given first decides. The simulator ingests a tick's events before its timers, so an
event at the timeout's tick takes ``onEvent`` there; in the workflow an event that
arrives before the timer fired does the same, one after it finds the step left.
"""

from __future__ import annotations

from interpreter.compiled import RunContext
from interpreter.errors import ConditionError
from interpreter.exits import holds
from interpreter.machine_base import Out, fail, record, start_timer
from interpreter.plan import WaitForEventStep, WaitStep
from interpreter.state import RunState
from interpreter.timing import LocalTimeError, wait_until


def run_wait(ctx: RunContext, s: RunState, step_def: WaitStep, tick: int, out: Out) -> None:
    """Start a ``wait``'s timer: after its duration, or at its next local time (the run
    fails closed, kind ``local_time``, when it has no zone to compute that in)."""
    if step_def.until is None:
        until = tick + ctx.plan.wait_ticks[step_def.id]
        record(out, tick, step_def.id, "wait", "started", {"untilTick": until})
    else:
        try:
            until, detail = wait_until(ctx, step_def, tick)
        except LocalTimeError as err:
            record(out, tick, step_def.id, "wait", "error", {"error": str(err)})
            fail(s, step_def.id, "local_time", str(err), tick, out)
            return
        record(out, tick, step_def.id, "wait", "started", detail)
    start_timer(s, step_def.id, until, "wait", out)


def await_event(
    ctx: RunContext, s: RunState, step_def: WaitForEventStep, tick: int, out: Out
) -> str | None:
    """Enter a ``waitForEvent``: ``onEvent`` at once when ``until`` already holds (an
    event ingested before the step counts), otherwise wait for an event or the timeout."""
    matched = until_holds(ctx, s, step_def, tick, out)
    if matched is None:
        return None  # failed
    if matched:
        return step_def.on_event
    until = tick + ctx.plan.timeout_ticks[step_def.id]
    detail: dict[str, object] = {"untilTick": until, "until": step_def.until}
    record(out, tick, step_def.id, "wait_for_event", "started", detail)
    start_timer(s, step_def.id, until, "wait", out)
    return None


def until_holds(
    ctx: RunContext, s: RunState, step_def: WaitForEventStep, tick: int, out: Out
) -> bool | None:
    """Evaluate a ``waitForEvent``'s ``until``; record a match (``True``) or a failure
    (``None``, the run failed closed as on a branch condition's error)."""
    try:
        matched = holds(ctx, s, ctx.plan.awaits[step_def.id])
    except ConditionError as err:
        detail: dict[str, object] = {"until": step_def.until, "error": err.reason}
        record(out, tick, step_def.id, "wait_for_event", "error", detail)
        reason = f"step '{step_def.id}': until {step_def.until!r}: {err.reason}"
        fail(s, step_def.id, "condition_error", reason, tick, out)
        return None
    if matched:
        detail = {"until": step_def.until, "goto": step_def.on_event}
        record(out, tick, step_def.id, "wait_for_event", "event", detail)
    return matched


__all__ = ["await_event", "run_wait", "until_holds"]
