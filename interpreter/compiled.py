"""A validated plan prepared for fast stepping: lookups, edges, ticks, compiled CEL."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from interpreter.conditions import CompiledBranch, compile_branch
from interpreter.graph import successors
from interpreter.plan import BranchStep, ExecutionPlan, Step, WaitStep

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
            to right, cost-limited on the run's data: README "Conditions") rather than
            the rules runs recorded before them were decided by. Asked only when a
            condition fails under today's rules, the one case where the two can decide
            differently: the workflow answers with ``workflow.patched``, so a recorded
            history replays as it was decided, and a new run records the patch only
            when it matters. Everything else (simulation, replay) uses today's rules.
    """

    step_budget: int = DEFAULT_STEP_BUDGET
    tick_interval_ms: int = DEFAULT_TICK_INTERVAL_MS
    reply_senders: bool = True
    conditions_today: Callable[[], bool] = _today


def seconds_to_ticks(seconds: int, tick_interval_ms: int) -> int:
    """Whole ticks covering ``seconds`` (rounded up: a wait never ends early)."""
    return -(-seconds * 1000 // tick_interval_ms)


@dataclass(frozen=True, slots=True)
class CompiledPlan:
    plan: ExecutionPlan
    content_hash: str
    entry: str
    steps: Mapping[str, Step]
    next: Mapping[str, str | None]
    branches: Mapping[str, CompiledBranch]
    wait_ticks: Mapping[str, int]


def compile_plan(
    plan: ExecutionPlan, tick_interval_ms: int = DEFAULT_TICK_INTERVAL_MS
) -> CompiledPlan:
    """Prepare a plan that has passed ``validate`` for the step machine."""
    edges = successors(plan)
    return CompiledPlan(
        plan=plan,
        content_hash=plan.content_hash,
        entry=plan.steps[0].id,
        steps={s.id: s for s in plan.steps},
        next={k: (v[0] if v else None) for k, v in edges.items()},
        branches={s.id: compile_branch(s) for s in plan.steps if isinstance(s, BranchStep)},
        wait_ticks={
            s.id: seconds_to_ticks(s.duration.total_seconds, tick_interval_ms)
            for s in plan.steps
            if isinstance(s, WaitStep)
        },
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
