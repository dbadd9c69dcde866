"""DEE replay: re-run the step machine on a run's recorded inputs and report per-step diffs.

A run's audit chain holds every input the machine consumed (the start, each
ingested event, policy decision, send result, fired timer and operator action)
as the first entry that input produced. ``inputs_from_audit`` rebuilds those
inputs; ``replay`` feeds them to the machine for a plan (the run's own, or
another version) and compares the replayed trace with the recorded one, step
visit by step visit, and recomputes every recorded hash. ``compare_entries``
compares two chains the same way (the workflow code's re-execution against the
record). ``what_if`` (in ``interpreter.what_if``, re-exported here) runs recorded
runs through another plan version. Pure: no clock, no I/O, no Temporal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from interpreter.audit_inputs import (
    Entry,
    clock_from_audit,
    detail_of,
    inputs_from_audit,
    tzdata_from_audit,
)
from interpreter.cel_branch import on_google_cel, recorded_cel
from interpreter.chain import GENESIS_HASH, HASHED_FIELDS, entry_hash
from interpreter.commands import Input, PolicyDecided, SendCompleted, TimerFired
from interpreter.compiled import CompiledPlan, MachineConfig, RunContext
from interpreter.errors import MachineError
from interpreter.local_time import TZDATA_VERSION, Clock
from interpreter.machine import step
from interpreter.state import RunState
from interpreter.trace import RUN_SCOPE, TraceEntry
from interpreter.what_if import (
    RecordedRun,
    RunChange,
    SendAt,
    WhatIfReport,
    compiled_for,
    what_if,
    world_from_audit,
)

_PLAN_KEYS = ("planId", "planVersion", "planHash")


@dataclass(frozen=True, slots=True)
class Diff:
    """One difference: ``field`` of ``step`` was ``expected`` (recorded), is ``actual``.

    ``cause``: what is known to explain it, when something is (a local-time decision
    replayed under another tz database version than the run recorded).
    """

    step: str
    field: str
    expected: Any
    actual: Any
    cause: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out = {
            "step": self.step,
            "field": self.field,
            "expected": self.expected,
            "actual": self.actual,
        }
        if self.cause is not None:
            out["cause"] = self.cause
        return out


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
    """The API reference's ``ReplayResult``: ``as_dict()`` is its exact JSON shape, plus
    ``notes`` when there are any (what the reader must know to trust the comparison: a
    replay under another tz database version than the run recorded)."""

    identical: bool
    steps: tuple[StepComparison, ...]
    diffs: tuple[Diff, ...]
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "identical": self.identical,
            "steps": [s.as_dict() for s in self.steps],
            "diffs": [d.as_dict() for d in self.diffs],
        }
        if self.notes:
            out["notes"] = list(self.notes)
        return out


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
        out.extend(c for c in commands if isinstance(c, TraceEntry))
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
    config: MachineConfig | None = None,
    compare_plan: bool = True,
    state: RunState | None = None,
    clock: Clock | None = None,
) -> ReplayResult:
    """Replay a recorded run on ``plan`` and compare, step visit by step visit.

    Args:
        plan: The plan to replay on: the run's own plan snapshot, or another version.
        entries: The run's audit entries in seq order (the export layout).
        contact: The run's contact; ``variables`` its variables.
        config: The run's limits and tick; by default those of ``MachineConfig`` on the
            CEL implementation the start entry records (``cel_branch.recorded_cel``).
        compare_plan: ``False`` for a what-if on another plan version: the start
            entry's plan id, version and hash are then expected to differ.
        state: Where the entries start from, for a run that continued as new
            (``entries`` are then the entries recorded after that state).
        clock: The run's origin; by default the one its start entry records (a run
            whose plan uses local times records it there).
    """
    if config is None:  # the evaluator the run's start entry records
        config = MachineConfig(google_cel=on_google_cel(recorded_cel(entries)))
        plan = compiled_for(plan, config) or plan
    clock = clock or clock_from_audit(entries, config.tick_interval_ms)
    ctx = RunContext(plan, contact, variables or {}, config, clock)
    replayed, refused = _rerun(ctx, inputs_from_audit(entries), state or RunState())
    recorded = [
        {
            "stepId": str(e["step_id"]),
            **_norm(int(e["tick"]), e["action"], e["outcome"], detail_of(e)),
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
    recorded_rules = tzdata_from_audit(entries)
    other_rules = None
    notes: tuple[str, ...] = ()
    if recorded_rules is not None and recorded_rules != TZDATA_VERSION:
        other_rules = f"recorded under tzdata {recorded_rules}, replayed under {TZDATA_VERSION}"
        notes = (
            f"the run was {other_rules}: a local time (a wait until a time, a send window) "
            "may fall differently where the two versions' rules for its time zone differ",
        )
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
        if other_rules is not None:
            found = _under_other_rules(found, other_rules, [*(o or ()), *(r or ())])
        original = None if o is None else _result(visit, o)
        replayed_result = None if r is None else _result(visit, r)
        steps.append(StepComparison(sid, original, replayed_result, not found))
        diffs.extend(found)
    placed = {id(d) for d in diffs}
    diffs.extend(d for d in refused if id(d) not in placed)
    return ReplayResult(not diffs, tuple(steps), tuple(diffs), notes)


# A visit's entries that decided a local time: a wait until a time, a send window.
_LOCAL_TIME_ACTIONS = ("wait", "window")


def _under_other_rules(
    found: list[Diff], cause: str, entries: Sequence[dict[str, Any]]
) -> list[Diff]:
    """Diffs of a visit replayed under another tz database version than recorded.

    The start entry's own ``tzdata`` differing is that fact, said in the result's
    notes, not a divergence; a diff in a visit that decided a local time names it.
    """
    kept = [d for d in found if d.field != "start.detail.tzdata"]
    local = any(e["action"] in _LOCAL_TIME_ACTIONS and "timezone" in e["detail"] for e in entries)
    if not local:
        return kept
    return [Diff(d.step, d.field, d.expected, d.actual, cause) for d in kept]


def _last_visit(sid: str, *groups: Mapping[tuple[str, int], object]) -> tuple[str, int]:
    return max((k for g in groups for k in g if k[0] == sid), key=lambda k: k[1], default=(sid, 0))


def compare_entries(
    recorded: Sequence[Entry], actual: Sequence[Entry], *, label: str = ""
) -> ReplayResult:
    """Compare two audit chains of one run, step visit by step visit.

    Used for the workflow code's re-execution: ``actual`` is what the code computed
    again, ``recorded`` what the run recorded. ``label`` prefixes every diff's field
    (``workflow.`` says the divergence is in the workflow, not the interpreter).
    """

    def norm(entries: Sequence[Entry]) -> list[dict[str, Any]]:
        return [
            {
                "stepId": str(e["step_id"]),
                **_norm(int(e["tick"]), e["action"], e["outcome"], detail_of(e)),
                "hash": e.get("hash"),
            }
            for e in entries
        ]

    orig, new = _visits(norm(recorded)), _visits(norm(actual))
    steps: list[StepComparison] = []
    diffs: list[Diff] = []
    for key in [*orig, *(k for k in new if k not in orig)]:
        sid, visit = key
        o, r = orig.get(key), new.get(key)
        if o is None or r is None:
            found = [Diff(sid, "visit", None if o is None else visit, None if r is None else visit)]
        else:
            found = _entry_diffs(sid, o, r)
            if not found and [e["hash"] for e in o] != [e["hash"] for e in r]:
                found = [Diff(sid, "hash", o[-1]["hash"], r[-1]["hash"])]
        found = [Diff(d.step, f"{label}{d.field}", d.expected, d.actual) for d in found]
        original = None if o is None else _result(visit, _unhashed(o))
        replayed = None if r is None else _result(visit, _unhashed(r))
        steps.append(StepComparison(sid, original, replayed, not found))
        diffs.extend(found)
    return ReplayResult(not diffs, tuple(steps), tuple(diffs))


def _unhashed(group: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k != "hash"} for e in group]


__all__ = [
    "Diff",
    "Entry",
    "RecordedRun",
    "ReplayResult",
    "RunChange",
    "SendAt",
    "StepComparison",
    "WhatIfReport",
    "compare_entries",
    "inputs_from_audit",
    "replay",
    "what_if",
    "world_from_audit",
]
