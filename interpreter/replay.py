"""DEE replay: re-run the step machine on a run's recorded inputs and report per-step diffs.

A run's audit chain holds every input the machine consumed (the start, each
ingested event, policy decision, send result, fired timer and operator action)
as the first entry that input produced. ``recorded_inputs`` rebuilds those
inputs; ``replay`` feeds them to the machine for a plan (the run's own, or
another version) and compares the replayed trace with the recorded one, step
visit by step visit, and recomputes every recorded hash. ``what_if`` runs many
recorded runs' events and results through another plan version and counts what
would change. Pure: no clock, no I/O, no Temporal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from interpreter.chain import GENESIS_HASH, HASHED_FIELDS, entry_hash
from interpreter.commands import (
    EventIngested,
    Input,
    OperatorAction,
    PolicyDecided,
    Record,
    SendCompleted,
    Start,
    TimerFired,
)
from interpreter.compiled import CompiledPlan, MachineConfig, RunContext
from interpreter.errors import MachineError
from interpreter.events import Event
from interpreter.machine import step
from interpreter.simulation import simulate
from interpreter.state import RunState
from interpreter.trace import RUN_SCOPE, TraceEntry

Entry = Mapping[str, Any]
"""A recorded audit entry in the export layout (``ChainedEntry.as_dict()``)."""

_SENDS = ("send_email", "send_voice")
_OPERATOR = ("pause", "resume", "cancel")
_PLAN_KEYS = ("planId", "planVersion", "planHash")


@dataclass(frozen=True, slots=True)
class Diff:
    """One difference: ``field`` of ``step`` was ``expected`` (recorded), is ``actual``."""

    step: str
    field: str
    expected: Any
    actual: Any

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "field": self.field,
            "expected": self.expected,
            "actual": self.actual,
        }


@dataclass(frozen=True, slots=True)
class StepComparison:
    """One step visit as recorded and as replayed (``None``: that side never visited it).

    A StepResult is ``{visit, tick, action, outcome, detail, entries}``: the visit
    number, the visit's last decision (events aside: its tick, action, outcome and
    detail) and all of the visit's entries. ``@run`` is the run-level entries (start, run events,
    operator actions, failure). A diff's ``field`` is ``<action>.<attribute>``
    (``send_email.outcome``, ``wait.detail.untilTick``, ``evaluate.hash``), ``visit``
    for a visit only one side made, or ``input`` for a recorded input the replay
    refused.
    """

    id: str
    original: dict[str, Any] | None
    replayed: dict[str, Any] | None
    identical: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "originalResult": self.original,
            "replayedResult": self.replayed,
            "identical": self.identical,
        }


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """The API reference's ``ReplayResult``: ``as_dict()`` is its exact JSON shape."""

    identical: bool
    steps: tuple[StepComparison, ...]
    diffs: tuple[Diff, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "identical": self.identical,
            "steps": [s.as_dict() for s in self.steps],
            "diffs": [d.as_dict() for d in self.diffs],
        }


# --- recorded inputs ---------------------------------------------------------


def _detail(entry: Entry) -> dict[str, Any]:
    detail = entry.get("detail") or {}
    return dict(detail) if isinstance(detail, Mapping) else {}


def _input_of(entry: Entry) -> Input | None:
    """The input whose first record is ``entry``; ``None`` for a derived entry."""
    tick, step_id = int(entry["tick"]), str(entry["step_id"])
    action, outcome, detail = str(entry["action"]), str(entry["outcome"]), _detail(entry)
    late = bool(detail.pop("afterCancel", False))
    if action == "start":
        return Start(tick)
    if action == "event":
        scope = None if step_id == RUN_SCOPE else step_id
        data = detail.get("data") or {}
        event = Event(str(detail.get("type", "")), tick, detail.get("id"), scope, dict(data))
        return EventIngested(tick, event)
    if action == "policy_check":
        decision = {"allowed": "allow", "deferred": "defer", "denied": "deny"}.get(outcome, outcome)
        if decision not in ("allow", "defer", "deny"):
            return None
        policy, reason, until = detail.pop("policy", None), detail.pop("reason", None), None
        if decision == "defer":
            until = detail.pop("untilTick", None)
        return PolicyDecided(tick, step_id, decision, policy, reason, until, detail)  # type: ignore[arg-type]
    if action in _SENDS and outcome in ("delivered", "failed"):
        reason = detail.pop("reason", None) if outcome == "failed" or late else None
        return SendCompleted(tick, step_id, outcome, reason, detail)  # type: ignore[arg-type]
    if action in ("wait", "defer") and outcome == "completed":
        return TimerFired(tick, "")  # the id is the replayed run's pending timer
    by, why = str(detail.get("by", "")), str(detail.get("reason", ""))
    if action in _OPERATOR and outcome == "accepted":
        return OperatorAction(tick, action, by, why)  # type: ignore[arg-type]
    if action == "retry" and outcome == "accepted":
        return OperatorAction(tick, "retry", by, why)
    if action == "resolve" and outcome == "skip":
        return OperatorAction(tick, "resolve", by, why, "skip", detail.get("to"))
    if action == "resolve" and outcome == "end":
        return OperatorAction(tick, "resolve", by, why, "end", detail.get("outcome"))
    return None


