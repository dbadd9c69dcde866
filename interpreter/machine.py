"""The step machine: ``step(ctx, state, input) -> (state, commands)``, pure and total.

Every decision is emitted as a ``TraceEntry`` command *before* the command that acts
on it, so a driver that persists records first never performs an unrecorded side
effect. Nothing here reads a clock: time arrives as the ``tick`` of each input.

Internally each call works on one private copy of the state (``s``) and mutates
it; the caller's state object is never touched.

This module dispatches inputs and starts a run; the paths an input takes live beside
it: ``machine_enter`` (entering and running steps), ``machine_gate`` (a send's window
and policy check), ``machine_waits`` (waits and ``waitForEvent``),
``machine_results`` (policy decisions, send results, timers), ``machine_exits``
(events and ``exitOn``) and ``machine_operator`` (operator actions).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, assert_never

from interpreter.cel_env import CEL_IMPLEMENTATION
from interpreter.commands import (
    Command,
    EventIngested,
    Input,
    OperatorAction,
    PolicyDecided,
    SendCompleted,
    Start,
    TimerFired,
)
from interpreter.compiled import CompiledPlan, RunContext, compile_plan
from interpreter.errors import MachineError, PlanError
from interpreter.loading import parse_plan
from interpreter.local_time import TZDATA_VERSION, utc_iso
from interpreter.machine_base import Out, record
from interpreter.machine_enter import enter
from interpreter.machine_exits import ingest
from interpreter.machine_operator import apply_operator, operator_problem
from interpreter.machine_results import policy_decided, send_completed, timer_fired
from interpreter.state import RunState, Status
from interpreter.trace import RUN_SCOPE
from interpreter.validation import ADMISSION, Limits, ensure_valid

_RUNNING = Status.RUNNING


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
        return compile_plan(plan, tick_interval_ms, google_cel=limits.google_cel)
    try:
        return _compiled(text, tick_interval_ms, limits)
    except PlanError:  # errors are not cached; report them under this run's name
        plan = ensure_valid(parse_plan(document, source=source), limits=limits)
        return compile_plan(plan, tick_interval_ms, google_cel=limits.google_cel)


@lru_cache(maxsize=64)
def _compiled(text: str, tick_interval_ms: int, limits: Limits) -> CompiledPlan:
    plan = ensure_valid(parse_plan(json.loads(text), source="plan snapshot"), limits=limits)
    return compile_plan(plan, tick_interval_ms, google_cel=limits.google_cel)


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
            policy_decided(ctx, s, inp, out)
        case SendCompleted():
            send_completed(ctx, s, inp, out)
        case TimerFired():
            timer_fired(ctx, s, inp, out)
        case Start():
            _start(ctx, s, inp.tick, out)
        case EventIngested():
            ingest(ctx, s, inp, out)
        case OperatorAction():
            apply_operator(ctx, s, inp, out)
        case _:
            assert_never(inp)
    return out


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
    if ctx.config.google_cel:  # which evaluator decided the run's branches
        detail["cel"] = CEL_IMPLEMENTATION
    record(out, tick, RUN_SCOPE, "start", "started", detail)
    if not s.paused:
        s.status = _RUNNING
    enter(ctx, s, ctx.plan.entry, tick, out)


__all__ = ["advance", "compiled_snapshot", "operator_problem", "step"]
