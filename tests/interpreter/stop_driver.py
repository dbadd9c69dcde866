"""A driver for the stop-on-reply tests: the machine fed by Hypothesis, with events
free to arrive while a policy check or a send is in flight (the simulator never does
that: it answers both at once).

Every input and the commands it produced are logged, so a test can ask what the run
did after a given input.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from interpreter import (
    CANONICAL_EVENT_TYPES,
    CheckPolicy,
    Command,
    Event,
    EventIngested,
    ExecutionPlan,
    Input,
    MachineError,
    OperatorAction,
    PolicyDecided,
    RunContext,
    RunState,
    SendCompleted,
    SendEmail,
    SendVoice,
    Start,
    Status,
    TimerFired,
    TraceEntry,
    compile_plan,
    ensure_valid,
    operator_problem,
    parse_plan,
    step,
)
from interpreter.state import FINAL_STATUSES

OPS = "ops@example.com"
RULE_EVENTS = tuple(sorted(CANONICAL_EVENT_TYPES))


def compiled_context(
    document: dict[str, Any], contact: dict[str, Any] | None = None, **kw: Any
) -> RunContext:
    """The run context of a plan document (validated: a bad document fails the test)."""
    plan: ExecutionPlan = ensure_valid(parse_plan(document, source="stop.yaml"))
    return RunContext(compile_plan(plan), contact or {"id": "c-1"}, **kw)


@dataclass
class Step:
    """One input, the state before it, and what the machine answered."""

    inp: Input
    before: RunState
    after: RunState
    commands: list[Command]

    def entries(self, action: str | None = None) -> list[TraceEntry]:
        return [
            c
            for c in self.commands
            if isinstance(c, TraceEntry) and (action is None or c.action == action)
        ]

    @property
    def sends(self) -> list[Command]:
        return [c for c in self.commands if isinstance(c, SendEmail | SendVoice)]


@dataclass
class Run:
    ctx: RunContext
    state: RunState = field(default_factory=RunState)
    log: list[Step] = field(default_factory=list)

    def feed(self, inp: Input) -> Step:
        new, commands = step(self.ctx, self.state, inp)
        done = Step(inp, self.state, new, commands)
        self.log.append(done)
        self.state = new
        return done

    def entries(self) -> list[TraceEntry]:
        return [e for s in self.log for e in s.entries()]


def drive(
    ctx: RunContext,
    events: Sequence[Event],
    data: Any,
    *,
    max_inputs: int = 120,
    operators: bool = False,
) -> Run:
    """Start a run and feed it, in an order Hypothesis picks, the events (by tick), the
    answers to its policy checks and sends, its timers and pauses/resumes.

    A policy check or send stays unanswered until picked, so events can arrive while
    one is in flight. With ``operators`` also cancel, retry and resolve (whichever
    ``operator_problem`` accepts); without, a failed run only takes events.
    """
    run = Run(ctx)
    pending: deque[Event] = deque(sorted(events, key=lambda e: e.tick))
    in_flight: CheckPolicy | SendEmail | SendVoice | None = None
    inp: Input = Start(0)
    for _ in range(max_inputs):
        done = run.feed(inp)
        for cmd in done.commands:
            if isinstance(cmd, CheckPolicy | SendEmail | SendVoice):
                in_flight = cmd
        s = run.state
        if s.status in FINAL_STATUSES:
            break
        options: list[str] = []
        if pending:
            options.append("event")
        if in_flight is not None:
            options.append("answer")
        if s.phase == "timer" and s.timer is not None:
            options.append("timer")
        actions = [OperatorAction(s.tick, "pause", OPS), OperatorAction(s.tick, "resume", OPS)]
        if operators:
            actions += _repairs(ctx, s.tick)
        accepted = [a for a in actions if operator_problem(ctx, s, a) is None]
        options += ["operator"] * bool(accepted)
        if not options:
            break
        choice = data.draw(st.sampled_from(options), label="driver")
        if choice == "operator":
            inp = data.draw(st.sampled_from(accepted), label="operator")
            continue
        if choice == "event":
            ev = pending.popleft()
            inp = EventIngested(max(ev.tick, s.tick), ev)
        elif choice == "answer":
            assert in_flight is not None
            inp = _answer(in_flight, s.tick, data)
            in_flight = None
        elif choice == "timer":
            assert s.timer is not None
            inp = TimerFired(max(s.timer.until_tick, s.tick), s.timer.timer_id)
    return run


def _repairs(ctx: RunContext, tick: int) -> list[OperatorAction]:
    """Cancel, retry and resolve actions an operator might take (some will not apply)."""
    out = [
        OperatorAction(tick, "cancel", OPS),
        OperatorAction(tick, "retry", OPS),
        OperatorAction(tick, "retry", OPS, resolution="resend"),
        OperatorAction(tick, "resolve", OPS, resolution="mark_sent"),
        OperatorAction(tick, "resolve", OPS, resolution="end", target="resolved"),
    ]
    out += [
        OperatorAction(tick, "resolve", OPS, resolution="skip", target=step_id)
        for step_id in sorted(ctx.plan.steps)
    ]
    return out


def _answer(cmd: CheckPolicy | SendEmail | SendVoice, tick: int, data: Any) -> Input:
    if isinstance(cmd, CheckPolicy):
        decision = data.draw(st.sampled_from(("allow", "allow", "allow", "defer", "deny")))
        until = tick + data.draw(st.integers(1, 7200)) if decision == "defer" else None
        return PolicyDecided(tick, cmd.step_id, decision, "test", None, until)
    status = data.draw(st.sampled_from(("delivered", "delivered", "failed", "unknown")))
    return SendCompleted(tick, cmd.step_id, status, None if status == "delivered" else "boom")


def refuses_events(run: Run) -> bool:
    """Whether the run, as it stands, refuses a further event (it must once final)."""
    try:
        step(run.ctx, run.state, EventIngested(run.state.tick, Event("email.replied", 0)))
    except MachineError:
        return True
    return False


def status_of(run: Run) -> Status:
    return run.state.status


def plan_doc(*steps: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A plan document with these steps (linear transitions) and top-level fields."""
    return {
        "id": "stop-test",
        "version": 1,
        "name": "Stop test",
        "metadata": {"createdAt": "2026-01-01T00:00:00Z", "createdBy": "tests"},
        **top,
        "steps": list(steps),
    }


