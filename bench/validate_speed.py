"""Plan validation speed: plans up to the step limit validate fast, larger ones are
refused at once (issue 18, item 9).

Before, ``validate`` was quadratic: a 10,000-step plan took 20 s, 30,000 steps 330 s,
and the step limit was one more problem in the list rather than a refusal. Three
figures, each the median of ``--rounds``:

* ``validate``: parse and validate a chain of loops (send, a day's wait, a branch
  back or on) of 100 / 500 / 1,000 steps (1,000 is ``MAX_PLAN_STEPS``);
* ``validate_most_conditions``: the same for 1,000 steps of which 60 branches hold 50
  conditions each (3,000: ``MAX_ALL_CONDITIONS``, every one CEL, parsed and checked);
* ``refuse``: parse 2,000 / 10,000 / 30,000-step documents, refused by ``parse_plan``
  before any step is built;
* ``graph``: the graph checks alone (edges, reachability, SCCs, the cycle rules) on
  1,000 / 10,000 / 100,000 steps, past the ceiling, to show they stay linear:
  the time per step should stay flat as the plan grows a hundredfold.

    python -m bench.validate_speed [--rounds 3]

Writes ``bench/results/validate.json``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from bench.results_file import publish
from interpreter import ExecutionPlan, Limits, PlanError, parse_plan, validate
from interpreter import limits as L
from interpreter.constant_conditions import always_false
from interpreter.cycles import check_cycles
from interpreter.graph import reachable, successors

VALIDATE_SIZES = (100, 500, 1_000)
REFUSE_SIZES = (2_000, 10_000, 30_000)
GRAPH_SIZES = (1_000, 10_000, 100_000)


def chain_document(steps: int) -> dict[str, Any]:
    """``steps`` steps (rounded to whole loops): send -> wait a day -> branch, repeated."""
    body: list[dict[str, Any]] = []
    blocks = max(1, (steps - 1) // 3)
    for b in range(blocks):
        send, wait, check = f"send-{b}", f"wait-{b}", f"check-{b}"
        after = f"send-{b + 1}" if b + 1 < blocks else "done"
        body += [
            {"type": "sendEmail", "id": send, "templateId": "tmpl_intro", "subject": "Hi"},
            {"type": "wait", "id": wait, "duration": {"days": 1}},
            {
                "type": "branch",
                "id": check,
                "conditions": [
                    {"when": f'run.visits("{check}") < 2', "goto": send},
                    {"when": "default", "goto": after},
                ],
            },
        ]
    body.append({"type": "end", "id": "done", "outcome": "done"})
    return {
        "id": f"chain-{steps}",
        "version": 1,
        "name": "chain",
        "metadata": {"createdAt": "2026-01-01", "createdBy": "bench"},
        "steps": body,
    }


def wide_document() -> dict[str, Any]:
    """1,000 steps: 60 branches of 50 conditions in a row, 939 end steps they lead to."""
    doc = chain_document(1)
    ends = [f"end-{i}" for i in range(L.MAX_PLAN_STEPS - 61)]
    branches = []
    for b in range(60):
        after = f"check-{b + 1}" if b + 1 < 60 else "done"
        conditions = [
            {
                "when": f'events.hasReply("check-{b}") && vars.n > {i}',
                "goto": ends[(b * 49 + i) % len(ends)],
            }
            for i in range(L.MAX_CONDITIONS - 1)
        ]
        conditions.append({"when": "default", "goto": after})
        branches.append({"type": "branch", "id": f"check-{b}", "conditions": conditions})
    end_steps = [{"type": "end", "id": e, "outcome": "x"} for e in [*ends, "done"]]
    doc["steps"] = [*branches, *end_steps]
    return doc


def _median(rounds: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _validate(doc: dict[str, Any]) -> None:
    plan = parse_plan(doc, source="bench")
    problems = validate(plan, limits=Limits(max_steps=L.MAX_PLAN_STEPS))
    assert problems == [], problems[:3]


def _refuse(doc: dict[str, Any]) -> None:
    try:
        parse_plan(doc, source="bench")
    except PlanError as err:
        assert err.problems[0].field == "steps"
        return
    raise AssertionError("an oversized plan was parsed")


def _graph(plan: ExecutionPlan) -> None:
    edges = successors(plan)
    exits = successors(plan, dead=lambda c: always_false(c.when))
    live = reachable(plan.steps[0].id, edges)
    problems: list[object] = []
    check_cycles(plan, edges, exits, live, lambda *p: problems.append(p), min_send_wait=86_400)
    assert problems == []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    result: dict[str, Any] = {"benchmark": "validate_speed", "rounds": args.rounds}
    result["validate_seconds"] = {
        n: round(_median(args.rounds, partial(_validate, chain_document(n))), 4)
        for n in VALIDATE_SIZES
    }
    wide = wide_document()
    result["validate_most_conditions_seconds"] = round(
        _median(args.rounds, partial(_validate, wide)), 4
    )
    docs = {n: chain_document(n) for n in REFUSE_SIZES}
    result["refuse_seconds"] = {
        n: round(_median(args.rounds, partial(_refuse, docs[n])), 6) for n in REFUSE_SIZES
    }
    graph: dict[int, float] = {}
    for n in GRAPH_SIZES:
        # Built without parse_plan's ceiling: the graph functions themselves are measured.
        plan = ExecutionPlan.model_validate(chain_document(n))
        graph[n] = _median(args.rounds, partial(_graph, plan))
    result["graph_seconds"] = {n: round(s, 4) for n, s in graph.items()}
    result["graph_microseconds_per_step"] = {n: round(s / n * 1e6, 2) for n, s in graph.items()}
    publish("validate", result)


if __name__ == "__main__":
    main()
