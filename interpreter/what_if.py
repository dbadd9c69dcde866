"""What-if: historical runs' events and results played through another plan version.

``what_if`` simulates each recorded run on the other plan with the events it
ingested (at their ticks) and the policy and send results it met, and counts
where the paths diverge, how many sends change and what that costs. Pure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from interpreter.commands import EventIngested, OperatorAction, PolicyDecided, SendCompleted
from interpreter.compiled import CompiledPlan, MachineConfig
from interpreter.events import Event
from interpreter.recorded import SENDS, Entry, detail_of, recorded_inputs
from interpreter.simulation import simulate


@dataclass(frozen=True, slots=True)
class RecordedRun:
    """A historical run: its contact, variables and audit entries."""

    run_id: str
    contact: Mapping[str, Any]
    entries: Sequence[Entry]
    variables: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RunChange:
    """How one run would have gone on the other plan version."""

    run_id: str
    diverged: bool
    first_divergence: str | None
    sends_changed: int
    cost_difference: Decimal

    def as_dict(self) -> dict[str, Any]:
        return {
            "runId": self.run_id,
            "diverged": self.diverged,
            "firstDivergence": self.first_divergence,
            "sendsChanged": self.sends_changed,
            "costDifference": str(self.cost_difference),
        }


@dataclass(frozen=True, slots=True)
class WhatIfReport:
    runs: int
    diverged: int
    sends_changed: int
    cost_difference: Decimal
    changes: tuple[RunChange, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "diverged": self.diverged,
            "sends_changed": self.sends_changed,
            "cost_difference": str(self.cost_difference),
            "divergedRuns": [c.as_dict() for c in self.changes if c.diverged],
        }


def recorded_world(
    entries: Sequence[Entry],
) -> tuple[list[Event], dict[str, dict[str, Any]]]:
    """A run's events and, per step, its first non-default policy or send result.

    This is what ``simulate`` takes: the world as the run met it, without the path.
    A failure an operator retried is not part of that world: the retry's own result
    is what the step finally met (``simulate`` has no operator to retry it).
    """
    events: list[Event] = []
    results: dict[str, dict[str, Any]] = {}
    failed: str | None = None  # the step whose failure an operator may retry next
    for inp in recorded_inputs(entries):
        if isinstance(inp, EventIngested):
            events.append(inp.event)
        elif isinstance(inp, PolicyDecided) and inp.decision != "allow":
            spec = results.setdefault(inp.step_id, {})
            if "policy" not in spec:
                spec.update(policy=inp.decision, reason=inp.reason, untilTick=inp.until_tick)
            failed = inp.step_id if inp.decision == "deny" else failed
        elif isinstance(inp, SendCompleted) and inp.status == "failed":
            results.setdefault(inp.step_id, {}).setdefault("status", "failed")
            results[inp.step_id].setdefault("reason", inp.reason)
            failed = inp.step_id
        elif isinstance(inp, OperatorAction) and inp.action == "retry" and failed is not None:
            results.pop(failed, None)
            failed = None
    return events, results


def _ends(entries: Sequence[Entry]) -> list[str]:
    """How the run ended, in order: a failure an operator retried is not an end."""
    ends: list[str] = []
    for e in entries:
        if e["action"] in ("end", "run"):
            ends.append(str(e["outcome"]))
        elif e["action"] == "retry" and e["outcome"] == "accepted" and ends[-1:] == ["failed"]:
            ends.pop()
    return ends


def _final(entries: Sequence[Entry]) -> bool:
    """Whether the recorded run had ended (an open or failed run's record stops early)."""
    for e in entries:
        action, outcome = e["action"], e["outcome"]
        if action == "end" or (action, outcome) in (("cancel", "accepted"), ("resolve", "end")):
            return True
    return False


def _sends(
    entries: Iterable[tuple[str, str, str, Mapping[str, Any]]],
) -> dict[tuple[str, int], Any]:
    """Delivered sends keyed by (step, send number), with the recorded cost if any.

    A failed attempt sent nothing, so it is not a send that could change.
    """
    out: dict[tuple[str, int], Any] = {}
    counts: Counter[str] = Counter()
    for sid, action, outcome, detail in entries:
        if action in SENDS and outcome == "delivered":
            counts[sid] += 1
            out[(sid, counts[sid])] = (action, detail.get("cost"))
    return out


def _money(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value is not None else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _cost(send: tuple[str, Any], unit_costs: Mapping[str, Decimal]) -> Decimal:
    action, recorded = send
    if recorded is not None:
        return _money(recorded)
    return unit_costs.get(action.removeprefix("send_"), Decimal(0))


def _compare_run(
    run: RecordedRun,
    plan: CompiledPlan,
    config: MachineConfig,
    unit_costs: Mapping[str, Decimal],
) -> RunChange:
    events, results = recorded_world(run.entries)
    trace = simulate(plan, run.contact, events, results, run.variables, config=config)
    simulated = list(trace.entries)
    if not _final(run.entries) and run.entries:
        # The run is still open (or waits for an operator): compare only as far as it got.
        last_tick = max(int(e["tick"]) for e in run.entries)
        simulated = [e for e in simulated if e.tick <= last_tick]
    path_before = [str(e["step_id"]) for e in run.entries if e["action"] == "enter"]
    ends_before = _ends(run.entries)
    path_after = [e.step_id for e in simulated if e.action == "enter"]
    ends_after = [str(e.outcome) for e in simulated if e.action in ("end", "run")]
    first = next(
        (a for a, b in zip(path_before, path_after, strict=False) if a != b),
        None,
    )
    if first is None and len(path_before) != len(path_after):
        longer = path_before if len(path_before) > len(path_after) else path_after
        first = longer[min(len(path_before), len(path_after))]
    diverged = first is not None or ends_before != ends_after
    before = _sends(
        (str(e["step_id"]), str(e["action"]), str(e["outcome"]), detail_of(e)) for e in run.entries
    )
    after = _sends((e.step_id, e.action, e.outcome, e.detail) for e in simulated)
    changed = len(set(before) ^ set(after))
    cost_before = sum((_cost(v, unit_costs) for v in before.values()), Decimal(0))
    cost_after = sum((_cost(before.get(k, v), unit_costs) for k, v in after.items()), Decimal(0))
    return RunChange(run.run_id, diverged, first, changed, cost_after - cost_before)


def what_if(
    runs: Iterable[RecordedRun],
    plan: CompiledPlan,
    *,
    config: MachineConfig = MachineConfig(),
    unit_costs: Mapping[str, Decimal] | None = None,
) -> WhatIfReport:
    """Run historical runs' events and results through ``plan`` and count the changes.

    Each run is simulated on ``plan`` with the events it ingested (at their ticks)
    and the policy and send results it met; operator actions are not replayed (a
    counterfactual run has no operator). A send the run never made is costed at
    ``unit_costs[channel]`` (default 0); a recorded send keeps its recorded cost.
    """
    costs = unit_costs or {}
    changes = tuple(_compare_run(run, plan, config, costs) for run in runs)
    return WhatIfReport(
        runs=len(changes),
        diverged=sum(c.diverged for c in changes),
        sends_changed=sum(c.sends_changed for c in changes),
        cost_difference=sum((c.cost_difference for c in changes), Decimal(0)),
        changes=changes,
    )