def email(step_id: str, **extra: Any) -> dict[str, Any]:
    return {"type": "sendEmail", "id": step_id, "templateId": "t", "subject": "Hi", **extra}


def voice(step_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "sendVoice",
        "id": step_id,
        "scriptId": "s",
        "callerId": "+15551234567",
        "maxDuration": {"minutes": 2},
        **extra,
    }


def wait(step_id: str, **spec: Any) -> dict[str, Any]:
    return {"type": "wait", "id": step_id, **spec}


def end(step_id: str, outcome: str = "done") -> dict[str, Any]:
    return {"type": "end", "id": step_id, "outcome": outcome}


@st.composite
def exit_rules(draw: st.DrawFn, step_ids: list[str]) -> list[dict[str, Any]]:
    """One to four rules: an event (maybe narrowed to a step), a ``when``, or both."""
    rules = []
    for i in range(draw(st.integers(1, 4))):
        rule: dict[str, Any] = {"outcome": f"exit-{i}"}
        kind = draw(st.sampled_from(("event", "event", "step", "when", "both")))
        if kind != "when":
            rule["event"] = draw(st.sampled_from(RULE_EVENTS))
        if kind == "step":
            rule["step"] = draw(st.sampled_from(step_ids))
        if kind in ("when", "both"):
            target = draw(st.sampled_from(step_ids))
            if draw(st.booleans()):
                seen = draw(st.sampled_from(RULE_EVENTS))
                rule["when"] = f'events.hasEvent("{seen}", "{target}")'
            else:
                rule["when"] = f'run.visits("{target}") >= {draw(st.integers(0, 2))}'
        rules.append(rule)
    return rules


@st.composite
def rule_events(
    draw: st.DrawFn, rules: list[dict[str, Any]], step_ids: list[str], ticks: list[int]
) -> list[Event]:
    """Events some rule is about (so exits happen often), at ticks near the others."""
    out = []
    for _ in range(draw(st.integers(0, 3))):
        rule = draw(st.sampled_from(rules))
        kind = rule.get("event") or draw(st.sampled_from(RULE_EVENTS))
        where = rule.get("step") or draw(st.sampled_from((None, *step_ids)))
        tick = draw(st.sampled_from((0, 1, *ticks))) + draw(st.integers(0, 2))
        out.append(Event(kind, tick, draw(st.sampled_from((None, "ev-1", "ev-9"))), where))
    return out
