"""The step machine: ``step(ctx, state, input) -> (state, commands)``, pure and total.

Every decision is emitted as a ``TraceEntry`` command *before* the command that acts
on it, so a driver that persists records first never performs an unrecorded side
effect. Nothing here reads a clock: time arrives as the ``tick`` of each input.

Internally each call works on one private copy of the state (``s``) and mutates
it; the caller's state object is never touched.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Literal, assert_never

from interpreter.commands import (
    CancelRun,
    CheckPolicy,
    Command,
    CompleteRun,
    EventIngested,
    FailRun,
    Input,
    OperatorAction,
    PolicyDecided,
    SendCompleted,
    SendEmail,
    SendVoice,
    Start,
    StartTimer,
    TimerFired,
)
from interpreter.compiled import CompiledPlan, RunContext, compile_plan
from interpreter.conditions import CompiledCondition, evaluate_branch
from interpreter.errors import ConditionError, MachineError, PlanError
from interpreter.events import Event, EventSnapshot
from interpreter.exits import ExitRuleError, exit_detail, first_exit, holds
from interpreter.loading import parse_plan
from interpreter.local_time import TZDATA_VERSION, utc_iso
from interpreter.plan import (
    BranchStep,
    EndStep,
    SendEmailStep,
    SendVoiceStep,
    WaitForEventStep,
    WaitStep,
)
from interpreter.state import (
    FINAL_STATUSES,
    Failure,
    FailureKind,
    PendingExit,
    PendingTimer,
    RunState,
    Status,
)
from interpreter.timing import LocalTimeError, wait_until, window_deferral
from interpreter.trace import RUN_SCOPE, TraceEntry
from interpreter.validation import ADMISSION, Limits, ensure_valid

Out = list[Command]
SendStep = SendEmailStep | SendVoiceStep
# The statuses the per-step paths set, looked up once: ``Status.X`` goes through the
# enum's metaclass (~90 ns, several times per step).
_RUNNING, _WAITING, _PAUSED = Status.RUNNING, Status.WAITING, Status.PAUSED
_COMPLETED, _CANCELED = Status.COMPLETED, Status.CANCELED


def compiled_snapshot(
    document: Mapping[str, Any], tick_interval_ms: int, *, source: str, limits: Limits = ADMISSION
) -> CompiledPlan:
    """The machine's plan for a run's plan snapshot, compiled once per process.

    Every run of a plan carries the same snapshot, and parsing, hashing and compiling
    it (pydantic, RFC 8785, CEL) was the largest part of a run's own CPU time in the
    worker profile (``bench/profile.py``). The workflow module is re-imported for each
    run by Temporal's sandbox while ``interpreter`` is passed through, so the cache
    lives here. The key is the document's JSON text in its own key order: two
    snapshots with the same text are the same value, and the result is a pure
    function of it, so a hit changes nothing a run decides.

    ``limits``: ``ADMISSION`` (the ceilings every deployment's limits are within), or
    ``LEGACY`` for a run admitted before the issue-18 rules (``workflows.admission``).

    Raises:
        PlanError: the snapshot does not parse or does not validate (named after
            ``source``): a run started straight through Temporal is checked like one
            the engine starts (template ids aside: the worker's registry checks those
            when it renders).
    """
    try:
        text = json.dumps(document, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):  # not plain JSON: parse it the slow way (and fail there)
        plan = ensure_valid(parse_plan(document, source=source), limits=limits)
        return compile_plan(plan, tick_interval_ms)
    try:
        return _compiled(text, tick_interval_ms, limits)
    except PlanError:  # errors are not cached; report them under this run's name
        plan = ensure_valid(parse_plan(document, source=source), limits=limits)
        return compile_plan(plan, tick_interval_ms)


@lru_cache(maxsize=64)
def _compiled(text: str, tick_interval_ms: int, limits: Limits) -> CompiledPlan:
    plan = ensure_valid(parse_plan(json.loads(text), source="plan snapshot"), limits=limits)
    return compile_plan(plan, tick_interval_ms)


def step(ctx: RunContext, state: RunState, inp: Input) -> tuple[RunState, list[Command]]:
    """Advance a run by one input; returns the new state and the commands to perform.

    Raises:
        MachineError: the input is not acceptable in this state (an operator action
            that does not apply, a result for a step the run is not on, time running
            backwards). Nothing changes then.
    """
    if inp.tick < state.tick:
        raise MachineError(f"tick {inp.tick} is before the run's current tick {state.tick}")
    if isinstance(inp, OperatorAction):
        problem = operator_problem(ctx, state, inp)
        if problem is not None:
            raise MachineError(problem)
    s = state.copy()
    return s, advance(ctx, s, inp)


def advance(ctx: RunContext, s: RunState, inp: Input) -> list[Command]:
    """``step`` on a state its caller owns alone: ``s`` is changed in place.

    For a driver that keeps no earlier state (the simulator, which steps tens of
    thousands of runs a second: the copy ``step`` makes was a tenth of its time).
    Operator actions go through ``step``, which checks them first.

    Raises:
        MachineError: as ``step``; ``s`` may then be half changed, so a caller that
            cannot rule that out must use ``step``.
    """
    if inp.tick < s.tick:
        raise MachineError(f"tick {inp.tick} is before the run's current tick {s.tick}")
    out: Out = []
    s.tick = inp.tick
    match inp:  # the commonest inputs first: each case is an isinstance check
        case PolicyDecided():
            _policy_decided(ctx, s, inp, out)
        case SendCompleted():
            _send_completed(ctx, s, inp, out)
        case TimerFired():
            _timer_fired(ctx, s, inp, out)
        case Start():
            _start(ctx, s, inp.tick, out)
        case EventIngested():
            _ingest(ctx, s, inp, out)
        case OperatorAction():
            _operator(ctx, s, inp, out)
        case _:
            assert_never(inp)
    return out


def _record(
    out: Out,
    tick: int,
    step_id: str,
    action: str,
    outcome: str,
    detail: dict[str, object] | None = None,
) -> None:
    out.append(TraceEntry(tick, step_id, action, outcome, {} if detail is None else detail))


def _start(ctx: RunContext, s: RunState, tick: int, out: Out) -> None:
    if s.phase != "new" or s.step_id is not None:
        raise MachineError("the run has already started")
    plan = ctx.plan.plan
    detail: dict[str, object] = {
        "planId": plan.id,
        "planVersion": plan.version,
        "planHash": ctx.plan.content_hash,
        "contactId": str(ctx.contact.get("id", "")),
    }
    if ctx.plan.local_time:  # what a replay needs to compute the same local times
        detail["origin"] = utc_iso(ctx.run_clock().instant(tick))
        detail["tzdata"] = TZDATA_VERSION
    _record(out, tick, RUN_SCOPE, "start", "started", detail)
    if not s.paused:
        s.status = _RUNNING
    _enter(ctx, s, ctx.plan.entry, tick, out)


def _enter(ctx: RunContext, s: RunState, step_id: str | None, tick: int, out: Out) -> None:
    """Enter ``step_id`` (counting the visit) and run it; branches chain on at once."""
    while step_id is not None:
        s.step_id = step_id
        if s.paused:
            _record(out, tick, step_id, "pause", "held", {"before": "enter"})
            s.phase, s.held, s.timer = "held", "enter", None
            return
        s.executed += 1
        if s.executed > ctx.config.step_budget:
            reason = f"step budget of {ctx.config.step_budget} step executions exhausted"
            _fail(s, step_id, "step_budget", reason, tick, out)
            return
        visit = s.visits.get(step_id, 0) + 1
        s.visits = {**s.visits, step_id: visit}
        # The three commonest entries (enter, allowed, delivered) skip _record's call.
        out.append(TraceEntry(tick, step_id, "enter", f"visit:{visit}", {}))
        step_id = _run_step(ctx, s, tick, out)


def _run_step(ctx: RunContext, s: RunState, tick: int, out: Out) -> str | None:
    """Execute the current step; returns the next step when it ends at once (branch)."""
    assert s.step_id is not None
    step_def = ctx.plan.steps[s.step_id]
    # Dispatch on the exact type: ``isinstance`` (and so ``match``) against a pydantic
    # model class that does not match costs ~200 ns, and this runs for every step.
    if type(step_def) is SendEmailStep or type(step_def) is SendVoiceStep:
        _gate(ctx, s, step_def, tick, out)
    elif type(step_def) is WaitStep:
        if step_def.until is None:
            until = tick + ctx.plan.wait_ticks[step_def.id]
            _record(out, tick, step_def.id, "wait", "started", {"untilTick": until})
        else:
            try:
                until, detail = wait_until(ctx, step_def, tick)
            except LocalTimeError as err:
                _record(out, tick, step_def.id, "wait", "error", {"error": str(err)})
                _fail(s, step_def.id, "local_time", str(err), tick, out)
                return None
            _record(out, tick, step_def.id, "wait", "started", detail)
        _start_timer(s, step_def.id, until, "wait", out)
    elif type(step_def) is WaitForEventStep:
        return _await_event(ctx, s, step_def, tick, out)
    elif type(step_def) is BranchStep:
        return _branch(ctx, s, step_def, tick, out)
    elif type(step_def) is EndStep:
        _record(out, tick, step_def.id, "end", step_def.outcome)
        out.append(CompleteRun(step_def.outcome))
        s.status, s.phase, s.outcome = _COMPLETED, "done", step_def.outcome
    else:
        raise AssertionError(f"unknown step type {type(step_def).__name__}")
    return None


def _branch(ctx: RunContext, s: RunState, step_def: BranchStep, tick: int, out: Out) -> str | None:
    """Evaluate a branch; its target, or ``None`` when a condition failed (fail-closed)."""
    try:
        index, cond = _evaluate(ctx, s, step_def)
    except ConditionError as err:
        detail: dict[str, object] = {"condition": err.index, "when": err.when}
        detail["error"] = err.reason
        _record(out, tick, step_def.id, "evaluate", "error", detail)
        _fail(s, step_def.id, "condition_error", str(err), tick, out)
        return None
    detail = {"condition": index, "when": cond.when}
    _record(out, tick, step_def.id, "evaluate", f"branch:{cond.goto}", detail)
    return cond.goto


def _await_event(
    ctx: RunContext, s: RunState, step_def: WaitForEventStep, tick: int, out: Out
) -> str | None:
    """Enter a ``waitForEvent``: ``onEvent`` at once when ``until`` already holds (an
    event ingested before the step counts), otherwise wait for an event or the timeout."""
    matched = _until_holds(ctx, s, step_def, tick, out)
    if matched is None:
        return None  # failed
    if matched:
        return step_def.on_event
    until = tick + ctx.plan.timeout_ticks[step_def.id]
    detail: dict[str, object] = {"untilTick": until, "until": step_def.until}
    _record(out, tick, step_def.id, "wait_for_event", "started", detail)
    _start_timer(s, step_def.id, until, "wait", out)
    return None


def _until_holds(
    ctx: RunContext, s: RunState, step_def: WaitForEventStep, tick: int, out: Out
) -> bool | None:
    """Evaluate a ``waitForEvent``'s ``until``; record a match (``True``) or a failure
    (``None``, the run failed closed as on a branch condition's error)."""
    try:
        matched = holds(ctx, s, ctx.plan.awaits[step_def.id])
    except ConditionError as err:
        detail: dict[str, object] = {"until": step_def.until, "error": err.reason}
        _record(out, tick, step_def.id, "wait_for_event", "error", detail)
        reason = f"step '{step_def.id}': until {step_def.until!r}: {err.reason}"
        _fail(s, step_def.id, "condition_error", reason, tick, out)
        return None
    if matched:
        detail = {"until": step_def.until, "goto": step_def.on_event}
        _record(out, tick, step_def.id, "wait_for_event", "event", detail)
    return matched


def _evaluate(ctx: RunContext, s: RunState, step_def: BranchStep) -> tuple[int, CompiledCondition]:
    """The first condition that holds under today's rules; where those raise, under the
    rules the run was decided by (``MachineConfig.conditions_today``, asked only then)."""
    branch = ctx.plan.branches[step_def.id]
    snapshot = EventSnapshot(s.events, ctx.config.reply_senders)
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


def _start_timer(s: RunState, step_id: str, until: int, purpose: str, out: Out) -> None:
    s.timer_seq += 1
    timer = PendingTimer(f"t{s.timer_seq}", until, "wait" if purpose == "wait" else "defer")
    out.append(StartTimer(timer.timer_id, until, step_id, timer.purpose))
    s.phase, s.timer = "timer", timer
    s.status = _PAUSED if s.paused else _WAITING


def _gate(ctx: RunContext, s: RunState, step_def: SendStep, tick: int, out: Out) -> None:
    """Before the policy gate: a send outside its window waits for the next opening."""
    if step_def.window is not None and _window_closed(ctx, s, step_def, tick, out):
        return
    _check_policy(s, step_def, out)


def _window_closed(ctx: RunContext, s: RunState, step_def: SendStep, tick: int, out: Out) -> bool:
    """Whether the step's window is closed at ``tick``: then a deferral to its next
    opening is recorded and started (or, with no zone for the run, the run failed)."""
    try:
        deferral = window_deferral(ctx, step_def, tick)
    except LocalTimeError as err:
        _record(out, tick, step_def.id, "window", "error", {"error": str(err)})
        _fail(s, step_def.id, "local_time", str(err), tick, out)
        return True
    if deferral is None:
        return False
    until, detail = deferral
    _record(out, tick, step_def.id, "window", "deferred", detail)
    _start_timer(s, step_def.id, until, "defer", out)
    return True


def _check_policy(s: RunState, step_def: SendStep, out: Out) -> None:
    channel: Literal["email", "voice"] = "email" if type(step_def) is SendEmailStep else "voice"
    out.append(CheckPolicy(step_def.id, s.visit(step_def.id), channel))
    s.phase, s.held, s.timer = "policy", None, None
    s.status = _PAUSED if s.paused else _RUNNING


def _send_command(s: RunState, step_def: SendStep) -> Command:
    visit = s.visit(step_def.id)
    if type(step_def) is SendEmailStep:
        return SendEmail(
            step_def.id,
            visit,
            step_def.template_id,
            step_def.subject,
            step_def.reply_to,
            step_def.tracking.opens,
            step_def.tracking.clicks,
        )
    assert type(step_def) is SendVoiceStep
    return SendVoice(
        step_def.id,
        visit,
        step_def.script_id,
        step_def.caller_id,
        step_def.max_duration.total_seconds,
        step_def.voicemail.detect,
        step_def.voicemail.message_id,
    )


def _awaited_send(ctx: RunContext, s: RunState, phase: str, step_id: str) -> SendStep:
    if s.phase != phase or s.step_id != step_id:
        raise MachineError(
            f"no {phase} result is awaited for step '{step_id}' "
            f"(the run is at step '{s.step_id}', phase {s.phase})"
        )
    step_def = ctx.plan.steps[step_id]
    assert type(step_def) is SendEmailStep or type(step_def) is SendVoiceStep
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
    _record(out, inp.tick, inp.step_id, action, outcome, detail)
    return True


_SEND_FAILURES = ("send_failed", "send_outcome_unknown")
_POLICY_OUTCOMES = {"allow": "allowed", "defer": "deferred", "deny": "denied"}


def _policy_decided(ctx: RunContext, s: RunState, inp: PolicyDecided, out: Out) -> None:
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
        _record(out, inp.tick, inp.step_id, "policy_check", outcome, {**detail, **until})
        _finish_exit(s, inp.tick, out)
        return
    match inp.decision:
        case "allow":
            out.append(TraceEntry(inp.tick, inp.step_id, "policy_check", "allowed", detail))
            if step_def.window is not None and _window_closed(ctx, s, step_def, inp.tick, out):
                return  # the gate took long enough for the window to close: wait again
            if s.paused:  # hold before the side effect; resume asks the gate afresh
                _record(out, inp.tick, inp.step_id, "pause", "held", {"before": "send"})
                s.phase, s.held = "held", "policy"
                return
            out.append(_send_command(s, step_def))
            s.phase = "send"
        case "defer":
            if inp.until_tick is None or inp.until_tick <= inp.tick:
                raise MachineError(f"a deferral of step '{inp.step_id}' needs a later until_tick")
            detail["untilTick"] = inp.until_tick
            _record(out, inp.tick, inp.step_id, "policy_check", "deferred", detail)
            _start_timer(s, inp.step_id, inp.until_tick, "defer", out)
        case "deny":
            _record(out, inp.tick, inp.step_id, "policy_check", "denied", detail)
            reason = f"policy_denied({inp.policy or 'policy'})"
            if inp.reason:
                reason += f": {inp.reason}"
            if s.exiting is not None:
                _finish_exit(s, inp.tick, out)
                return
            _fail(s, inp.step_id, "policy_denied", reason, inp.tick, out)
        case _:
            assert_never(inp.decision)


def _send_completed(ctx: RunContext, s: RunState, inp: SendCompleted, out: Out) -> None:
    sent = ctx.plan.steps.get(inp.step_id)
    action = "send_email" if type(sent) is SendEmailStep else "send_voice"
    if _late_result(s, inp, action, inp.status, out):
        return
    _awaited_send(ctx, s, "send", inp.step_id)
    detail: dict[str, object] = dict(inp.detail)
    if s.exiting is not None:
        # A send in flight when the contact asked to stop: what it did is recorded (it
        # cannot be unsent), and the run exits instead of going on.
        if inp.status != "delivered":
            detail["reason"] = inp.reason or inp.status
        _record(out, inp.tick, inp.step_id, action, inp.status, detail)
        _finish_exit(s, inp.tick, out)
        return
    if inp.status == "failed":
        reason = inp.reason or "unknown"
        detail["reason"] = reason
        _record(out, inp.tick, inp.step_id, action, "failed", detail)
        _fail(s, inp.step_id, "send_failed", reason, inp.tick, out)
        return
    if inp.status == "unknown":
        # Never "failed": the message may have gone out. The run stops until an operator
        # retries (which asks the provider first) or resolves it.
        reason = f"send_outcome_unknown: {inp.reason or 'no answer about the send'}"
        detail["reason"] = reason
        _record(out, inp.tick, inp.step_id, action, "unknown", detail)
        _fail(s, inp.step_id, "send_outcome_unknown", reason, inp.tick, out)
        return
    out.append(TraceEntry(inp.tick, inp.step_id, action, "delivered", detail))
    _enter(ctx, s, ctx.plan.next[inp.step_id], inp.tick, out)


def _timer_fired(ctx: RunContext, s: RunState, inp: TimerFired, out: Out) -> None:
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
            _record(out, inp.tick, step_id, "wait_for_event", "timeout", goto)
            _enter(ctx, s, waiting.on_timeout, inp.tick, out)
            return
        _record(out, inp.tick, step_id, "wait", "completed")
        _enter(ctx, s, ctx.plan.next[step_id], inp.tick, out)
        return
    _record(out, inp.tick, step_id, "defer", "completed")
    if s.paused:
        _record(out, inp.tick, step_id, "pause", "held", {"before": "policy_check"})
        s.phase, s.held = "held", "policy"
        return
    step_def = ctx.plan.steps[step_id]
    assert type(step_def) is SendEmailStep or type(step_def) is SendVoiceStep
    _gate(ctx, s, step_def, inp.tick, out)


def _ingest(ctx: RunContext, s: RunState, inp: EventIngested, out: Out) -> None:
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
            _record(out, inp.tick, scope, "event", "duplicate", detail)
            return
        s.event_ids = s.event_ids | {event.id}
    detail["data"] = dict(event.data)
    _record(out, inp.tick, scope, "event", "ingested", detail)
    s.events = (*s.events, event)
    if ctx.plan.exits and s.exiting is None and _exit_on(ctx, s, event, inp.tick, out):
        return
    step_def = ctx.plan.steps.get(s.step_id or "")
    if type(step_def) is WaitForEventStep and s.phase == "timer" and s.timer is not None:
        matched = _until_holds(ctx, s, step_def, inp.tick, out)
        if matched:
            s.timer = None  # the timeout timer, when it fires, finds nothing to decide
            _enter(ctx, s, step_def.on_event, inp.tick, out)


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
        _record(out, tick, RUN_SCOPE, "exit", "error", detail)
        reason = f"exit rule {err.index} ({err.when!r}) failed to evaluate: {err.reason}"
        if s.phase in ("policy", "send"):
            s.exiting = PendingExit(None, reason, detail)
        else:
            _fail(s, s.step_id or RUN_SCOPE, "exit_error", reason, tick, out)
        return True
    if rule is None:
        return False
    detail = exit_detail(rule, event)
    if s.phase in ("policy", "send"):
        _record(out, tick, RUN_SCOPE, "exit", "pending", {**detail, "inFlight": s.phase})
        s.exiting = PendingExit(rule.rule.outcome, None, detail)
        return True
    _record(out, tick, RUN_SCOPE, "exit", rule.rule.outcome, detail)
    _complete_exit(s, rule.rule.outcome, out)
    return True


def _finish_exit(s: RunState, tick: int, out: Out) -> None:
    """The in-flight result is recorded: apply the exit decided meanwhile."""
    pending = s.exiting
    assert pending is not None
    s.exiting = None
    if pending.outcome is None:
        assert pending.reason is not None
        _fail(s, s.step_id or RUN_SCOPE, "exit_error", pending.reason, tick, out)
        return
    _record(out, tick, RUN_SCOPE, "exit", pending.outcome, dict(pending.detail))
    _complete_exit(s, pending.outcome, out)


def _complete_exit(s: RunState, outcome: str, out: Out) -> None:
    out.append(CompleteRun(outcome))
    s.status, s.phase, s.outcome = _COMPLETED, "done", outcome
    s.timer, s.held, s.failure, s.paused = None, None, None, False


def _fail(s: RunState, step_id: str, kind: FailureKind, reason: str, tick: int, out: Out) -> None:
    detail: dict[str, object] = {
        "reason": f"step_failed({step_id})",
        "kind": kind,
        "cause": reason,
        "stepId": step_id,
    }
    _record(out, tick, RUN_SCOPE, "run", "failed", detail)
    out.append(FailRun(step_id, reason))
    s.status, s.phase, s.failure = Status.FAILED, "failed", Failure(step_id, kind, reason)
    # A failure supersedes a pause: the run waits for retry/resolve/cancel, and a stale
    # pause flag would let "resume" turn it RUNNING with nothing to run.
    s.timer, s.held, s.paused = None, None, False


def _operator(ctx: RunContext, s: RunState, inp: OperatorAction, out: Out) -> None:
    who: dict[str, object] = {"by": inp.by, "reason": inp.reason}
    tick = inp.tick
    match inp.action:
        case "pause":
            _record(out, tick, RUN_SCOPE, "pause", "accepted", who)
            s.paused, s.status = True, Status.PAUSED
        case "resume":
            _record(out, tick, RUN_SCOPE, "resume", "accepted", who)
            s.paused = False
            if s.phase == "held":
                assert s.step_id is not None
                if s.held == "enter":
                    s.held = None
                    _enter(ctx, s, s.step_id, tick, out)
                    return
                step_def = ctx.plan.steps[s.step_id]
                assert type(step_def) is SendEmailStep or type(step_def) is SendVoiceStep
                _gate(ctx, s, step_def, tick, out)
                return
            s.status = {"timer": Status.WAITING, "new": Status.PENDING}.get(s.phase, Status.RUNNING)
        case "cancel":
            _record(out, tick, RUN_SCOPE, "cancel", "accepted", who)
            out.append(CancelRun(inp.reason))
            s.status, s.phase, s.timer, s.held = Status.CANCELED, "done", None, None
        case "retry":
            assert s.failure is not None
            failed = s.failure
            detail = {**who, "kind": failed.kind}
            if inp.resolution == "resend":
                detail["resend"] = True
            _record(out, tick, failed.step_id, "retry", "accepted", detail)
            s.status, s.failure, s.step_id = Status.RUNNING, None, failed.step_id
            _enter(ctx, s, _run_step(ctx, s, tick, out), tick, out)
        case "resolve":
            assert s.failure is not None
            failed_step = s.failure.step_id
            s.status, s.failure = Status.RUNNING, None
            if inp.resolution == "mark_sent":
                _record(out, tick, failed_step, "resolve", "mark_sent", who)
                _enter(ctx, s, ctx.plan.next[failed_step], tick, out)
                return
            assert inp.target is not None
            if inp.resolution == "skip":
                _record(out, tick, failed_step, "resolve", "skip", {**who, "to": inp.target})
                _enter(ctx, s, inp.target, tick, out)
                return
            _record(out, tick, failed_step, "resolve", "end", {**who, "outcome": inp.target})
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
