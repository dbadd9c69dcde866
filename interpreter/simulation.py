"""Simulation: ``f(plan, contact, events) -> trace``, the engine without the world.

The simulator is the step machine's driver with a logical clock: timers fire
exactly at their tick, events are ingested at their own tick (in order, before a
timer at the same tick fires), every policy check allows and every send is
delivered unless ``results`` says otherwise. The Temporal workflow drives the
same machine with real timers, signals and activities, so a live run and its
simulation take the same path for the same inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import attrgetter
from typing import Any

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
from interpreter.compiled import CompiledPlan, MachineConfig, RunContext, compile_plan
from interpreter.events import Event
from interpreter.machine import advance
from interpreter.plan import ExecutionPlan
from interpreter.registry import ContentRegistry
from interpreter.state import RunState, Status
from interpreter.trace import Trace, TraceEntry
from interpreter.validation import Limits, ensure_valid


def simulate(
    plan: ExecutionPlan | CompiledPlan,
    contact: Mapping[str, Any],
    events: Sequence[Event] = (),
    results: Mapping[str, Mapping[str, Any]] | None = None,
    variables: Mapping[str, Any] | None = None,
    *,
    config: MachineConfig = MachineConfig(),
    registry: ContentRegistry | None = None,
    limits: Limits = Limits(),
    start_tick: int = 0,
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
    """
    # CompiledPlan first: a miss against a pydantic class (ExecutionPlan) costs ~200 ns.
    if isinstance(plan, CompiledPlan):
        compiled = plan
    else:
        compiled = compile_plan(
            ensure_valid(plan, registry=registry, limits=limits), config.tick_interval_ms
        )
    ctx = RunContext(compiled, contact, variables or {}, config)
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
        self.timer: StartTimer | None = None
        self.finished = False

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
                case StartTimer():
                    self.timer = cmd
                case CompleteRun() | FailRun() | CancelRun():
                    self.finished = True
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

    def ingest_until(self, tick: int) -> None:
        while (
            not self.finished
            and self.next_event < len(self.events)
            and self.events[self.next_event].tick <= tick
        ):
            event = self.events[self.next_event]
            self.next_event += 1
            self.feed(EventIngested(max(event.tick, self.state.tick), event))

    def run(self, start_tick: int) -> Trace:
        self.ingest_until(start_tick)
        self.feed(Start(max(start_tick, self.state.tick)))
        while not self.finished and self.timer is not None:
            timer, self.timer = self.timer, None
            self.ingest_until(timer.until_tick)
            if self.finished:
                break
            self.feed(TimerFired(timer.until_tick, timer.timer_id))
        status = self.state.status
        if not self.finished and status not in (Status.FAILED, Status.COMPLETED):
            raise AssertionError(f"simulation stalled in status {status}")  # machine bug
        return Trace(
            status=status.value,
            outcome=self.state.outcome,
            path=tuple(self.path),
            entries=tuple(self.entries),
            tick=self.state.tick,
        )
