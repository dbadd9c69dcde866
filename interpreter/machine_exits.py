"""Events reaching a run: de-duplication, the plan's ``exitOn`` rules, and a
``waitForEvent`` whose ``until`` an event makes true.

An exit ends the run at the event's tick in every status that is not final; a policy
check or send in flight is let finish (``PendingExit``) and the exit applied once its
result is recorded (``finish_exit``, called from ``machine_results``).
"""

from __future__ import annotations

from interpreter.commands import CompleteRun, EventIngested
from interpreter.compiled import RunContext
from interpreter.errors import MachineError
from interpreter.events import Event
from interpreter.exits import ExitRuleError, exit_detail, first_exit
from interpreter.machine_base import Out, fail, record
from interpreter.machine_enter import enter
from interpreter.machine_waits import until_holds
from interpreter.plan import WaitForEventStep
from interpreter.state import FINAL_STATUSES, PendingExit, RunState, Status
from interpreter.trace import RUN_SCOPE

_COMPLETED = Status.COMPLETED


def ingest(ctx: RunContext, s: RunState, inp: EventIngested, out: Out) -> None:
    """Record an event (a duplicate id once only), then apply exit rules and ``waitForEvent``."""
    if s.status in FINAL_STATUSES:
        raise MachineError(f"the run is {s.status.value.lower()}; it takes no more events")
    event = inp.event
    if event.tick != inp.tick:  # the ingestion tick is what conditions compare against
        event = type(event)(event.type, inp.tick, event.id, event.step_id, event.data)
    scope = event.step_id or RUN_SCOPE
    detail: dict[str, object] = {"type": event.type}
    if event.id is not None:
        detail["id"] = event.id
        if event.id in s.event_ids:
            record(out, inp.tick, scope, "event", "duplicate", detail)
            return
        s.event_ids = s.event_ids | {event.id}
    detail["data"] = dict(event.data)
    record(out, inp.tick, scope, "event", "ingested", detail)
    s.events = (*s.events, event)
    if ctx.plan.exits and s.exiting is None and _exit_on(ctx, s, event, inp.tick, out):
        return
    step_def = ctx.plan.steps.get(s.step_id or "")
    if type(step_def) is WaitForEventStep and s.phase == "timer" and s.timer is not None:
        matched = until_holds(ctx, s, step_def, inp.tick, out)
        if matched:
            s.timer = None  # the timeout timer, when it fires, finds nothing to decide
            enter(ctx, s, step_def.on_event, inp.tick, out)


def _exit_on(ctx: RunContext, s: RunState, event: Event, tick: int, out: Out) -> bool:
    """Apply the plan's exit rules to ``event``; whether the run exits (or fails) now or
    once the policy check or send in flight returns.

    The run ends at the event's tick in every status that is not final: a pending wait
    or deferral is dropped, a run held by a pause or failed and waiting for an operator
    ends too. A send in flight cannot be unsent: its result is recorded, then the run
    exits (``PendingExit``).
    """
    try:
        rule = first_exit(ctx, s, event)
    except ExitRuleError as err:
        detail: dict[str, object] = {"rule": err.index, "when": err.when, "error": err.reason}
        detail["event"] = {"type": event.type}
        record(out, tick, RUN_SCOPE, "exit", "error", detail)
        reason = f"exit rule {err.index} ({err.when!r}) failed to evaluate: {err.reason}"
        if s.phase in ("policy", "send"):
            s.exiting = PendingExit(None, reason, detail)
        elif s.status is not Status.FAILED:
            fail(s, s.step_id or RUN_SCOPE, "exit_error", reason, tick, out)
        # A run already FAILED keeps its failure: its kind says what an operator may do
        # (``resolve --mark-sent`` of a send in doubt); the error entry is on record.
        return True
    if rule is None:
        return False
    detail = exit_detail(rule, event)
    if s.phase in ("policy", "send"):
        record(out, tick, RUN_SCOPE, "exit", "pending", {**detail, "inFlight": s.phase})
        s.exiting = PendingExit(rule.rule.outcome, None, detail)
        return True
    record(out, tick, RUN_SCOPE, "exit", rule.rule.outcome, detail)
    complete_exit(s, rule.rule.outcome, out)
    return True


def finish_exit(s: RunState, tick: int, out: Out) -> None:
    """The in-flight result is recorded: apply the exit decided meanwhile."""
    pending = s.exiting
    assert pending is not None
    s.exiting = None
    if pending.outcome is None:
        assert pending.reason is not None
        fail(s, s.step_id or RUN_SCOPE, "exit_error", pending.reason, tick, out)
        return
    record(out, tick, RUN_SCOPE, "exit", pending.outcome, dict(pending.detail))
    complete_exit(s, pending.outcome, out)


def complete_exit(s: RunState, outcome: str, out: Out) -> None:
    """End the run COMPLETED with an exit's outcome, dropping any wait, hold or failure."""
    out.append(CompleteRun(outcome))
    s.status, s.phase, s.outcome = _COMPLETED, "done", outcome
    s.timer, s.held, s.failure, s.paused = None, None, None, False


__all__ = ["complete_exit", "finish_exit", "ingest"]
