"""Where the two CEL evaluators would take a run different ways (issue 23).

Boundary: what-if (``interpreter.what_if``) simulates each recorded run on the plan with
the evaluator its ``MachineConfig`` selects, and again on the other one (DEE's own
checker and the Rust ``cel`` package, or Google's CEL); a condition the two decide
differently (``size("Zoë")``, an overflow, an error one of them raises) shows as the
first entry the two simulations differ at, which what-if reports as a divergence rather
than hiding it behind whichever evaluator is today's default. No I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from interpreter.compiled import CompiledPlan, MachineConfig, compile_plan
from interpreter.errors import InterpreterError
from interpreter.trace import TraceEntry

Row = tuple[int, str, str, str]


def other_evaluator(
    plan: CompiledPlan, config: MachineConfig
) -> tuple[CompiledPlan, MachineConfig] | None:
    """``plan`` compiled for the evaluator ``config`` does not select, with the config
    that selects it; ``None`` when that evaluator cannot read one of the plan's
    conditions (syntax only Google's CEL reads): there is nothing to compare then."""
    google = not config.google_cel
    try:
        other = compile_plan(plan.plan, config.tick_interval_ms, google_cel=google)
    except (InterpreterError, ValueError, RuntimeError):
        return None
    return other, replace(config, google_cel=google)


def rows(entries: Sequence[TraceEntry], last_tick: int | None) -> list[Row]:
    """What a path is compared on: tick, step, action and outcome of each entry (the
    start entry's ``cel`` detail names the evaluator, so details are left out), up to
    ``last_tick`` when given."""
    return [
        (e.tick, e.step_id, e.action, str(e.outcome))
        for e in entries
        if last_tick is None or e.tick <= last_tick
    ]


def first_difference(one: list[Row], other: list[Row]) -> str | None:
    """The step of the first entry ``one`` and ``other`` differ at, or ``None``."""
    for a, b in zip(one, other, strict=False):
        if a != b:
            return a[1]
    if len(one) != len(other):
        longer = one if len(one) > len(other) else other
        return longer[min(len(one), len(other))][1]
    return None
