"""A validated plan prepared for fast stepping: lookups, edges, ticks, compiled CEL."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from interpreter.conditions import CompiledBranch, compile_branch, compile_test
from interpreter.graph import successors
from interpreter.local_time import Clock
from interpreter.plan import (
    BranchStep,
    ExecutionPlan,
    ExitRule,
    Step,
    WaitForEventStep,
    WaitStep,
    is_send_step,
)

DEFAULT_TICK_INTERVAL_MS = 1000
DEFAULT_STEP_BUDGET = 1000


def _today() -> bool:
    return True


@dataclass(frozen=True, slots=True)
class MachineConfig:
    """Run-level limits and the logical clock's resolution.

    Attributes:
        step_budget: Step executions after which a run that has not ended fails.
        tick_interval_ms: Milliseconds of plan time per tick (1000: a tick is a second).
        reply_senders: Whether ``hasReply`` (and ``hasEvent`` on ``email.replied``)
            skips replies the receiver marked ``fromContact: false``. Off only for
            runs recorded before the check (the workflow decides it by a patch).
        conditions_today: Whether branch conditions follow today's rules (evaluated left
            to right, cost-limited on the run's data: docs/conditions.md) rather than
            the rules runs recorded before them were decided by. Asked only when a
            condition fails under today's rules, the one case where the two can decide
            differently: the workflow answers with ``workflow.patched``, so a recorded
            history replays as it was decided, and a new run records the patch only
            when it matters. Everything else (simulation, replay) uses today's rules.
        google_cel: Whether conditions evaluate on Google's CEL (``cel_branch``) rather
            than the Rust evaluator; the start entry then names its implementation and
            version (``cel``). The workflow sets it from the run's ``RunInput.cel``,
            which a new run gets from the ``conditions-on-google-cel`` patch
            (``workflows.admission``); ``simulate`` defaults to it (docs/conditions.md).
    """

    step_budget: int = DEFAULT_STEP_BUDGET
    tick_interval_ms: int = DEFAULT_TICK_INTERVAL_MS
    reply_senders: bool = True
    conditions_today: Callable[[], bool] = _today
    google_cel: bool = False


def seconds_to_ticks(seconds: int, tick_interval_ms: int) -> int:
    """Whole ticks covering ``seconds`` (rounded up: a wait never ends early)."""
    return -(-seconds * 1000 // tick_interval_ms)


# The instant a simulation starts at unless told otherwise (``simulate``'s
# ``start_at``, ``dee plan simulate --start-at``): fixed, so a simulation of a plan
# that uses local times is reproducible. A Monday, 09:00 UTC.
DEFAULT_START_AT_MS = 1_767_603_600_000  # 2026-01-05T09:00:00Z


@dataclass(frozen=True, slots=True)
class CompiledExit:
    """An ``exitOn`` rule: ``index`` in the plan's list, its ``when`` compiled."""

    index: int
    rule: ExitRule
    test: CompiledBranch | None


@dataclass(frozen=True, slots=True)
class CompiledPlan:
    plan: ExecutionPlan
    content_hash: str
    entry: str
    steps: Mapping[str, Step]
    next: Mapping[str, str | None]
    branches: Mapping[str, CompiledBranch]
    wait_ticks: Mapping[str, int]
    exits: tuple[CompiledExit, ...] = ()
    # ``waitForEvent`` steps: their ``until`` and their timeout in ticks.
    awaits: Mapping[str, CompiledBranch] = field(default_factory=dict)
    timeout_ticks: Mapping[str, int] = field(default_factory=dict)
    # Whether a step waits until a local time or sends in a window: the run's start
    # entry then records the clock's origin and the tz database version.
    local_time: bool = False


def compile_plan(
    plan: ExecutionPlan,
    tick_interval_ms: int = DEFAULT_TICK_INTERVAL_MS,
    *,
    google_cel: bool = False,
) -> CompiledPlan:
    """Prepare a plan that has passed ``validate`` for the step machine (``google_cel``:
    its conditions compiled on the library, for ``MachineConfig.google_cel``)."""
    on = google_cel
    edges = successors(plan)
    local_time = any(
        (isinstance(s, WaitStep) and s.until is not None)
        or (is_send_step(s) and s.window is not None)
        for s in plan.steps
    )
    return CompiledPlan(
        plan=plan,
        content_hash=plan.content_hash,
        entry=plan.steps[0].id,
        steps={s.id: s for s in plan.steps},
        next={k: (v[0] if v else None) for k, v in edges.items()},
        branches={
            s.id: compile_branch(s, google_cel=on) for s in plan.steps if isinstance(s, BranchStep)
        },
        wait_ticks={
            s.id: seconds_to_ticks(s.duration.total_seconds, tick_interval_ms)
            for s in plan.steps
            if isinstance(s, WaitStep) and s.duration is not None
        },
        exits=tuple(
            CompiledExit(
                i,
                rule,
                None
                if rule.when is None
                else compile_test(f"exitOn[{i}]", rule.when, google_cel=on),
            )
            for i, rule in enumerate(plan.exit_rules)
        ),
        awaits={
            s.id: compile_test(s.id, s.until, google_cel=on)
            for s in plan.steps
            if isinstance(s, WaitForEventStep)
        },
        timeout_ticks={
            s.id: seconds_to_ticks(s.timeout.total_seconds, tick_interval_ms)
            for s in plan.steps
            if isinstance(s, WaitForEventStep)
        },
        local_time=local_time,
    )


@dataclass(slots=True)
class RunContext:
    """What stays fixed for the life of a run: plan, contact, variables, limits.

    A value nobody changes once made; not frozen because a frozen dataclass costs
    several times as much to construct, and the simulator makes one per run.
    """

    plan: CompiledPlan
    contact: Mapping[str, Any]
    variables: Mapping[str, Any] = field(default_factory=dict)
    config: MachineConfig = MachineConfig()
    # The run's origin: which instant its start tick is (the workflow's start time, a
    # simulation's ``start_at``, a replay's recorded origin). ``None``: the start tick
    # is taken to be tick 0 at ``DEFAULT_START_AT_MS``. Only local times read it.
    clock: Clock | None = None

    def run_clock(self) -> Clock:
        if self.clock is not None:
            return self.clock
        return Clock(DEFAULT_START_AT_MS, 0, self.config.tick_interval_ms)
