"""What-if replay speed: 10,000 recorded sales runs through a changed plan version.

The recorded runs are generated once with ``simulate`` on the sales plan (a
rotating mix of no event / open / open + reply / reply) and chained into audit
entries, as a run's audit log stores them. The timed part is ``what_if``: rebuild
each run's events and results from its entries, run them through version 2 of
the plan (opens now go to the cold follow-up and the call), and aggregate
``{runs, diverged, sends_changed, cost_difference}``.

    python -m bench.whatif_speed [--rounds 5] [--runs 10000]

Prints the median over rounds and writes ``bench/results/whatif.json``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from bench.results_file import publish
from interpreter import CompiledPlan, Event, chain, compile_plan, ensure_valid, parse_plan, simulate
from interpreter.replay import RecordedRun, WhatIfReport, what_if

ROOT = Path(__file__).resolve().parents[1]
UNIT_COSTS = {"email": Decimal("0.001"), "voice": Decimal("0.05")}


def _plans() -> tuple[CompiledPlan, CompiledPlan]:
    source = ROOT / "plans" / "sales-sequence.yaml"
    doc: dict[str, Any] = yaml.safe_load(source.read_text())
    before = compile_plan(ensure_valid(parse_plan(doc, source=str(source))))
    doc["version"] = 2
    branch = next(s for s in doc["steps"] if s["id"] == "check-response")
    branch["conditions"][1]["goto"] = "cold-follow-up"
    doc["steps"] = [s for s in doc["steps"] if s["id"] != "warm-follow-up"]
    doc["transitions"] = [
        {**t, "to": "cold-follow-up"} if t["to"] == "warm-follow-up" else t
        for t in doc["transitions"]
        if t["from"] != "warm-follow-up"
    ]
    return before, compile_plan(ensure_valid(parse_plan(doc, source="sales-sequence v2")))


def _recorded(plan: CompiledPlan, runs: int) -> list[RecordedRun]:
    out = []
    for i in range(runs):
        kind, events = i % 4, []
        if kind in (1, 2):
            events.append(Event("email.opened", 60 + i % 500, f"o-{i}", "intro-email"))
        if kind in (2, 3):
            events.append(Event("email.replied", 900 + i % 500, f"r-{i}", "intro-email"))
        contact = {"id": f"c-{i}"}
        trace = simulate(plan, contact, events)
        entries = [e.as_dict() for e in chain(f"run-{i}", trace.entries)]
        out.append(RecordedRun(f"run-{i}", contact, entries))
    return out


def _round(runs: list[RecordedRun], plan: CompiledPlan) -> tuple[float, WhatIfReport]:
    start = time.perf_counter()
    report = what_if(runs, plan, unit_costs=UNIT_COSTS)
    return time.perf_counter() - start, report


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=10_000)
    args = parser.parse_args()
    before, after = _plans()
    runs = _recorded(before, args.runs)
    seconds: list[float] = []
    report = None
    for _ in range(args.rounds):
        took, report = _round(runs, after)
        seconds.append(took)
    assert report is not None
    result = {
        "benchmark": "whatif_speed",
        "plan": before.plan.id,
        "from_version": before.plan.version,
        "to_version": after.plan.version,
        "runs": args.runs,
        "rounds": args.rounds,
        "seconds_median": round(statistics.median(seconds), 3),
        "seconds_min": round(min(seconds), 3),
        "seconds_max": round(max(seconds), 3),
        "runs_per_second_median": round(args.runs / statistics.median(seconds)),
        "report": {k: v for k, v in report.as_dict().items() if k != "divergedRuns"},
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    publish("whatif", result)


if __name__ == "__main__":
    main()