def recorded_inputs(entries: Sequence[Entry]) -> list[Input]:
    """The machine inputs a run consumed, in order, rebuilt from its audit entries."""
    return [inp for inp in map(_input_of, entries) if inp is not None]


def _rerun(
    ctx: RunContext, inputs: Sequence[Input], state: RunState
) -> tuple[list[TraceEntry], list[Diff]]:
    """Feed ``inputs`` to the machine; an input it refuses is a diff, then skipped."""
    out: list[TraceEntry] = []
    refused: list[Diff] = []
    for recorded in inputs:
        inp = recorded
        if isinstance(recorded, TimerFired):
            if state.timer is None or state.phase != "timer":
                refused.append(Diff(_scope(inp, state), "input", "timer fired", "no timer"))
                continue
            inp = TimerFired(recorded.tick, state.timer.timer_id)
        try:
            state, commands = step(ctx, state, inp)
        except MachineError as err:
            refused.append(Diff(_scope(inp, state), "input", type(inp).__name__, str(err)))
            continue
        out.extend(c.entry for c in commands if type(c) is Record)
    return out, refused


def _scope(inp: Input, state: RunState) -> str:
    if isinstance(inp, PolicyDecided | SendCompleted):
        return inp.step_id
    return state.step_id or RUN_SCOPE


# --- comparing -----------------------------------------------------------------


def _norm(tick: int, action: str, outcome: str, detail: Mapping[str, Any]) -> dict[str, Any]:
    return {"tick": tick, "action": action, "outcome": outcome, "detail": dict(detail)}


