"""What-if: historical runs' events and results played through another plan version.

``what_if`` simulates each recorded run on the other plan with the events it
ingested (at their ticks) and the policy and send results it met, and counts
where the paths diverge, how many sends change and what that costs, and says how
each run would have ended (an exit rule added: at the reply's tick) and which sends
would not have been made, made anew or made at another tick. Local times are
computed from the run's recorded origin (its start instant) unless another start
instant is given. Pure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from interpreter.audit_inputs import SENDS, Entry, clock_from_audit, detail_of, inputs_from_audit
from interpreter.cel_branch import on_google_cel, recorded_cel
from interpreter.cel_divergence import first_difference, other_evaluator, rows
from interpreter.commands import EventIngested, OperatorAction, PolicyDecided, SendCompleted
from interpreter.compiled import DEFAULT_START_AT_MS, CompiledPlan, MachineConfig, compile_plan
from interpreter.errors import InterpreterError
from interpreter.events import Event
from interpreter.simulation import simulate
from interpreter.trace import closes_run


@dataclass(frozen=True, slots=True)
class RecordedRun:
    """A historical run: its contact, variables and audit entries.

    ``origin_ms``: the instant of the run's start tick (epoch milliseconds), for a run
    whose start entry does not record it (its plan used no local time); the start
    entry's ``origin`` comes first.
    """

    run_id: str
    contact: Mapping[str, Any]
    entries: Sequence[Entry]
    variables: Mapping[str, Any] = field(default_factory=dict)
    origin_ms: int | None = None


@dataclass(frozen=True, slots=True)
class SendAt:
    """A send (the ``number``-th delivered one of ``step``) and the tick it went at."""

    step: str
    number: int
    tick: int

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "number": self.number, "tick": self.tick}


@dataclass(frozen=True, slots=True)
class RunChange:
    """How one run would have gone on the other plan version.

    Attributes:
        diverged: Whether the path or the end differs (a send that only moves to
            another tick is in ``sends_moved``, not a divergence: an operator's retry
            alone moves one).
        first_divergence: The first step the paths differ at.
        outcome_before / outcome_after: How the run ended (``None``: still open).
        ended_at: The tick the re-simulated run ended at (``None``: it did not end
            within the recorded span of a run that is still open).
        sends_dropped: Recorded sends the other plan would not have made.
        sends_added: Sends it would have made that the run did not.
        sends_moved: Sends made on both, at another tick (``tick`` is the new one).
        evaluators_differ_at: The first step where the run goes another way on the
            other CEL evaluator (``cel_divergence``): a condition the two decide
            differently. Counted as a divergence.
    """

    run_id: str
    diverged: bool
    first_divergence: str | None
    sends_changed: int
    cost_difference: Decimal
    outcome_before: str | None = None
    outcome_after: str | None = None
    ended_at: int | None = None
    sends_dropped: tuple[SendAt, ...] = ()
    sends_added: tuple[SendAt, ...] = ()
    sends_moved: tuple[tuple[SendAt, SendAt], ...] = ()
    evaluators_differ_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        split = self.evaluators_differ_at
        return ({"evaluatorsDifferAt": split} if split is not None else {}) | {
            "runId": self.run_id,
            "diverged": self.diverged,
            "firstDivergence": self.first_divergence,
            "sendsChanged": self.sends_changed,
            "costDifference": str(self.cost_difference),
            "outcomeBefore": self.outcome_before,
            "outcomeAfter": self.outcome_after,
            "endedAt": self.ended_at,
            "sendsDropped": [s.as_dict() for s in self.sends_dropped],
            "sendsAdded": [s.as_dict() for s in self.sends_added],
            "sendsMoved": [
                {"step": a.step, "number": a.number, "fromTick": a.tick, "toTick": b.tick}
                for a, b in self.sends_moved
            ],
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


def world_from_audit(
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
    for inp in inputs_from_audit(entries):
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


def _is_exit(action: str, outcome: str) -> bool:
    return action == "exit" and closes_run(action, outcome)


def _ends(entries: Iterable[tuple[str, str]]) -> list[str]:
    """How the run ended, in order: a failure an operator retried is not an end."""
    ends: list[str] = []
    for action, outcome in entries:
        if action in ("end", "run") or _is_exit(action, outcome):
            ends.append(outcome)
        elif action == "retry" and outcome == "accepted" and ends[-1:] == ["failed"]:
            ends.pop()
    return ends


def _final(entries: Sequence[Entry]) -> bool:
    """Whether the recorded run had ended (an open or failed run's record stops early)."""
    return any(closes_run(e["action"], e["outcome"]) for e in entries)


_Row = tuple[int, str, str, str, Mapping[str, Any]]  # tick, step, action, outcome, detail


def _sends(entries: Iterable[_Row]) -> dict[tuple[str, int], tuple[str, Any, int]]:
    """Delivered sends keyed by (step, send number): the action, the recorded cost if
    any, and the tick. A failed attempt sent nothing, so it is not a send that could change.
    """
    out: dict[tuple[str, int], tuple[str, Any, int]] = {}
    counts: Counter[str] = Counter()
    for tick, sid, action, outcome, detail in entries:
        if action in SENDS and outcome == "delivered":
            counts[sid] += 1
            out[(sid, counts[sid])] = (action, detail.get("cost"), tick)
    return out


def _money(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value is not None else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _cost(send: tuple[str, Any, int], unit_costs: Mapping[str, Decimal]) -> Decimal:
    action, recorded, _ = send
    if recorded is not None:
        return _money(recorded)
    return unit_costs.get(action.removeprefix("send_"), Decimal(0))


def _start(run: RecordedRun, config: MachineConfig, start_at: int | None) -> tuple[int, int]:
    """The re-simulation's start tick and its instant: ``start_at`` when given, else the
    origin the run recorded (its start entry's, else ``run.origin_ms``)."""
    start_tick = next((int(e["tick"]) for e in run.entries if e["action"] == "start"), 0)
    if start_at is not None:
        return start_tick, start_at
    clock = clock_from_audit(run.entries, config.tick_interval_ms)
    if clock is not None:
        return start_tick, clock.instant(start_tick)
    return start_tick, DEFAULT_START_AT_MS if run.origin_ms is None else run.origin_ms


def _first_step(path_before: list[str], path_after: list[str]) -> str | None:
    first = next((a for a, b in zip(path_before, path_after, strict=False) if a != b), None)
    if first is None and len(path_before) != len(path_after):
        longer = path_before if len(path_before) > len(path_after) else path_after
        first = longer[min(len(path_before), len(path_after))]
    return first


def _compare_run(
    run: RecordedRun,
    plan: CompiledPlan,
    config: MachineConfig,
    unit_costs: Mapping[str, Decimal],
    start_at: int | None,
    other: tuple[CompiledPlan, MachineConfig] | None = None,
) -> RunChange:
    events, results = world_from_audit(run.entries)
    start_tick, instant = _start(run, config, start_at)
    args = (run.contact, events, results, run.variables)
    trace = simulate(plan, *args, config=config, start_tick=start_tick, start_at=instant)
    simulated = [(e.tick, e.step_id, e.action, e.outcome, e.detail) for e in trace.entries]
    recorded = [
        (int(e["tick"]), str(e["step_id"]), str(e["action"]), str(e["outcome"]), detail_of(e))
        for e in run.entries
    ]
    if not _final(run.entries) and run.entries:
        # The run is still open (or waits for an operator): compare only as far as it got.
        last_tick = max(row[0] for row in recorded)
        simulated = [row for row in simulated if row[0] <= last_tick]
    path_before = [row[1] for row in recorded if row[2] == "enter"]
    path_after = [row[1] for row in simulated if row[2] == "enter"]
    ends_before = _ends((row[2], row[3]) for row in recorded)
    ends_after = _ends((row[2], row[3]) for row in simulated)
    before, after = _sends(recorded), _sends(simulated)
    moved = tuple(
        (SendAt(*key, before[key][2]), SendAt(*key, after[key][2]))
        for key in before
        if key in after and before[key][2] != after[key][2]
    )
    first = _first_step(path_before, path_after)
    split = None
    if other is not None:
        again = simulate(other[0], *args, config=other[1], start_tick=start_tick, start_at=instant)
        last = max(row[0] for row in simulated) if simulated else None
        split = first_difference(rows(trace.entries, last), rows(again.entries, last))
    diverged = first is not None or ends_before != ends_after or split is not None
    cost_before = sum((_cost(v, unit_costs) for v in before.values()), Decimal(0))
    cost_after = sum((_cost(before.get(k, v), unit_costs) for k, v in after.items()), Decimal(0))
    ended = [row[0] for row in simulated if row[2] in ("end", "run") or _is_exit(row[2], row[3])]
    return RunChange(
        run.run_id,
        diverged,
        first,
        len(set(before) ^ set(after)),
        cost_after - cost_before,
        outcome_before=ends_before[-1] if ends_before else None,
        outcome_after=ends_after[-1] if ends_after else None,
        ended_at=ended[-1] if ended else None,
        sends_dropped=tuple(SendAt(*k, v[2]) for k, v in before.items() if k not in after),
        sends_added=tuple(SendAt(*k, v[2]) for k, v in after.items() if k not in before),
        sends_moved=moved,
        evaluators_differ_at=split,
    )


def compiled_for(plan: CompiledPlan, config: MachineConfig) -> CompiledPlan | None:
    """``plan`` compiled for ``config``'s evaluator (a compiled condition evaluates on
    the implementation it was compiled for), or ``None`` when that evaluator cannot read
    it (syntax only Google's CEL reads)."""
    try:
        return compile_plan(plan.plan, config.tick_interval_ms, google_cel=config.google_cel)
    except (InterpreterError, ValueError, RuntimeError):
        return None


class _Evaluators:
    """``plan`` and ``config`` for the CEL implementation each run recorded in its start
    entry (``cel_branch.recorded_cel``), and for the other one, each compiled once.

    A run is simulated on the evaluator that decided it: a what-if asked on the other
    one would report as the plan's change what is the evaluators' difference (which
    ``evaluatorsDifferAt`` reports on its own). A plan that evaluator cannot read
    (syntax only Google's CEL reads) stays on the caller's."""

    def __init__(self, plan: CompiledPlan, config: MachineConfig) -> None:
        self._given = (plan, config)
        self._compiled: dict[bool, tuple[CompiledPlan, MachineConfig] | None] = {
            config.google_cel: self._given
        }
        self._others: dict[bool, tuple[CompiledPlan, MachineConfig] | None] = {}

    def recorded_by(self, run: RecordedRun) -> tuple[CompiledPlan, MachineConfig]:
        google = on_google_cel(recorded_cel(run.entries))
        if google not in self._compiled:
            plan, config = self._given
            config = replace(config, google_cel=google)
            again = compiled_for(plan, config)
            self._compiled[google] = None if again is None else (again, config)
        return self._compiled[google] or self._given

    def other(self, run: RecordedRun) -> tuple[CompiledPlan, MachineConfig] | None:
        plan, config = self.recorded_by(run)
        if config.google_cel not in self._others:
            self._others[config.google_cel] = other_evaluator(plan, config)
        return self._others[config.google_cel]


def what_if(
    runs: Iterable[RecordedRun],
    plan: CompiledPlan,
    *,
    config: MachineConfig = MachineConfig(),
    unit_costs: Mapping[str, Decimal] | None = None,
    start_at: int | None = None,
) -> WhatIfReport:
    """Run historical runs' events and results through ``plan`` and count the changes.

    Each run is simulated on ``plan`` with the events it ingested (at their ticks)
    and the policy and send results it met; operator actions are not replayed (a
    counterfactual run has no operator). A send the run never made is costed at
    ``unit_costs[channel]`` (default 0); a recorded send keeps its recorded cost.
    Local times count from each run's recorded origin, or from ``start_at`` (epoch
    milliseconds: the instant of every run's start tick) when given.
    """
    costs = unit_costs or {}
    evaluators = _Evaluators(plan, config)
    changes = tuple(
        _compare_run(run, *evaluators.recorded_by(run), costs, start_at, evaluators.other(run))
        for run in runs
    )
    return WhatIfReport(
        runs=len(changes),
        diverged=sum(c.diverged for c in changes),
        sends_changed=sum(c.sends_changed for c in changes),
        cost_difference=sum((c.cost_difference for c in changes), Decimal(0)),
        changes=changes,
    )
