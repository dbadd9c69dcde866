"""``what_if`` over ten thousand recorded runs counts divergence, sends and cost.

A population-sized check (its speed is measured by ``bench/whatif_speed.py``, not
here), kept out of the pure, seconds-long ``tests/interpreter`` folder.
"""

from __future__ import annotations

from decimal import Decimal

from interpreter import Event, chain, compile_plan, simulate
from interpreter.replay import RecordedRun, what_if
from tests.interpreter.helpers import sales_plan
from tests.interpreter.test_replay import _changed, _opens_go_cold, _own


def _population(n: int) -> list[RecordedRun]:
    plan = compile_plan(sales_plan())
    runs = []
    for i in range(n):
        kind = i % 4
        events = []
        if kind in (1, 2):
            events.append(Event("email.opened", 60 + i % 500, f"o-{i}", "intro-email"))
        if kind == 2:
            events.append(Event("email.replied", 900 + i % 500, f"r-{i}", "intro-email"))
        trace = simulate(plan, {"id": f"c-{i}"}, events)
        entries = [e.as_dict() for e in chain(f"run-{i}", trace.entries)]
        runs.append(RecordedRun(f"run-{i}", {"id": f"c-{i}"}, entries))
    return runs


def test_what_if_over_ten_thousand_runs_counts_divergence_sends_and_cost() -> None:
    runs = _population(10_000)
    costs = {"email": Decimal("0.001"), "voice": Decimal("0.05")}
    same = what_if(runs, _own(), unit_costs=costs)
    assert (same.runs, same.diverged, same.sends_changed) == (10_000, 0, 0)
    assert same.cost_difference == 0
    changed = what_if(runs, _changed(_opens_go_cold), unit_costs=costs)
    opened_only = 2_500  # kind 1: opened, no reply -> warm before, cold + call now
    assert changed.diverged == opened_only
    assert changed.sends_changed == 3 * opened_only
    assert changed.cost_difference == opened_only * Decimal("0.05")
    report = changed.as_dict()
    assert report["runs"] == 10_000 and len(report["divergedRuns"]) == opened_only
    assert report["divergedRuns"][0]["firstDivergence"] == "warm-follow-up"
