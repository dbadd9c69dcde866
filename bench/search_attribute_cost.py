"""What DEE's search attributes cost scenario 1's throughput.

Scenario 1 compares ``PlanRunWorkflow`` with a hand-written workflow that upserts no
search attributes. This measures three sides, each batch on a dev server and worker
of its own as scenario 1 does (``bench.overhead.one_side``), rotating which goes
first each round: the engine as shipped (its three upserts per
run set status, step and, in the first, the run's identity), the engine with
``search_attributes`` off in its input (``temporal.searchAttributes: false``), and
the hand-written workflow.

    python -m bench.search_attribute_cost [--runs 300] [--rounds 5]

Writes ``bench/results/search_attribute_cost.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
from pathlib import Path
from typing import Any

from bench.overhead import SIDES, one_side

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = (  # name, workflow, search attributes in the run's input
    ("dee", SIDES["dee"], True),
    ("dee_without_search_attributes", SIDES["dee"], False),
    ("handwritten", SIDES["handwritten"], True),
)


async def run(runs: int, rounds: int) -> dict[str, Any]:
    rates: dict[str, list[float]] = {name: [] for name, _, _ in VARIANTS}
    cpu: dict[str, list[float]] = {name: [] for name, _, _ in VARIANTS}
    server_cpu: dict[str, list[float]] = {name: [] for name, _, _ in VARIANTS}
    for r in range(rounds):
        for name, workflow, attributes in VARIANTS[r % 3 :] + VARIANTS[: r % 3]:
            got = await one_side(workflow, runs, search_attributes=attributes)
            rates[name].append(got["runs_per_second"])
            cpu[name].append(got["cpu_per_run"])
            server_cpu[name].append(got["server_cpu_per_run"])
        print(f"  round {r + 1}/{rounds}: " + json.dumps(
            {name: round(rates[name][-1], 3) for name in rates}
        ), flush=True)  # fmt: skip

    def ratios(name: str) -> list[float]:
        return [a / b for a, b in zip(rates[name], rates["handwritten"], strict=True)]

    return {
        "runs": runs,
        "rounds": rounds,
        "runs_per_second_median": {n: round(statistics.median(v), 2) for n, v in rates.items()},
        "worker_cpu_seconds_per_run_median": {
            n: round(statistics.median(v), 5) for n, v in cpu.items()
        },
        "server_cpu_seconds_per_run_median": {
            n: round(statistics.median(v), 5) for n, v in server_cpu.items()
        },
        "fresh_server_per_batch": True,
        "ratio_to_handwritten_median": {
            n: round(statistics.median(ratios(n)), 3) for n, _, _ in VARIANTS[:2]
        },
        "ratio_to_handwritten_per_round": {
            n: [round(x, 3) for x in ratios(n)] for n, _, _ in VARIANTS[:2]
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    result = asyncio.run(run(args.runs, args.rounds))
    out = ROOT / "bench" / "results" / "search_attribute_cost.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