def _visits(entries: Iterable[dict[str, Any]]) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """Entries grouped by step visit, in order of first appearance; ``@run`` is one group."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    seen: Counter[str] = Counter()
    for e in entries:
        sid = e["stepId"]
        if e["action"] == "enter":
            seen[sid] += 1
        groups.setdefault((sid, 0 if sid == RUN_SCOPE else seen[sid]), []).append(e)
    return groups


def _result(visit: int, group: list[dict[str, Any]]) -> dict[str, Any]:
    last = next((e for e in reversed(group) if e["action"] != "event"), group[-1])
    entries = [{k: v for k, v in e.items() if k != "stepId"} for e in group]
    return {
        "visit": visit,
        "tick": last["tick"],
        "action": last["action"],
        "outcome": last["outcome"],
        "detail": last["detail"],
        "entries": entries,
    }


def _entry_diffs(sid: str, orig: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[Diff]:
    diffs: list[Diff] = []
    for i in range(max(len(orig), len(new))):
        o = orig[i] if i < len(orig) else None
        r = new[i] if i < len(new) else None
        if o is None or r is None or o["action"] != r["action"]:
            diffs.append(Diff(sid, "action", o and o["action"], r and r["action"]))
            break  # the visits went different ways: the rest of it is not comparable
        act = o["action"]
        for key in ("tick", "outcome"):
            if o[key] != r[key]:
                diffs.append(Diff(sid, f"{act}.{key}", o[key], r[key]))
        for key in sorted(set(o["detail"]) | set(r["detail"])):
            ov, rv = o["detail"].get(key), r["detail"].get(key)
            if ov != rv:
                diffs.append(Diff(sid, f"{act}.detail.{key}", ov, rv))
    return diffs


def _hash_diffs(entries: Sequence[Entry]) -> dict[tuple[str, int], list[Diff]]:
    """Recompute every recorded hash and link; a tampered row is a diff at its step."""
    out: dict[tuple[str, int], list[Diff]] = {}
    seen: Counter[str] = Counter()
    prev: str | None = None
    for e in entries:
        sid, action = str(e.get("step_id")), str(e.get("action"))
        seen[sid] += action == "enter"
        key = (sid, 0 if sid == RUN_SCOPE else seen[sid])
        if prev is None and e.get("seq") == 1:
            prev = GENESIS_HASH
        if prev is not None and e.get("prev_hash") != prev:
            diff = Diff(sid, f"{action}.prev_hash", prev, e.get("prev_hash"))
            out.setdefault(key, []).append(diff)
        try:
            recomputed = entry_hash(**{name: e[name] for name in HASHED_FIELDS})
        except (KeyError, TypeError):
            recomputed = None
        if e.get("hash") != recomputed:
            diff = Diff(sid, f"{action}.hash", e.get("hash"), recomputed)
            out.setdefault(key, []).append(diff)
        prev = str(e.get("hash"))
    return out


def _without_plan(e: dict[str, Any]) -> dict[str, Any]:
    if e["action"] != "start":
        return e
    detail = {k: v for k, v in e["detail"].items() if k not in _PLAN_KEYS}
    return {**e, "detail": detail}


def replay(
    plan: CompiledPlan,
    entries: Sequence[Entry],
    contact: Mapping[str, Any],
    variables: Mapping[str, Any] | None = None,
    *,
    config: MachineConfig = MachineConfig(),
    compare_plan: bool = True,
    state: RunState | None = None,
) -> ReplayResult:
    """Replay a recorded run on ``plan`` and compare, step visit by step visit.

    Args:
        plan: The plan to replay on: the run's own snapshot, or another version.
        entries: The run's audit entries in seq order (the export layout).
        contact: The run's contact; ``variables`` its variables.
        compare_plan: ``False`` for a what-if on another plan version: the start
            entry's plan id, version and hash are then expected to differ.
        state: Where the entries start from, for a run that continued as new
            (``entries`` are then the entries recorded after that state).
    """
    ctx = RunContext(plan, contact, variables or {}, config)
    replayed, refused = _rerun(ctx, recorded_inputs(entries), state or RunState())
    recorded = [
        {
            "stepId": str(e["step_id"]),
            **_norm(int(e["tick"]), e["action"], e["outcome"], _detail(e)),
        }
        for e in entries
    ]
    rerun = [
        {"stepId": e.step_id, **_norm(e.tick, e.action, e.outcome, e.detail)} for e in replayed
    ]
    if not compare_plan:
        recorded, rerun = [_without_plan(e) for e in recorded], [_without_plan(e) for e in rerun]
    orig, new = _visits(recorded), _visits(rerun)
    hashes = _hash_diffs(entries)
    steps: list[StepComparison] = []
    diffs: list[Diff] = []
    for key in [*orig, *(k for k in new if k not in orig)]:
        sid, visit = key
        o, r = orig.get(key), new.get(key)
        found = hashes.get(key, [])
        if o is None or r is None:
            missing = Diff(sid, "visit", None if o is None else visit, None if r is None else visit)
            found = [missing, *found]
        else:
            found = [*_entry_diffs(sid, o, r), *found]
        found += [d for d in refused if d.step == sid and key == _last_visit(sid, orig, new)]
        original = None if o is None else _result(visit, o)
        replayed_result = None if r is None else _result(visit, r)
        steps.append(StepComparison(sid, original, replayed_result, not found))
        diffs.extend(found)
    placed = {id(d) for d in diffs}
    diffs.extend(d for d in refused if id(d) not in placed)
    return ReplayResult(not diffs, tuple(steps), tuple(diffs))


def _last_visit(sid: str, *groups: Mapping[tuple[str, int], object]) -> tuple[str, int]:
    return max((k for g in groups for k in g if k[0] == sid), key=lambda k: k[1], default=(sid, 0))


# --- what-if ----------------------------------------------------------------


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
    """
    events: list[Event] = []
    results: dict[str, dict[str, Any]] = {}
    for inp in recorded_inputs(entries):
        if isinstance(inp, EventIngested):
            events.append(inp.event)
        elif isinstance(inp, PolicyDecided) and inp.decision != "allow":
            spec = results.setdefault(inp.step_id, {})
            if "policy" not in spec:
                spec.update(policy=inp.decision, reason=inp.reason, untilTick=inp.until_tick)
        elif isinstance(inp, SendCompleted) and inp.status == "failed":
            results.setdefault(inp.step_id, {}).setdefault("status", "failed")
            results[inp.step_id].setdefault("reason", inp.reason)
    return events, results


def _sends(entries: Iterable[tuple[str, str, Mapping[str, Any]]]) -> dict[tuple[str, int], Any]:
    """Send attempts keyed by (step, attempt number), with the recorded cost if any."""
    out: dict[tuple[str, int], Any] = {}
    counts: Counter[str] = Counter()
    for sid, action, detail in entries:
        if action in _SENDS:
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
    path_before = [str(e["step_id"]) for e in run.entries if e["action"] == "enter"]
    ends_before = [str(e["outcome"]) for e in run.entries if e["action"] in ("end", "run")]
    path_after = list(trace.path)
    ends_after = [e.outcome for e in trace.entries if e.action in ("end", "run")]
    first = next(
        (a for a, b in zip(path_before, path_after, strict=False) if a != b),
        None,
    )
    if first is None and len(path_before) != len(path_after):
        longer = path_before if len(path_before) > len(path_after) else path_after
        first = longer[min(len(path_before), len(path_after))]
    diverged = first is not None or ends_before != ends_after
    before = _sends((str(e["step_id"]), str(e["action"]), _detail(e)) for e in run.entries)
    after = _sends((e.step_id, e.action, e.detail) for e in trace.entries)
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
