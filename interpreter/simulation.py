"""Simulation: ``f(plan, contact, events) -> trace``, the engine without the world.

The simulator is the step machine's driver with a logical clock: timers fire
exactly at their tick, events are ingested at their own tick (in order, before a
timer at the same tick fires), every policy check allows and every send is
delivered unless ``results`` says otherwise. Tick ``start_tick`` is the instant
``start_at`` (epoch milliseconds; ``DEFAULT_START_AT_MS`` unless given), which is
what local times (waits until a time, send windows) are computed from. The Temporal
workflow drives the same machine with real timers, signals and activities, so a live run and its
simulation take the same path for the same inputs.

Conditions evaluate on Google's CEL unless ``config`` says otherwise (``SIMULATED``: as
a new run does since issue 23); ``MachineConfig(google_cel=False)`` simulates a run
recorded on the old evaluator (what-if of old runs), its plan validated by that
evaluator's checker too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from operator import attrgetter
from typing import Any, assert_never

from interpreter.commands import (
    CancelRun,
    CheckPolicy,
    CompleteRun,
    EventIngested,
    FailRun,
    Input,
    PolicyDecided,
    SendCompleted,
    SendEmail,
    SendVoice,
    Start,
    StartTimer,
    TimerFired,
)
from interpreter.compiled import (
    DEFAULT_START_AT_MS,
    CompiledPlan,
    MachineConfig,
    RunContext,
    compile_plan,
)
from interpreter.events import Event
from interpreter.local_time import Clock
from interpreter.machine import advance
from interpreter.plan import ExecutionPlan
from interpreter.registry import ContentRegistry
from interpreter.state import FINAL_STATUSES, RunState, Status
from interpreter.trace import Trace, TraceEntry
from interpreter.validation import Limits, ensure_valid

# What ``simulate`` runs with unless told otherwise: a new run's evaluator.
SIMULATED = MachineConfig(google_cel=True)


def simulate(
    plan: ExecutionPlan | CompiledPlan,
    contact: Mapping[str, Any],
    events: Sequence[Event] = (),
    results: Mapping[str, Mapping[str, Any]] | None = None,
    variables: Mapping[str, Any] | None = None,
    *,
    config: MachineConfig = SIMULATED,
    registry: ContentRegistry | None = None,
    limits: Limits = Limits(),
    start_tick: int = 0,
    start_at: int = DEFAULT_START_AT_MS,
) -> Trace:
    """Run ``plan`` for ``contact`` on the logical clock and return its trace.

    Args:
        plan: A plan (validated here; raises ``PlanError``) or an already compiled one.
        contact: The contact's fields (``contact.*`` in conditions).
        events: External events, each ingested at its ``tick``.
        results: Per step id, ``{"status": "failed", "reason": ...}`` for a failed
            send, ``{"policy": "deny"|"defer", "reason": ..., "untilTick": T}`` for a
            policy outcome (a deferral allows from ``untilTick`` on).
        variables: The run's variables (``vars.*``).
        start_at: The instant of ``start_tick``, in epoch milliseconds.
    """
    # CompiledPlan first: a miss against a pydantic class (ExecutionPlan) costs ~200 ns.
    if isinstance(plan, CompiledPlan):
        compiled = plan
    else:
        if config.google_cel != limits.google_cel:
            # Validation follows evaluation: conditions are checked by the evaluator
            # that will run them.
            limits = replace(limits, google_cel=config.google_cel)
        compiled = compile_plan(
            ensure_valid(plan, registry=registry, limits=limits),
            config.tick_interval_ms,
            google_cel=config.google_cel,
        )
    clock = Clock(start_at, start_tick, config.tick_interval_ms)
    ctx = RunContext(compiled, contact, variables or {}, config, clock)
    return _Driver(ctx, sorted(events, key=_tick), results or {}).run(start_tick)


_tick = attrgetter("tick")


class _Driver:
    def __init__(
        self, ctx: RunContext, events: list[Event], results: Mapping[str, Mapping[str, Any]]
    ) -> None:
        self.ctx = ctx
        self.events = events
        self.next_event = 0
        self.results = results
        self.state = RunState()
        self.entries: list[TraceEntry] = []
        self.path: list[str] = []

    def feed(self, inp: Input) -> None:
        """Feed ``inp``, perform what it asks for, then feed the results back."""
        # The driver's state is its own and an error ends the simulation, so the
        # machine may change it in place (no operator actions are fed here).
        tick = inp.tick
        entries, path = self.entries, self.path
        follow_ups: list[Input] = []
        for cmd in advance(self.ctx, self.state, inp):
            if type(cmd) is TraceEntry:  # most commands are entries: keep that path short
                entries.append(cmd)
                if cmd.action == "enter":
                    path.append(cmd.step_id)
                continue
            match cmd:
                case CheckPolicy():
                    follow_ups.append(self.policy(cmd, tick))
                case SendEmail() | SendVoice():
                    follow_ups.append(self.send(cmd.step_id, tick))
                case StartTimer() | CompleteRun() | FailRun() | CancelRun() | TraceEntry():
                    pass  # the state says what the run waits for, or that it ended
                case _:  # a new command: mypy finds this line
                    assert_never(cmd)
        for follow_up in follow_ups:
            self.feed(follow_up)

    def policy(self, cmd: CheckPolicy, tick: int) -> PolicyDecided:
        spec = self.results.get(cmd.step_id)
        if spec is None:
            return PolicyDecided(tick, cmd.step_id, "allow")
        decision = spec.get("policy", "allow")
        reason = spec.get("reason")
        if decision == "deny":
            return PolicyDecided(tick, cmd.step_id, "deny", "simulated", reason or "denied")
        until = spec.get("untilTick")
        if decision == "defer" and isinstance(until, int) and until > tick:
            return PolicyDecided(tick, cmd.step_id, "defer", "simulated", reason, until)
        return PolicyDecided(tick, cmd.step_id, "allow")

    def send(self, step_id: str, tick: int) -> SendCompleted:
        spec = self.results.get(step_id)
        if spec is not None and spec.get("status") == "failed":
            return SendCompleted(tick, step_id, "failed", str(spec.get("reason") or "failed"))
        return SendCompleted(tick, step_id, "delivered")

    def next_event_at(self, tick: int | None) -> Event | None:
        """The next event, when it comes at or before ``tick`` (``None``: any tick)."""
        if self.next_event >= len(self.events):
            return None
        event = self.events[self.next_event]
        return event if tick is None or event.tick <= tick else None

    def ingest(self, event: Event) -> None:
        self.next_event += 1
        self.feed(EventIngested(max(event.tick, self.state.tick), event))

    def run(self, start_tick: int) -> Trace:
        # Events at the start tick come first (a reply there counts before anything is
        # sent). An exit rule may end the run on one of them (or fail it, when its
        # ``when`` fails to evaluate): then it never starts.
        while self.state.phase == "new":
            if (event := self.next_event_at(start_tick)) is None:
                break
            self.ingest(event)
        if self.state.phase == "new":
            self.feed(Start(max(start_tick, self.state.tick)))
        # A failed run waits for an operator, whom a simulation has not: it ends there,
        # unless the plan has exit rules, which later events may still trigger.
        exits = bool(self.ctx.plan.exits)
        while (status := self.state.status) not in FINAL_STATUSES:
            if status is Status.FAILED and not exits:
                break
            timer = self.state.timer if self.state.phase == "timer" else None
            # Events first, one at a time: each may end or move the wait (an exit rule,
            # a waitForEvent), so the timer is looked up again after each.
            event = self.next_event_at(None if timer is None else timer.until_tick)
            if event is not None:
                self.ingest(event)
                continue
            if timer is None:
                break
            self.feed(TimerFired(max(timer.until_tick, self.state.tick), timer.timer_id))
        status = self.state.status
        if status not in (Status.FAILED, Status.COMPLETED, Status.CANCELED):
            raise AssertionError(f"simulation stalled in status {status}")  # machine bug
        return Trace(
            status=status.value,
            outcome=self.state.outcome,
            path=tuple(self.path),
            entries=tuple(self.entries),
            tick=self.state.tick,
        )
